"""Shared xlsxwriter setup for the report workbooks.

Every workbook is opened with the same safety options (municipal text never becomes a
formula, a link or a number), a fixed document date (equal runs, equal bytes), German
display formats and one print setup. `put` is the only way cell values are written
(`put_row` and the sealed tables of `xlsxrows` write exactly the cells `put` writes: text
always as a shared string, never a formula or a link). A workbook written to a file is
assembled in memory and its large members deflated at a faster level (`Book.close`).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

import xlsxwriter
import xlsxwriter.workbook
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import (
    CellDatetimeTuple,
    CellNumberTuple,
    CellStringTuple,
    RowInfo,
    Worksheet,
)

from pipeline.outputs.xlsxrows import RowBlock

OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False,
           "strings_to_numbers": False}
AUTHOR = "KISI-Berichtswesen"
A4 = 9
HEADER_ROW = 0
LARGE_MEMBER = 64 * 1024  # bytes of a package member (sheet XML) deflated at LARGE_LEVEL
LARGE_LEVEL = 1
DEFAULT_LEVEL = 6  # zlib's default, for the smaller members


def member_level(size: int) -> int:
    """The deflate level of a package member of `size` bytes."""
    return LARGE_LEVEL if size >= LARGE_MEMBER else DEFAULT_LEVEL

# Excel number formats are locale-neutral codes; Excel and LibreOffice show them with the
# reader's separators, i.e. "1.234,56 €" and "15.05.2026" on a German system.
FORMATS: dict[str, dict[str, object]] = {
    "title": {"bold": True, "font_size": 14},
    "subtitle": {"italic": True, "font_color": "#595959"},
    "bold": {"bold": True},
    "head": {"bold": True, "bg_color": "#DDEBF7", "text_wrap": True, "valign": "top",
             "border": 1},
    "money": {"num_format": '#,##0.00 "€"'},
    "money_bold": {"num_format": '#,##0.00 "€"', "bold": True},
    "int": {"num_format": "#,##0"},
    "int_bold": {"num_format": "#,##0", "bold": True},
    "count": {"num_format": "#,##0", "align": "right"},
    "pct": {"num_format": "0.0 %"},
    "date": {"num_format": "dd.mm.yyyy", "align": "left"},
    "datetime": {"num_format": "dd.mm.yyyy hh:mm", "align": "left"},
    "text": {},
    "wrap": {"text_wrap": True, "valign": "top"},
    "right": {"align": "right"},
    "link": {"num_format": '#,##0.00 "€"', "font_color": "#0563C1", "underline": 1},
    "mono": {"font_name": "Consolas", "font_size": 9},
}


class FastSheet(Worksheet):
    """xlsxwriter's worksheet, writing number and string cells ≈ 3× faster at close: the
    same XML as `Worksheet._write_cell` (one f-string instead of an attribute list and
    three helper calls per cell; tested byte for byte), a row's such cells joined into one
    write, the row spans from each row's first and last column, and row blocks (rows
    rendered when they were added, `xlsxrows`) written as they are. Every other cell, and a
    cell without its own format, goes through xlsxwriter unchanged."""

    _columns: dict[int, str] = {}

    def __init__(self) -> None:
        super().__init__()
        self._blocks: list[RowBlock] = []

    def _write_cell(self, row: int, col: int, cell) -> None:
        kind = type(cell).__name__
        fmt = cell.format
        if not fmt or kind not in _FAST_CELLS or self.constant_memory:
            super()._write_cell(row, col, cell)
            return
        name = self._columns.get(col)
        if name is None:
            name = self._columns[col] = xl_col_to_name(col)
        # The order of _get_xf_index calls numbers the formats: as xlsxwriter, per cell.
        if kind == "String":
            self.fh.write(f'<c r="{name}{row + 1}" s="{fmt._get_xf_index()}" t="s">'
                          f"<v>{cell.string}</v></c>")
        else:
            self.fh.write(f'<c r="{name}{row + 1}" s="{fmt._get_xf_index()}">'
                          f"<v>{cell.number:.16G}</v></c>")

    def add_block(self, block: RowBlock) -> None:
        """Rows rendered by `xlsxrows.render_rows`, written in their place at close. No
        other cell may be written into these rows (checked at close)."""
        self._blocks.append(block)

    def _write_rows(self) -> None:
        """`Worksheet._write_rows` with the number and string cells of a row written as one
        string, and the row blocks in their place (the same XML; a sheet with comments or in
        constant_memory mode, and every other cell, goes through xlsxwriter)."""
        blocks = self._checked_blocks()
        if self.constant_memory or self.comments:
            if blocks:
                raise RuntimeError(f"Blatt {self.name}: Zeilenblöcke ohne schnellen Schreiber")
            super()._write_rows()
            return
        self._calculate_spans()
        table, row_info, row_spans = self.table, self.row_info, self.row_spans
        first_col, last_col = self.dim_colmin, self.dim_colmax
        names = [xl_col_to_name(col) for col in range(last_col + 1)]
        write = self.fh.write
        # ' s="N"' of each format: the first _get_xf_index call of a format numbers it (the
        # order of first uses numbers the formats, as in xlsxwriter); later calls return
        # the same number
        styles: dict[Format, str] = {}
        starts = {b.first: b for b in blocks}
        skip = -1  # the last row of the block just written
        for row in range(self.dim_rowmin, self.dim_rowmax + 1):
            if row <= skip:
                continue
            if starts:
                block = starts.get(row)
                if block is not None:
                    self._write_block(block)
                    skip = block.last
                    continue
            cells = table.get(row)
            info = row_info.get(row)
            if not cells:
                if info is not None:  # a blank row with attributes only
                    self._write_empty_row(row, row_spans.get(row // 16), info)
                continue
            write(self._row_tag(row, row_spans.get(row // 16), info))
            r = f'{row + 1}" s="'
            out: list[str] = []
            for col in sorted(cells):
                if col < first_col or col > last_col:
                    continue
                cell = cells[col]
                kind = type(cell)
                if kind is CellStringTuple or kind is CellNumberTuple \
                        or kind is CellDatetimeTuple:
                    fmt = cell[1]
                    if fmt:
                        style = styles.get(fmt)
                        if style is None:
                            style = styles[fmt] = str(fmt._get_xf_index())
                        if kind is CellStringTuple:
                            out.append(f'<c r="{names[col]}{r}{style}" t="s"><v>{cell[0]}</v></c>')
                        else:
                            out.append(f'<c r="{names[col]}{r}{style}"><v>{cell[0]:.16G}</v></c>')
                        continue
                if out:
                    write("".join(out))
                    out.clear()
                self._write_cell(row, col, cell)
            if out:
                write("".join(out))
            self._xml_end_tag("row")

    def _write_block(self, block: RowBlock) -> None:
        """The rows of `block`, each in its `<row>` tag."""
        spans, row_info = self.row_spans, self.row_info
        tag = self._row_tag
        parts: list[str] = []
        row = block.first
        for cells in block.cells:
            parts.append(tag(row, spans.get(row // 16), row_info.get(row)))
            parts.append(cells)
            parts.append("</row>")
            row += 1
        self.fh.write("".join(parts))

    def _row_tag(self, row: int, span: str | None, info: RowInfo | None) -> str:
        """The `<row>` start tag xlsxwriter writes for `row` (`Worksheet._write_row`): an
        f-string for a row without attributes or with a height only, in a sheet with the
        default row height, else xlsxwriter's own."""
        if (self.default_row_height == self.original_row_height
                and self.excel_version != 2010
                and (info is None or (info.row_format is None and not info.hidden
                                      and not info.level and not info.collapsed))):
            height = self.default_row_height if info is None or info.height is None \
                else info.height
            spans = f' spans="{span}"' if span else ""
            if height == self.original_row_height:
                return f'<row r="{row + 1}"{spans}>'
            return f'<row r="{row + 1}"{spans} ht="{height * 0.75:.16g}" customHeight="1">'
        fh = self.fh
        self.fh = io.StringIO()
        try:
            self._write_row(row, span, info)
            return self.fh.getvalue()
        finally:
            self.fh = fh

    def _checked_blocks(self) -> list[RowBlock]:
        """The row blocks in row order; refuses blocks that overlap each other or a cell."""
        blocks = sorted((b for b in self._blocks if b.cells), key=lambda b: b.first)
        end = -1
        table = self.table
        for b in blocks:
            if b.first <= end or any(table.get(row) for row in range(b.first, b.last + 1)):
                raise RuntimeError(f"Blatt {self.name}: Zeilen {b.first + 1}–{b.last + 1} "
                                   "doppelt beschrieben")
            end = b.last
        return blocks

    def _calculate_spans(self) -> None:
        """`Worksheet._calculate_spans` from each row's lowest and highest column instead
        of testing every column of the sheet in every row (the same spans); a row of a
        block spans all its columns."""
        if self.comments:
            super()._calculate_spans()
            return
        groups: dict[int, tuple[int, int]] = {}  # row // 16 → (lowest, highest column)
        table, first_col, last_col = self.table, self.dim_colmin, self.dim_colmax
        for row in range(self.dim_rowmin, self.dim_rowmax + 1):
            cells = table.get(row)
            if cells:
                lo, hi = min(cells), max(cells)
                if lo < first_col or hi > last_col:
                    inside = [c for c in cells if first_col <= c <= last_col]
                    if not inside:
                        continue
                    lo, hi = min(inside), max(inside)
                _widen(groups, row // 16, lo, hi)
        for b in self._blocks:
            if b.cells:
                for group in range(b.first // 16, b.last // 16 + 1):
                    _widen(groups, group, 0, b.cols - 1)
        self.row_spans = {g: f"{lo + 1}:{hi + 1}" for g, (lo, hi) in groups.items()}


def _widen(groups: dict[int, tuple[int, int]], group: int, lo: int, hi: int) -> None:
    seen = groups.get(group)
    groups[group] = (lo, hi) if seen is None else (min(seen[0], lo), max(seen[1], hi))


_FAST_CELLS = frozenset({"Number", "Datetime", "String"})
_new_tuple = tuple.__new__


class Book:
    """A workbook plus its named formats."""

    def __init__(self, path: Path | BinaryIO, title: str, created: datetime) -> None:
        """`path`: a file, or a BytesIO to build the package in memory. Either way the
        members are assembled in memory (no temp files); into a file they are deflated at
        `LARGE_LEVEL` from `LARGE_MEMBER` bytes on (`close`)."""
        self._to_file = isinstance(path, Path | str)
        target = str(path) if self._to_file else path
        self.wb: Workbook = xlsxwriter.Workbook(target, {**OPTIONS, "in_memory": True})
        self.wb.worksheet_class = FastSheet
        self.wb.set_properties({"title": title, "author": AUTHOR, "company": "HMSI",
                                "created": created})
        self.title = title
        # Every format is numbered (its style index, `s="N"` in the sheets) when it is made,
        # not at its first use while the workbook closes: so rows can be rendered to their
        # final XML while they are added (`xlsxrows`). An unused format costs a line of
        # styles.xml.
        self.f: dict[str, Format] = {k: _numbered(self.wb.add_format(v))
                                     for k, v in FORMATS.items()}
        self._extra: dict[str, Format] = {}

    def fmt(self, name: str, **props: object) -> Format:
        """A named format, or a cached ad-hoc one (e.g. a status colour)."""
        if not props:
            return self.f[name]
        key = name + repr(sorted(props.items()))
        if key not in self._extra:
            self._extra[key] = _numbered(self.wb.add_format({**FORMATS.get(name, {}),
                                                             **props}))
        return self._extra[key]

    def sheet(self, name: str, headers: Sequence[str], widths: Sequence[int],
              header_row: int = HEADER_ROW) -> Worksheet:
        """A table sheet: bold header row, frozen below it, printed landscape on A4."""
        ws = self.wb.add_worksheet(name)
        for col, (text, width) in enumerate(zip(headers, widths, strict=True)):
            ws.write_string(header_row, col, text, self.f["head"])
            ws.set_column(col, col, width)
        ws.freeze_panes(header_row + 1, 0)
        print_setup(ws, self.title, name, header_row)
        return ws

    def close(self) -> None:
        if not self._to_file:
            self.wb.close()
            return
        saved = xlsxwriter.workbook.ZipFile
        xlsxwriter.workbook.ZipFile = _LevelledZipFile  # type: ignore[attr-defined,misc]
        try:
            self.wb.close()
        finally:
            xlsxwriter.workbook.ZipFile = saved  # type: ignore[attr-defined,misc]


class _LevelledZipFile(zipfile.ZipFile):
    """The package as xlsxwriter writes it, large members deflated at a faster level (the
    sheet XML is repetitive: level 1 takes a third of the time of the default level 6,
    and the file is ≈ 25 % larger). xlsxwriter looks the class up in its module at close
    (`Book.close` puts this one there while it closes; should that change, the package is
    written at the default level as before)."""

    def writestr(self, zinfo_or_arcname, data, compress_type=None,  # type: ignore[override]
                 compresslevel=None) -> None:
        if compresslevel is None:
            compresslevel = member_level(len(data))
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)


def _numbered(fmt: Format) -> Format:
    fmt._get_xf_index()
    return fmt


def print_setup(ws: Worksheet, title: str, name: str, header_row: int = HEADER_ROW) -> None:
    ws.set_paper(A4)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0, header_row)
    ws.set_margins(left=0.5, right=0.5, top=0.8, bottom=0.7)
    # Only fixed texts go into header/footer ('&' is a control character there).
    ws.set_header(f"&L{_safe(title)}&R{_safe(name)}")
    ws.set_footer("&LKISI-Berichtswesen&RSeite &P von &N")


