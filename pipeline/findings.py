"""Findings: the one channel for everything wrong with the data (never exceptions)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "Fehler"
    WARNING = "Warnung"
    NOTE = "Hinweis"

    @property
    def rank(self) -> int:
        return {"Fehler": 0, "Warnung": 1, "Hinweis": 2}[self.value]


@dataclass(frozen=True)
class Finding:
    """One problem, located at a file, sheet and cell a clerk can click."""

    regel: str
    schwere: Severity
    meldung: str
    datei: str = ""
    sha256: str = ""
    projekt_ags: str = ""
    projektjahr: int | None = None
    quartal: int | None = None
    blatt: str = ""
    zelle: str = ""
    wert: str = ""
    # Set when an analyst accepted this warning (waiver): who, when and why, in German.
    akzeptiert: str = ""

    def at_file(self, datei: str, sha256: str) -> Finding:
        return replace(self, datei=datei, sha256=sha256)

    def for_submission(
        self, ags: str, projektjahr: int | None, quartal: int | None
    ) -> Finding:
        return replace(self, projekt_ags=ags, projektjahr=projektjahr, quartal=quartal)

    @property
    def is_error(self) -> bool:
        return self.schwere is Severity.ERROR

    def as_row(self) -> dict[str, object]:
        row = asdict(self)
        row["schwere"] = self.schwere.value
        return row


# Column order of befunde.csv (contract section 4).
CSV_COLUMNS = [
    "datei", "sha256", "projekt_ags", "projektjahr", "quartal",
    "blatt", "zelle", "regel", "schwere", "meldung",
]
ALL_COLUMNS = [f.name for f in fields(Finding)]


def counts(findings: list[Finding]) -> tuple[int, int]:
    """(errors, open warnings): accepted warnings no longer count."""
    errors = sum(1 for f in findings if f.is_error)
    warnings = sum(1 for f in findings if f.schwere is Severity.WARNING and not f.akzeptiert)
    return errors, warnings


def sort_key(f: Finding) -> tuple:
    return (f.datei, f.sha256, f.blatt, _cell_key(f.zelle), f.schwere.rank, f.regel, f.meldung)


def _cell_key(cell: str) -> tuple[int, str]:
    letters = cell.rstrip("0123456789")
    digits = cell[len(letters):]
    return (int(digits) if digits else 0, letters.rjust(3))


def count(findings: list[Finding], severity: Severity) -> int:
    return sum(1 for f in findings if f.schwere is severity)
