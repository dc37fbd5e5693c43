"""Plain data of one feedback: which file, which project and quarter, what came out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from openpyxl.styles import PatternFill

from pipeline.findings import Finding, Severity, count

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


def fill_for(severity: Severity) -> PatternFill:
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
