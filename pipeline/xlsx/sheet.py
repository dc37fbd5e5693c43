"""Stream one worksheet's XML into RawCells.

This is the hot path (a few Python calls per cell on top of expat): handlers are closures
over local state, a reference like 'C7' is split with str.rstrip and its column memoised, and
its row digits are compared with the enclosing <row r="7"> instead of being converted again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.xlsx import native
from pipeline.xlsx.model import RawCell, XlsxError
from pipeline.xlsx.package import Package, PlainNames, new_parser
from pipeline.xlsx.refs import (
    DIGITS,
    MAX_COL,
    MAX_ROW,
    column_letters,
    column_number,
    decode_xstring,
)
from pipeline.xlsx.refs import row_number as checked_row

_KINDS = {"n": "n", "s": "s", "str": "s", "inlineStr": "s", "b": "b", "e": "e", "d": "d"}
_tuple_new = tuple.__new__


def make_cell(
    ref: str, row: int, col: int, kind: str, text: str, formula: str | None, has: bool, date: bool
) -> RawCell:
    """RawCell(...) without the keyword-capable constructor; tests check both are equal."""
    return _tuple_new(RawCell, (ref, row, col, kind, text, formula, has, date))


@dataclass
class SheetContext:
    shared: list[str]
    date_styles: frozenset[str]  # values of s="…" whose number format is a date
    cells_left: int  # workbook-wide budget of <c> elements


@dataclass
class SheetData:
    cells: dict[tuple[int, int], RawCell] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)


def _bad(part: str, what: str) -> XlsxError:
    return XlsxError("bad_xml", f"{part}: {what}")


def read_sheet(pkg: Package, part: str, ctx: SheetContext) -> SheetData:
    """The cells and merged ranges of one worksheet part (the C scanner when it is built)."""
    if native.scan is None:
        return read_sheet_python(pkg, part, ctx)
    scanner = native.scan.sheet_scanner(
        part, ctx.shared, ctx.date_styles, ctx.cells_left, pkg.limits.max_text_length
    )
    pkg.parse(part, scanner, prolog_first=True)
    cells, merged, ctx.cells_left = scanner.result()
    return SheetData(cells, merged)


def read_sheet_python(pkg: Package, part: str, ctx: SheetContext) -> SheetData:
    """read_sheet with Python handlers: the reference that _scan.c translates."""
    out = SheetData()
    cells, shared, date_styles = out.cells, ctx.shared, ctx.date_styles
    tags = PlainNames()
    columns: dict[str, tuple[int, bool]] = {}  # letters as written -> (number, canonical)
    text: list[str] = []
    pieces: list[str] = []  # <t> runs of the current inline string
    row = col = 0
    row_text: str | None = None  # digits of `row` as written, when canonical
    left = ctx.cells_left
    max_text = pkg.limits.max_text_length
    ref = kind = style = value = formula = inline = None
    in_inline = False
    clear, join = text.clear, "".join
    phonetic = 0

    def column(letters: str, ref: str) -> tuple[int, bool]:
        try:
            hit = columns[letters] = (column_number(letters), letters.isupper())
        except ValueError:
            raise _bad(part, f"bad cell reference {ref!r}") from None
        return hit

    def row_of(digits: str) -> tuple[int, str | None]:
        try:
            number = checked_row(digits)
        except ValueError:
            raise _bad(part, f"bad row number {digits!r}") from None
        return number, (digits if digits[0] != "0" else None)

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal row, col, row_text, left, ref, kind, style, value, formula, inline
        nonlocal in_inline, phonetic
        clear()  # <v>, <f> and <t> hold only text: what follows their start tag is theirs
        tag = tags[name]
        if tag == "c":
            left -= 1
            if left < 0:
                raise XlsxError("too_many_cells", f"{part}: more cells than allowed")
            ref = attrs.get("r")
            if ref:
                letters = ref.rstrip(DIGITS)
                col, canonical = columns.get(letters) or column(letters, ref)
                digits = ref[len(letters) :]
                if digits != row_text:
                    row, row_text = row_of(digits)
                if not canonical or row_text is None:
                    ref = None
            else:
                col += 1
            kind = attrs.get("t")
            style = attrs.get("s")
            value = formula = inline = None
        elif tag == "v":
            pass
        elif tag == "row":
            digits = attrs.get("r")
            row, row_text = row_of(digits) if digits else (row + 1, None)
            col = 0
        elif tag == "is":
            in_inline = True
            pieces.clear()
        elif tag == "rPh":
            phonetic += 1
        elif tag == "mergeCell":
            out.merged.append(attrs.get("ref", "").upper())

    def end(name: str) -> None:
        nonlocal value, formula, inline, in_inline, phonetic
        tag = tags[name]
        if tag == "v":
            value = join(text)
            if len(value) > max_text:
                check_length(value)
        elif tag == "c":
            if value or (value is not None and kind == "str"):  # openpyxl writes <v/> for none
                if kind is None:
                    cell_kind, cell_text = "n", value
                elif kind == "s":
                    cell_kind, cell_text = "s", shared_string(value)
                else:
                    cell_kind = _KINDS.get(kind, "s")
                    cell_text = decode_xstring(value) if cell_kind == "s" else value
                has_value = True
            elif inline is not None:
                cell_kind, cell_text, has_value = "s", decode_xstring(inline), True
            elif formula is None:
                return  # only a style: nothing to read
            else:
                cell_kind, cell_text, has_value = "", "", False
            cells[row, col] = make_cell(
                ref or address(), row, col, cell_kind, cell_text, formula, has_value,
                style in date_styles,
            )  # fmt: skip
        elif tag == "f":
            formula = join(text)
            if len(formula) > max_text:
                check_length(formula)
        elif tag == "t":
            if in_inline and not phonetic:
                pieces.append(join(text))
        elif tag == "is":
            inline = join(pieces)
            in_inline = False
            if len(inline) > max_text:
                check_length(inline)
        elif tag == "rPh":
            phonetic -= 1

    def check_length(content: str) -> None:
        # Excel stores at most 32,767 characters per cell; a longer text was made by
        # something else (and downstream, quoted in findings, it would multiply).
        length = len(decode_xstring(content))
        if length > max_text:
            raise _bad(part, f"Zelle {ref or address()} enthält {length} Zeichen, erlaubt "
                             f"sind {max_text}")

    def address() -> str:
        if not (1 <= row <= MAX_ROW and col <= MAX_COL):
            raise _bad(part, f"cell {col} of row {row} lies outside the grid")
        return f"{column_letters(col)}{row}"

    def shared_string(index: str) -> str:
        try:
            position = int(index)
            if position >= 0:
                return shared[position]
        except (ValueError, IndexError):
            pass
        raise _bad(part, f"shared string {index!r} does not exist")

    parser = new_parser(namespaces=False)
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    pkg.parse(part, parser)
    ctx.cells_left = left
    return out
