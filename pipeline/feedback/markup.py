"""The clerk's own workbook, marked up: fills and comments at every finding, and a first
sheet "Prüfbericht" listing all findings with links to their cells.

The copy is made from exactly the bytes she sent. Macros are never copied (keep_vba=False)
and the result is always a plain .xlsx. Her values, number formats, validations, defined
names, tables and sheet protection stay as they are; cached formula results are put back
(package.py), so our reader gets the same values from the copy as from the original.
"""

from __future__ import annotations

import io
import math
import re
from collections import defaultdict
from pathlib import Path

import openpyxl
from openpyxl.comments import Comment
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.feedback.model import AUTHOR, REPORT_SHEET, ReportInfo, fill_for
from pipeline.feedback.package import cached_formula_values, has_created_date, workbook_bytes
from pipeline.feedback.restore import COMMENT_PREFIX, is_ours, restore_record, strip_previous_markup
from pipeline.feedback.sheet import Listed, safe_text, write_report_sheet
from pipeline.findings import Finding, Severity
from pipeline.outputs.atomic import write_bytes
from pipeline.spec import load_programme
from pipeline.xlsx import XlsxError, read_xlsx

CELL_REF = re.compile(r"^[A-Z]{1,3}[1-9][0-9]{0,6}$")
MAX_ROW, MAX_COL = 1_048_576, 16_384
FALLBACK_SHEET = "KISI-Prüfbericht"
COMMENT_WIDTH = 320  # points
CHARS_PER_COMMENT_LINE = 52
SEPARATOR = "\n\n— Ihr eigener Kommentar —\n"


def mark_up(original: bytes, findings: list[Finding], out_path: Path,
            info: ReportInfo | None = None) -> Path:
    """Write the marked-up copy of `original` to `out_path` (atomically); returns it."""
    write_bytes(out_path, marked_up_bytes(original, findings, info))
    return out_path


def marked_up_bytes(original: bytes, findings: list[Finding],
                    info: ReportInfo | None = None) -> bytes:
    info = info or ReportInfo.from_findings(findings)
    wb = openpyxl.load_workbook(io.BytesIO(original), keep_vba=False, rich_text=True)
    wb.template = False  # an .xltx/.xltm comes back as a plain workbook
    strip_previous_markup(wb, REPORT_SHEET)
    listed = _mark_cells(wb, findings)
    name = REPORT_SHEET if REPORT_SHEET not in wb.sheetnames else FALLBACK_SHEET
    report = wb.create_sheet(name, 0)
    write_report_sheet(report, info, listed)
    _open_on(wb, report)
    return workbook_bytes(wb, info.stand, _cached_values(original),
                          keep_created=has_created_date(original))


def _cached_values(original: bytes) -> dict:
    try:
        return cached_formula_values(read_xlsx(original, load_programme().limits))
    except XlsxError:
        return {}


def _ordered(wb: Workbook, findings: list[Finding]) -> list[Finding]:
    sheets = {name: i for i, name in enumerate(wb.sheetnames)}

    def key(f: Finding) -> tuple:
        row, col = _row_col(f.zelle) or (0, 0)
        return (f.schwere.rank, sheets.get(f.blatt, -1) if f.blatt else -2, row, col,
                f.regel, f.meldung)

    return sorted(findings, key=key)


def _row_col(ref: str) -> tuple[int, int] | None:
    if not CELL_REF.match(ref or ""):
        return None
    letters, row = coordinate_from_string(ref)
    col = column_index_from_string(letters)
    return (row, col) if row <= MAX_ROW and col <= MAX_COL else None


def _anchor(ws: Worksheet, ref: str) -> str:
    """The cell that carries the mark: the top-left cell of a merged range."""
    row, col = _row_col(ref)  # type: ignore[misc]
    for rng in ws.merged_cells.ranges:
        if rng.min_row <= row <= rng.max_row and rng.min_col <= col <= rng.max_col:
            return rng.start_cell.coordinate
    return ref


def _mark_cells(wb: Workbook, findings: list[Finding]) -> list[Listed]:
    ordered = _ordered(wb, findings)
    by_cell: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    linkable = []
    for f in ordered:
        ok = f.blatt in wb.sheetnames and isinstance(wb[f.blatt], Worksheet) \
            and _row_col(f.zelle) is not None
        linkable.append(ok)
        if ok:
            by_cell[(f.blatt, _anchor(wb[f.blatt], f.zelle))].append(f)
    records = {}
    for (sheet, ref), cell_findings in by_cell.items():
        cell = wb[sheet][ref]
        records[(sheet, ref)] = restore_record(sheet, ref, cell)
        _mark(cell, cell_findings)
    listed = []
    for f, ok in zip(ordered, linkable, strict=True):
        key = (f.blatt, _anchor(wb[f.blatt], f.zelle)) if ok else None
        listed.append(Listed(f, link=ok, restore=records.pop(key, "") if key else ""))
    return listed


def comment_text(findings: list[Finding]) -> str:
    lines = [f"{f.schwere.value} ({f.regel}): {f.meldung}" for f in findings]
    return COMMENT_PREFIX + "\n" + "\n\n".join(lines)


def _mark(cell, findings: list[Finding]) -> None:
    worst = min((f.schwere for f in findings), key=lambda s: s.rank, default=Severity.NOTE)
    cell.fill = fill_for(worst)
    text = safe_text(comment_text(findings))
    if cell.comment is not None and not is_ours(cell.comment):
        text += SEPARATOR + cell.comment.text
    lines = sum(max(1, math.ceil(len(part) / CHARS_PER_COMMENT_LINE))
                for part in text.split("\n"))
    cell.comment = Comment(text, AUTHOR, height=min(14 * lines + 10, 600), width=COMMENT_WIDTH)


def _open_on(wb: Workbook, report: Worksheet) -> None:
    """Open on the Prüfbericht, with only its tab selected (several selected tabs would
    group the sheets in Excel, and typing would change all of them)."""
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = False
    report.sheet_view.tabSelected = True
    wb.active = report
    for view in wb.views:
        view.firstSheet = 0
