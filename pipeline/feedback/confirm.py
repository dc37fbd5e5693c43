"""A workbook with only the Prüfbericht: the confirmation for a clean submission, and the
fallback when a workbook cannot be copied (its findings are listed without links)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook

from pipeline.feedback.model import REPORT_SHEET, ReportInfo
from pipeline.feedback.package import workbook_bytes
from pipeline.feedback.sheet import Listed, write_report_sheet
from pipeline.findings import Finding
from pipeline.outputs.atomic import write_bytes
from pipeline.rules.fmt import fmt

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


def figure_lines(values: dict[str, object]) -> list[tuple[str, str]]:
    """Title-block lines for the key figures found in `values` (kennzahl -> value)."""
    lines = []
    for key, (label, unit) in KEY_FIGURES.items():
        if key in values:
            value = values[key]
            text = fmt(Decimal(str(value)).quantize(Decimal("0.01"))) if unit else fmt(value)
            lines.append((label, f"{text} {unit}".strip()))
    return lines


def summary_bytes(info: ReportInfo, findings: Sequence[Finding] = (),
                  figures: Sequence[tuple[str, str]] = ()) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = REPORT_SHEET
    write_report_sheet(ws, info, [Listed(f) for f in findings], extra=figures)
    return workbook_bytes(wb, info.stand)


def confirmation(info: ReportInfo, out_path: Path,
                 figures: Sequence[tuple[str, str]] = ()) -> Path:
    """The short confirmation: received, complete, and (optionally) its key figures."""
    write_bytes(out_path, summary_bytes(info, (), figures))
    return out_path


def findings_only(info: ReportInfo, findings: Sequence[Finding], out_path: Path) -> Path:
    write_bytes(out_path, summary_bytes(info, findings))
    return out_path