def _safe(text: str) -> str:
    return text.replace("&", "&&")


def put(ws: Worksheet, row: int, col: int, value: object, fmt: Format | None = None) -> None:
    """Write one value by its Python type; text is always a plain string cell. A cell
    outside the sheet raises (xlsxwriter would only return -1 and drop it)."""
    kind = type(value)
    # Text and numbers (most cells) straight to what write_string and write_number call
    # (they only add the "A1" notation, which is not used here).
    if kind is str:
        status = ws._write_string(row, col, value, fmt)
    elif kind is Decimal or kind is int or kind is float:
        status = ws._write_number(row, col, float(value), fmt)  # type: ignore[arg-type]
    elif value is None:
        if fmt is None:
            return
        status = ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        status = ws.write_string(row, col, "ja" if value else "nein", fmt)
    elif isinstance(value, (Decimal, int, float)):
        status = ws.write_number(row, col, float(value), fmt)
    elif isinstance(value, datetime):  # _write_datetime: write_datetime without "A1"
        status = ws._write_datetime(row, col, value.replace(tzinfo=None), fmt)
    elif isinstance(value, date):
        status = ws._write_datetime(row, col, datetime(value.year, value.month, value.day),
                                    fmt)
    else:
        status = ws.write_string(row, col, str(value), fmt)
    if status == -1:
        raise ValueError(f"Blatt {ws.name}: Zelle ({row + 1}, {col + 1}) liegt außerhalb "
                         "des Excel-Blatts")


