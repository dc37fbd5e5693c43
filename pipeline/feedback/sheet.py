"""The sheet "Prüfbericht": title block, findings with links to their cells, key figures.

Every text that comes from a municipality (file name, project name, messages quoting cell
values) is written as a plain string: `data_type = "s"` after assignment, so a value
starting with "=" never becomes a formula.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

from pipeline.feedback.model import (
    COLOUR_WORDS,
    SEVERITY_ORDER,
    ReportInfo,
    counts_text,
    fill_for,
    german_datetime,
)
from pipeline.findings import Finding
from pipeline.rules.fmt import fmt

if TYPE_CHECKING:  # openpyxl is imported only to write a sheet (see confirm.py)
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.worksheet import Worksheet

TITLE = "KISI-Prüfbericht"
HEADERS = ("Nr.", "Schwere", "Blatt", "Zelle", "Regel", "Meldung")
WIDTHS = (6, 10, 14, 10, 22, 85)
MESSAGE_COLUMN = 6
VALUE_COLUMN = 4  # title block: label in A (overflows into B, C), value from D on
RESTORE_COLUMN = 8  # hidden: what a marked cell looked like before (see restore.py)
LINE_HEIGHT = 15
FONT = "Calibri"  # the template's font; a Font without a name prints as serif in Calc


@cache
def _bold() -> Font:
    from openpyxl.styles import Font

    return Font(name=FONT, bold=True)


@cache
def _wrap() -> Alignment:
    from openpyxl.styles import Alignment

    return Alignment(wrap_text=True, vertical="top")


class Listed(NamedTuple):  # (a NamedTuple: ≈ 10× cheaper to define than a dataclass)
    """One finding as listed: `link` is True when its sheet and cell exist in the workbook;
    `restore` is the JSON kept for the first finding of each marked cell."""

    finding: Finding
    link: bool = False
    restore: str = ""


# Characters XML 1.0 cannot hold (openpyxl refuses them); lone surrogates cannot be encoded.
# A received file's name (an e-mail attachment, an archive member) may contain any of them.
ILLEGAL = "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]"


def safe_text(text: str) -> str:
    """`text` with characters a workbook cannot store replaced by U+FFFD. Every such
    character is unprintable, so a printable text is returned as it is (without the
    pattern, ≈ 1 ms to compile, which the feedback's process then never needs)."""
    return text if text.isprintable() else re.sub(ILLEGAL, "\ufffd", text)


def text_cell(ws: Worksheet, row: int, col: int, value: object) -> None:
    if isinstance(value, str):
        value = safe_text(value)
    cell = ws.cell(row=row, column=col, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # municipal text is data, never a formula


def _rows_needed(text: str, width: int) -> int:
    chars_per_line = max(int(width * 1.15), 10)
    return sum(max(1, math.ceil(len(part) / chars_per_line)) for part in text.split("\n"))


def legend_text() -> str:
    colours = ", ".join(f"{COLOUR_WORDS[s]} = {s.value}" for s in SEVERITY_ORDER)
    return (f"Die betroffenen Zellen sind farbig markiert ({colours}) und haben einen "
            "Kommentar mit der Erläuterung. Ein Klick auf die Zelle in der Spalte „Zelle“ "
            "springt dorthin. Fehler müssen korrigiert werden, Warnungen bitte prüfen, "
            "Hinweise dienen zur Information.")


def title_lines(info: ReportInfo, findings: Sequence[Finding],
                extra: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """The title block below the title: (label, value) pairs, one row each."""
    project = " ".join(p for p in (info.ags, info.name) if p)
    lines: list[tuple[str, str]] = [
        ("Projekt", project or "unbekannt"),
        ("Berichtszeitraum", info.zeitraum or "unbekannt"),
        ("Datei", info.datei),
        ("Prüfsumme (SHA-256)", f"{info.sha256[:16]}…" if info.sha256 else ""),
        ("Eingegangen", german_datetime(info.eingang) if info.eingang else "unbekannt"),
        ("Befunde", counts_text(list(findings))),
        ("Ergebnis", info.ergebnis),
    ]
    if info.frist is not None:
        lines.append(("Abgabefrist", fmt(info.frist)))
    return lines + list(extra)


def _title_block(ws: Worksheet, info: ReportInfo, findings: Sequence[Finding],
                 extra: Sequence[tuple[str, str]]) -> int:
    from openpyxl.styles import Font

    ws.cell(row=1, column=1, value=TITLE).font = Font(name=FONT, bold=True, size=14)
    row = 2
    for label, value in title_lines(info, findings, extra):
        text_cell(ws, row, 1, label)
        ws.cell(row=row, column=1).font = _bold()
        text_cell(ws, row, VALUE_COLUMN, value)
        row += 1
    return row


def write_report_sheet(ws: Worksheet, info: ReportInfo, listed: Sequence[Listed],
                       extra: Sequence[tuple[str, str]] = ()) -> None:
    """Fill an empty worksheet with the title block and one row per finding."""
    from openpyxl.utils import get_column_letter

    for col, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    findings = [entry.finding for entry in listed]
    row = _title_block(ws, info, findings, extra)
    if not listed:
        return
    text_cell(ws, row, 1, legend_text())
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=MESSAGE_COLUMN)
    ws.cell(row=row, column=1).alignment = _wrap()
    ws.row_dimensions[row].height = LINE_HEIGHT * _rows_needed(legend_text(), sum(WIDTHS))
    header = row + 2
    for col, title in enumerate(HEADERS, start=1):
        ws.cell(row=header, column=col, value=title).font = _bold()
    ws.freeze_panes = ws.cell(row=header + 1, column=1)
    for number, entry in enumerate(listed, start=1):
        _finding_row(ws, header + number, number, entry)
    if any(entry.restore for entry in listed):
        ws.column_dimensions[get_column_letter(RESTORE_COLUMN)].hidden = True


def _finding_row(ws: Worksheet, row: int, number: int, entry: Listed) -> None:
    from openpyxl.worksheet.hyperlink import Hyperlink

    f = entry.finding
    ws.cell(row=row, column=1, value=number)
    text_cell(ws, row, 2, f.schwere.value)
    ws.cell(row=row, column=2).fill = fill_for(f.schwere)
    text_cell(ws, row, 3, f.blatt)
    text_cell(ws, row, 4, f.zelle)
    if entry.link:
        cell = ws.cell(row=row, column=4)
        # An internal jump (`location`), not an external relationship to "#Sheet!A1".
        cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"'{f.blatt}'!{f.zelle}",
                                   display=f.zelle, tooltip=f"Zu {f.blatt}!{f.zelle} springen")
        cell.style = "Hyperlink"
    text_cell(ws, row, 5, f.regel)
    text_cell(ws, row, MESSAGE_COLUMN, f.meldung)
    for col in range(1, MESSAGE_COLUMN + 1):
        ws.cell(row=row, column=col).alignment = _wrap()
    ws.row_dimensions[row].height = LINE_HEIGHT * _rows_needed(f.meldung,
                                                               WIDTHS[MESSAGE_COLUMN - 1])
    if entry.restore:
        text_cell(ws, row, RESTORE_COLUMN, entry.restore)


def read_restore_column(ws: Worksheet) -> list[str]:
    """The hidden restore texts of an earlier Prüfbericht (see restore.py)."""
    found = []
    for (value,) in ws.iter_rows(min_col=RESTORE_COLUMN, max_col=RESTORE_COLUMN,
                                 values_only=True):
        if isinstance(value, str) and value.startswith("{"):
            found.append(value)
    return found


def is_our_report(ws: Worksheet) -> bool:
    return ws["A1"].value == TITLE
