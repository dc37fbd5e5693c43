"""A table sheet whose rows are streamed as sheet XML into xlsxwriter's frame.

What `tables.write_table` shows (the same frame: header and group row, widths, frozen
panes, filter, print setup; the same formats, bold total rows and row heights), with the
rows rendered here in one pass: inline strings instead of shared ones, no cell or row
numbers (a row follows the one before it, a cell the one to its left). xlsxwriter stores a
tuple per cell and numbers each text in its shared strings table; for the audit workbook's
sheets of one row per received file that was most of writing them on a warm run.

A cell is written as `xlsxkit.put` writes its value: text (escaped by `xlsxstream.inline`,
as xlsxwriter escapes it), numbers, blank cells in their column's format, `ja`/`nein`,
dates and times as Excel serial numbers.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from xlsxwriter.worksheet import Worksheet

from pipeline.outputs.tables import BOLD, Table, row_height, table_frame
from pipeline.outputs.xlsxkit import Book
from pipeline.outputs.xlsxrows import EXACT_INT  # ints up to it: number(float(i)) == str(i)
from pipeline.outputs.xlsxstream import StreamedSheet, inline, number, style


def stream_table(book: Book, name: str, table: Table, freeze_cols: int = 0
                 ) -> StreamedSheet:
    """Frame sheet `name` in `book` and return `table`'s rows to stream into it."""
    ws, head_row = table_frame(book, name, table.cols, len(table.rows), freeze_cols)
    plain = [style(book.fmt(c.fmt)) for c in table.cols]
    strong = [style(book.fmt(BOLD.get(c.fmt, c.fmt))) for c in table.cols]
    wrapped = any(c.fmt == "wrap" for c in table.cols)  # else every row has the default height
    styles = [strong if i in table.bold else plain for i in range(len(table.rows))]
    out: list[str] = []
    for values, cells in zip(table.rows, Cells(ws).rows(table.rows, styles), strict=True):
        height = row_height(values, table.cols) if wrapped else None
        out.append("<row>" if height is None else
                   f'<row ht="{height:.16g}" customHeight="1">')
        out.append(cells)
        out.append("</row>")
    block = "".join(out)
    return StreamedSheet(ws, head_row + 1 + len(table.rows), len(table.cols) - 1,
                         lambda: [block])


class Cells:
    """`<c>` elements without references; each distinct text is escaped once."""

    def __init__(self, ws: Worksheet) -> None:
        self.ws = ws
        self.texts: dict[str, str] = {}

    def text(self, value: str) -> str:
        hit = self.texts.get(value)
        if hit is None:
            hit = self.texts[value] = inline(value)
        return hit

    def row(self, values: list[object], styles: list[str]) -> str:
        """The cells of one row, `styles[j]` for `values[j]`."""
        if len(values) != len(styles):
            raise ValueError(f"{len(values)} values for {len(styles)} columns")
        return "".join([self.cell(v, s) for v, s in zip(values, styles, strict=True)])

    def rows(self, rows: list[list[object]], styles: list[list[str]]) -> list[str]:
        """The cells of each row (as `row`), rendered a column at a time: a column of
        texts, of ints or of numbers (and blanks) in one list comprehension."""
        for values, row_styles in zip(rows, styles, strict=True):
            if len(values) != len(row_styles):
                raise ValueError(f"{len(values)} values for {len(row_styles)} columns")
        if not rows:
            return []
        columns = []
        for j in range(len(rows[0])):
            values = [r[j] for r in rows]
            ss = [st[j] for st in styles]
            kinds = set(map(type, values))
            kinds.discard(type(None))
            if kinds <= {str}:
                get, text = self.texts.get, self.text
                cells = [f"<c{s}/>" if v is None else
                         f'<c{s} t="inlineStr">{get(v) or text(v)}</c>'  # type: ignore[arg-type]
                         for v, s in zip(values, ss, strict=True)]
            elif kinds <= {int}:
                cells = [f"<c{s}/>" if v is None else
                         f"<c{s}><v>{v}</v></c>" if -EXACT_INT <= v <= EXACT_INT  # type: ignore[operator]
                         else self.cell(v, s) for v, s in zip(values, ss, strict=True)]
            else:
                cells = [self.cell(v, s) for v, s in zip(values, ss, strict=True)]
            columns.append(cells)
        return ["".join(cells) for cells in zip(*columns, strict=True)]

    def cell(self, value: object, s: str) -> str:
        """One cell in style ` s="N"` (`s`)."""
        kind = type(value)
        if kind is str:
            return f'<c{s} t="inlineStr">{self.text(value)}</c>'  # type: ignore[arg-type]
        if kind is int or kind is Decimal or kind is float:
            return f"<c{s}><v>{number(float(value))}</v></c>"  # type: ignore[arg-type]
        if value is None:
            return f"<c{s}/>"
        if isinstance(value, bool):
            return f'<c{s} t="inlineStr">{self.text("ja" if value else "nein")}</c>'
        if isinstance(value, int | float | Decimal):
            return f"<c{s}><v>{number(float(value))}</v></c>"
        if isinstance(value, datetime):
            moment = value.replace(tzinfo=None)
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day)
        else:
            return f'<c{s} t="inlineStr">{self.text(str(value))}</c>'
        return f"<c{s}><v>{number(self.ws._convert_date_time(moment))}</v></c>"
