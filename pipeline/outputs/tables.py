"""A generic table sheet: typed columns, optional group header row, bold total rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from xlsxwriter.worksheet import Worksheet

from pipeline.outputs.xlsxkit import Book, FastSheet, autofilter, put_row
from pipeline.outputs.xlsxrows import render_rows
from pipeline.outputs.xlsxstream import MAX_ROWS

BOLD = {"money": "money_bold", "int": "int_bold", "text": "bold"}
LINE_HEIGHT = 15.0  # points per text line at the default font
MAX_ROW_HEIGHT = 409.0  # Excel's limit


@dataclass(frozen=True)
class Col:
    head: str
    width: int = 14
    fmt: str = "text"  # a format name of xlsxkit.FORMATS
    group: str = ""    # text of the group header above (consecutive equal groups merge)


@dataclass
class Table:
    cols: list[Col]
    rows: list[list[object]] = field(default_factory=list)
    bold: set[int] = field(default_factory=set)  # indexes of total rows

    def add(self, values: Sequence[object], total: bool = False) -> None:
        if len(values) != len(self.cols):
            raise ValueError(f"{len(values)} values for {len(self.cols)} columns")
        if total:
            self.bold.add(len(self.rows))
        self.rows.append(list(values))

    def extend(self, rows: list[list[object]]) -> None:
        """Add plain rows (the lists are taken, not copied)."""
        width = len(self.cols)
        for values in rows:
            if len(values) != width:
                raise ValueError(f"{len(values)} values for {width} columns")
        self.rows.extend(rows)


def write_table(book: Book, name: str, table: Table, freeze_cols: int = 0,
                sealed: bool = False) -> Worksheet:
    """Header (and group row if any column has a group), frozen, filtered, printable.
    `sealed`: nothing is written into the table's rows afterwards, so they are rendered to
    sheet XML now (`xlsxrows`, the same bytes, faster); the sheet refuses such a write at
    close."""
    ws, head_row = table_frame(book, name, table.cols, len(table.rows), freeze_cols)
    plain = [book.fmt(c.fmt) for c in table.cols]
    strong = [book.fmt(BOLD.get(c.fmt, c.fmt)) for c in table.cols]
    wraps = wrapped(table.cols)  # without, rows have the default height
    bold = table.bold
    block = sealed and isinstance(ws, FastSheet) and not ws.constant_memory
    if block:
        ws.add_block(render_rows(ws, head_row + 1, table.rows, plain, strong, bold))
    for i, values in enumerate(table.rows):
        if not block:
            put_row(ws, head_row + 1 + i, values, strong if i in bold else plain)
        if wraps:
            height = wrapped_height(values, wraps)
            if height is not None:
                ws.set_row(head_row + 1 + i, height)
    return ws


def wrapped(cols: Sequence[Col], every: bool = False) -> list[tuple[int, int]]:
    """(column, characters per line) of the columns whose text wraps (`every`: all)."""
    return [(i, max(c.width - 1, 1)) for i, c in enumerate(cols) if every or c.fmt == "wrap"]


def wrapped_height(values: Sequence[object], wraps: list[tuple[int, int]]) -> float | None:
    """Height for the wrapped text of `values` (columns and line lengths: `wrapped`),
    estimated from text length (LibreOffice does not re-measure rows of generated files;
    Excel would). None: default height."""
    lines = 1
    for at, per_line in wraps:
        value = values[at]
        if isinstance(value, str):
            if "\n" in value:
                count = sum(max(1, math.ceil(len(part) / per_line))
                            for part in value.split("\n"))
            else:
                count = max(1, math.ceil(len(value) / per_line))
            if count > lines:
                lines = count
    return None if lines == 1 else min(LINE_HEIGHT * lines, MAX_ROW_HEIGHT)


def table_frame(book: Book, name: str, cols: Sequence[Col], rows: int,
                freeze_cols: int = 0) -> tuple[Worksheet, int]:
    """The sheet around `rows` data rows: header (and group row), frozen, filtered over the
    data, printable. Returns the sheet and the 0-based header row. Refuses (loudly) a table
    that does not fit on one sheet: xlsxwriter would drop the rows beyond it silently."""
    grouped = any(c.group for c in cols)
    head_row = 1 if grouped else 0
    if head_row + 1 + rows > MAX_ROWS:
        raise ValueError(f"Blatt {name}: {rows} Zeilen passen nicht auf ein Excel-Blatt "
                         f"(höchstens {MAX_ROWS - head_row - 1})")
    ws = book.sheet(name, [c.head for c in cols], [c.width for c in cols], header_row=head_row)
    if grouped:
        _group_row(book, ws, cols)
    ws.freeze_panes(head_row + 1, freeze_cols)
    ws.set_row(head_row, row_height([c.head for c in cols], cols, every=True))
    autofilter(ws, head_row + rows, len(cols), head_row)
    return ws, head_row


def row_height(values: Sequence[object], cols: Sequence[Col],
               every: bool = False) -> float | None:
    """`wrapped_height` of one row of `cols` (`every`: as if every column wrapped)."""
    if len(values) != len(cols):
        raise ValueError(f"{len(values)} values for {len(cols)} columns")
    return wrapped_height(values, wrapped(cols, every))


def _group_row(book: Book, ws: Worksheet, cols: Sequence[Col]) -> None:
    start = 0
    for i in range(1, len(cols) + 1):
        if i == len(cols) or cols[i].group != cols[start].group:
            text = cols[start].group
            if text and i - 1 > start:
                ws.merge_range(0, start, 0, i - 1, "", book.f["head"])
                ws.write_string(0, start, text, book.f["head"])
            elif text:
                ws.write_string(0, start, text, book.f["head"])
            start = i
