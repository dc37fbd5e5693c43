"""Plain data returned by the XLSX reader."""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter


class XlsxError(Exception):
    """The file cannot be read as a workbook. `code` is stable; callers map it to German text.

    Codes: empty, too_large, not_zip, xls, encrypted, corrupt, not_workbook, zip_bomb,
    too_many_members, dtd, bad_xml, too_many_cells.
    """

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class RawCell(tuple):
    """One cell as stored in the sheet XML.

    kind: 'n' number, 's' text, 'b' boolean, 'e' error, 'd' ISO date text, '' no value.
    text: the stored value as text ('1234.56', 'Bensheim', '1', '#REF!', '2026-01-31').
    formula: formula text without '=' when the cell holds a formula ('' for a shared-formula
    dependent), else None. has_value: a cached/stored <v> or inline string was present.
    date_style: the cell's number format is a date or time format.

    An immutable tuple with named fields: the reader builds one per cell, and a tuple is
    built in C (a frozen dataclass cost about a microsecond per cell).
    """

    __slots__ = ()
    FIELDS = ("ref", "row", "col", "kind", "text", "formula", "has_value", "date_style")

    def __new__(cls, ref: str, row: int, col: int, kind: str, text: str,
                formula: str | None = None, has_value: bool = True,
                date_style: bool = False) -> RawCell:
        return tuple.__new__(cls, (ref, row, col, kind, text, formula, has_value, date_style))

    ref: str = property(itemgetter(0))  # type: ignore[assignment]
    row: int = property(itemgetter(1))  # type: ignore[assignment]
    col: int = property(itemgetter(2))  # type: ignore[assignment]
    kind: str = property(itemgetter(3))  # type: ignore[assignment]
    text: str = property(itemgetter(4))  # type: ignore[assignment]
    formula: str | None = property(itemgetter(5))  # type: ignore[assignment]
    has_value: bool = property(itemgetter(6))  # type: ignore[assignment]
    date_style: bool = property(itemgetter(7))  # type: ignore[assignment]

    def __reduce__(self):  # type: ignore[override]
        return _cell_of, (tuple(self),)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in zip(self.FIELDS, self, strict=True))
        return f"RawCell({inner})"


def _cell_of(fields: tuple) -> RawCell:
    return tuple.__new__(RawCell, fields)


@dataclass(frozen=True)
class DefinedName:
    """A workbook-scoped defined name. sheet/ref are None when it is broken (#REF!) or not a
    plain reference (constant, formula); ref is like 'C7' or 'A1:B3' without '$'."""

    name: str
    raw: str
    sheet: str | None
    ref: str | None


@dataclass(frozen=True)
class TableDef:
    name: str
    sheet: str
    ref: str
    columns: tuple[str, ...]
    header_rows: int = 1
    totals_rows: int = 0


@dataclass
class RawWorkbook:
    sheets: list[str]
    date1904: bool = False
    defined_names: dict[str, DefinedName] = field(default_factory=dict)
    tables: dict[str, TableDef] = field(default_factory=dict)
    cells: dict[str, dict[tuple[int, int], RawCell]] = field(default_factory=dict)
    merged: dict[str, list[str]] = field(default_factory=dict)
    has_macros: bool = False
    external_links: int = 0
    unread: list[str] = field(default_factory=list)  # sheets skipped (read_xlsx referenced_only)