def put_row(ws: Worksheet, row: int, values: Sequence[object],
            fmts: Sequence[Format | None]) -> None:
    """`put` of every value of a row from column 0 on: what `_write_string` and
    `_write_number` store for a short text and a finite number, without their per-cell
    checks (the row is checked once; the shared strings are numbered in the same order);
    every other value goes through `put`."""
    if len(values) != len(fmts):
        raise ValueError(f"{len(values)} values for {len(fmts)} formats")
    if ws.constant_memory or not 0 <= row < ws.xls_rowmax or len(values) > ws.xls_colmax:
        for col, (value, fmt) in enumerate(zip(values, fmts, strict=True)):
            put(ws, row, col, value, fmt)
        return
    table = ws.table
    existed = row in table
    cells = table[row]
    index = ws.str_table._get_shared_string_index
    short = ws.xls_strmax // 2  # longer text: xlsxwriter measures it in UTF-16 units
    low = high = -1
    col = -1
    for value in values:
        col += 1
        kind = type(value)
        if kind is str and len(value) <= short:
            cells[col] = _new_tuple(CellStringTuple, (index(value), fmts[col]))
        elif kind is Decimal or kind is int or kind is float:
            number = float(value)  # type: ignore[arg-type]
            if number - number != 0:  # NaN, infinity: put refuses them as xlsxwriter does
                put(ws, row, col, value, fmts[col])
                continue
            cells[col] = _new_tuple(CellNumberTuple, (number, fmts[col]))
        else:
            put(ws, row, col, value, fmts[col])
            continue
        if low < 0:
            low = col
        high = col
    if low >= 0:  # the sheet's dimensions, as the per-cell checks would have set them
        ws._check_dimensions(row, low)
        ws._check_dimensions(row, high)
    elif not existed and not cells:
        del table[row]


def autofilter(ws: Worksheet, last_row: int, columns: int,
               header_row: int = HEADER_ROW) -> None:
    ws.autofilter(header_row, 0, max(last_row, header_row + 1), columns - 1)
