"""Waivers (Ausnahmen): an analyst accepts a warning for a submission, rule and cell.

File: `ausnahmen.csv` (`,` or `;`) or `ausnahmen.xlsx` (first sheet) at the top of the inbox,
columns `sha256` (full or a prefix of at least 8 hex digits) or `datei`, `regel`, `zelle`
(blank = every cell of that rule in that submission), `begruendung`, `von`, `datum`.
Errors can never be waived. Applied on every run; see docs/waivers.md.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.findings import Finding, Severity
from pipeline.rules.waiver_rules import INCOMPLETE, ON_ERROR, UNUSED

COLUMNS = ("sha256", "datei", "regel", "zelle", "begruendung", "von", "datum")
STEM = "ausnahmen"
@dataclass(frozen=True)
class Waiver:
    row: int
    sha256: str
    datei: str
    regel: str
    zelle: str
    begruendung: str
    von: str
    datum: str

    def matches(self, f: Finding) -> bool:
        if f.regel != self.regel or (self.zelle and f.zelle != self.zelle):
            return False
        if self.sha256:
            return f.sha256.startswith(self.sha256)
        return f.datei == self.datei

    @property
    def text(self) -> str:
        when = f" am {self.datum}" if self.datum else ""
        return f"akzeptiert von {self.von}{when}: {self.begruendung}"


def find_file(inbox: Path) -> Path | None:
    """The inbox's waiver file (.csv before .xlsx); names are compared before anything is
    asked of the file system (an inbox holds hundreds of workbooks)."""
    if not inbox.is_dir():
        return None
    candidates = sorted(inbox / name for name in os.listdir(inbox)
                        if name[:len(STEM)].lower() == STEM)
    for suffix in (".csv", ".xlsx"):
        for path in candidates:
            if path.stem.lower() == STEM and path.suffix.lower() == suffix and path.is_file():
                return path
    return None


def _rows(path: Path) -> list[dict[str, str]]:
    if path.suffix.lower() == ".xlsx":
        import openpyxl  # only for a waiver file kept as .xlsx (start-up stays fast)

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        values = [["" if v is None else str(v).strip() for v in row]
                  for row in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
    else:
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
        delimiter = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(
            ",") else ","
        values = [[v.strip() for v in row] for row in csv.reader(io.StringIO(text),
                                                                   delimiter=delimiter)]
    if not values:
        return []
    header = [h.lower() for h in values[0]]
    return [dict(zip(header, row, strict=False)) for row in values[1:]]


def load(path: Path) -> tuple[list[Waiver], list[Finding]]:
    waivers, findings = [], []
    for number, row in enumerate(_rows(path), start=2):
        if not any(row.values()):
            continue
        w = Waiver(number, *(row.get(c, "") for c in COLUMNS))
        missing = [c for c in ("regel", "begruendung", "von") if not getattr(w, c)]
        if not (w.sha256 or w.datei):
            missing.append("sha256 oder datei")
        elif w.sha256 and len(w.sha256) < 8:
            missing.append("sha256 (mindestens 8 Zeichen)")
        if missing:
            findings.append(INCOMPLETE.finding(cell=f"A{number}", zeile=number,
                                               was="es fehlt " + ", ".join(missing))
                            .at_file(path.name, ""))
            continue
        waivers.append(w)
    return waivers, findings


def apply(waivers: list[Waiver], findings: list[Finding], source: str) -> tuple[
        list[Finding], list[tuple[Waiver, Finding]], list[Finding]]:
    """(findings with accepted ones marked, applied pairs, findings about the waivers)."""
    applied: list[tuple[Waiver, Finding]] = []
    used: set[int] = set()
    marked = []
    for f in findings:
        w = next((w for w in waivers if w.matches(f)), None)
        if w is not None and f.schwere is Severity.WARNING:
            f = replace(f, akzeptiert=w.text)
            applied.append((w, f))
            used.add(w.row)
        elif w is not None and f.is_error:
            used.add(w.row)
        marked.append(f)
    about = []
    for w in waivers:
        if any(w.matches(f) and f.is_error for f in findings):
            about.append(ON_ERROR.finding(cell=f"A{w.row}", zeile=w.row, regel=w.regel)
                         .at_file(source, ""))
        elif w.row not in used:
            about.append(UNUSED.finding(cell=f"A{w.row}", zeile=w.row, regel=w.regel,
                                        ziel=w.zelle or "alle").at_file(source, ""))
    return marked, applied, about
