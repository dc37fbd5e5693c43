"""Undo an earlier round of marking before marking again.

The email asks the clerk to correct the marked copy and send it back, so the next
submission often *is* our marked-up copy. Without this step, cells she has since corrected
would stay red. For each marked cell the Prüfbericht keeps, in a hidden column, the fill and
the clerk's own comment it replaced; here they are put back, our comments removed and the
old Prüfbericht deleted. A fill she changed herself after marking is left alone.
"""

from __future__ import annotations

import json

from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Color, PatternFill
from openpyxl.workbook.workbook import Workbook

from pipeline.feedback.model import AUTHOR, COLOURS
from pipeline.feedback.sheet import is_our_report, read_restore_column

COMMENT_PREFIX = f"{AUTHOR}:"


def color_data(color: Color | None) -> dict | None:
    if color is None:
        return None
    return {"type": color.type, "value": color.value, "tint": color.tint}


def _color(data: dict | None) -> Color | None:
    if not isinstance(data, dict) or data.get("type") not in ("rgb", "theme", "indexed",
                                                              "auto"):
        return None
    return Color(**{data["type"]: data["value"]}, tint=float(data.get("tint") or 0))


def restore_record(sheet: str, ref: str, cell: Cell) -> str:
    """JSON describing how `cell` looked before we mark it."""
    fill = cell.fill  # a StyleProxy: test the tag, not the class
    fill_data = None
    if getattr(fill, "tagname", "") == "patternFill":
        fill_data = {"type": fill.fill_type, "fg": color_data(fill.fgColor),
                     "bg": color_data(fill.bgColor)}
    comment = None
    if cell.comment is not None and not is_ours(cell.comment):
        comment = {"text": cell.comment.text, "author": cell.comment.author or ""}
    return json.dumps({"blatt": sheet, "zelle": ref, "fill": fill_data, "kommentar": comment},
                      ensure_ascii=False, sort_keys=True)


def is_ours(comment: Comment) -> bool:
    return comment.author == AUTHOR or (comment.text or "").startswith(COMMENT_PREFIX)


def _is_marked(cell: Cell) -> bool:
    fill = cell.fill
    return (getattr(fill, "tagname", "") == "patternFill" and fill.fill_type == "solid"
            and fill.fgColor.type == "rgb" and fill.fgColor.rgb in COLOURS.values())


def _apply(wb: Workbook, text: str) -> None:
    try:
        record = json.loads(text)
        ws = wb[record["blatt"]]
        cell = ws[record["zelle"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        return  # a damaged record: nothing to restore
    if not isinstance(cell, Cell):
        return
    fill = record.get("fill")
    if _is_marked(cell):
        if isinstance(fill, dict) and fill.get("type"):
            cell.fill = PatternFill(fill_type=fill["type"], fgColor=_color(fill.get("fg")),
                                    bgColor=_color(fill.get("bg")))
        else:
            cell.fill = PatternFill(fill_type=None)
    comment = record.get("kommentar")
    if (cell.comment is None or is_ours(cell.comment)) and isinstance(comment, dict):
        cell.comment = Comment(str(comment.get("text", "")), str(comment.get("author", "")))


def strip_previous_markup(wb: Workbook, report_sheet: str) -> None:
    """Remove an earlier Prüfbericht and what it marked; a foreign sheet of the same name
    is kept (the caller then picks another name). Our notes are recognised by their text
    and removed even when she deleted the Prüfbericht; fills need its records."""
    old = wb[report_sheet] if report_sheet in wb.sheetnames else None
    if old is not None and is_our_report(old):
        for text in read_restore_column(old):
            _apply(wb, text)
        wb.remove(old)
    for ws in wb.worksheets:
        # ws._cells holds only existing cells; iter_rows() would create empty ones.
        for cell in list(ws._cells.values()):
            if cell.comment is not None and is_ours(cell.comment):
                cell.comment = None
