"""Plain data of one feedback: which file, which project and quarter, what came out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from pipeline.findings import Finding, Severity, count
from pipeline.rules.fmt import fmt

if TYPE_CHECKING:  # openpyxl is imported only where a workbook is written (≈ 0.15 s)
    from openpyxl.styles import PatternFill

AUTHOR = "KISI-Prüfung"
REPORT_SHEET = "Prüfbericht"
# Fill colours of marked cells. The template's own input cells are pale yellow (FFF2CC), so
# the warning colour is a clearly stronger gold.
COLOURS = {
    Severity.ERROR: "FFFFC7CE",
    Severity.WARNING: "FFFFD966",
    Severity.NOTE: "FFBDD7EE",
}
COLOUR_WORDS = {Severity.ERROR: "rot", Severity.WARNING: "gelb", Severity.NOTE: "blau"}
SEVERITY_ORDER = (Severity.ERROR, Severity.WARNING, Severity.NOTE)
# Key figures a clean report contributes: kennzahl -> (German label, unit).
KEY_FIGURES = {
    "personal_gemeldet": ("Personalausgaben (gemeldet)", "€"),
    "honorar_gemeldet": ("Honorare (gemeldet)", "€"),
    "ehrenamt_gemeldet": ("Aufwendungen Ehrenamtliche (gemeldet)", "€"),
    "foerderfaehig_gesamt": ("Förderfähig insgesamt (mit Restkostenpauschale)", "€"),
    "zuwendung": ("Zuwendung für dieses Quartal", "€"),
    "tn_gesamt": ("Neue Teilnehmende", ""),
    "beratungen": ("Beratungskontakte", ""),
    "massnahmen": ("Maßnahmen und Veranstaltungen", ""),
}


def fill_for(severity: Severity) -> PatternFill:
    from openpyxl.styles import PatternFill

    colour = COLOURS[severity]
    return PatternFill(fill_type="solid", start_color=colour, end_color=colour)


@dataclass(frozen=True)
class ReportInfo:
    """What the title block of the Prüfbericht says. Texts are data, shown as typed."""

    datei: str
    sha256: str
    ags: str = ""
    name: str = ""
    zeitraum: str = ""  # e.g. "PJ1 Q2 (01.01.2026–31.03.2026)"
    eingang: datetime | None = None
    ergebnis: str = ""
    frist: date | None = None
    stand: datetime | None = None  # document date; fixed so reruns give the same bytes

    @classmethod
    def from_findings(cls, findings: list[Finding]) -> ReportInfo:
        first = findings[0] if findings else Finding("", Severity.NOTE, "")
        period = (f"PJ{first.projektjahr} Q{first.quartal}"
                  if first.projektjahr is not None and first.quartal is not None else "")
        return cls(first.datei, first.sha256, first.projekt_ags, zeitraum=period,
                   ergebnis=result_text(findings))


def result_text(findings: list[Finding], used_instead: str = "") -> str:
    """The Ergebnis line: can the report be used, and what has to happen now."""
    errors = count(findings, Severity.ERROR)
    if errors:
        text = (f"Nicht verwendbar: {plural(errors, 'Fehler', 'Fehler')} muss korrigiert "
                if errors == 1 else
                f"Nicht verwendbar: {errors} Fehler müssen korrigiert ")
        text += "werden (rot markiert). Bitte korrigieren und erneut senden."
        if used_instead:
            text += f" Bis dahin gilt {used_instead}."
        return text
    if findings:
        return ("Verwendbar. Bitte prüfen Sie die markierten Zellen; eine erneute Einsendung "
                "ist nur nötig, wenn Sie dabei etwas korrigieren.")
    return "Verwendbar: vollständig und ohne Befunde."


def plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def counts_text(findings: list[Finding]) -> str:
    """'2 Fehler, 1 Warnung, 0 Hinweise'."""
    return ", ".join([
        plural(count(findings, Severity.ERROR), "Fehler", "Fehler"),
        plural(count(findings, Severity.WARNING), "Warnung", "Warnungen"),
        plural(count(findings, Severity.NOTE), "Hinweis", "Hinweise"),
    ])


def german_datetime(moment: datetime) -> str:
    return moment.strftime("%d.%m.%Y, %H:%M Uhr")


def place_text(f: Finding) -> str:
    """'Blatt „Belege“, Zelle C6' (or less, when the finding has no place)."""
    if f.blatt and f.zelle:
        return f"Blatt „{f.blatt}“, Zelle {f.zelle}"
    if f.blatt:
        return f"Blatt „{f.blatt}“"
    return "ganze Datei"


def figure_lines(values: dict[str, object]) -> list[tuple[str, str]]:
    """Title-block lines for the key figures found in `values` (kennzahl -> value)."""
    lines = []
    for key, (label, unit) in KEY_FIGURES.items():
        if key in values:
            value = values[key]
            text = fmt(Decimal(str(value)).quantize(Decimal("0.01"))) if unit else fmt(value)
            lines.append((label, f"{text} {unit}".strip()))
    return lines
