"""Map a raw workbook onto the template spec: defined names and tables, never coordinates.

A clerk may insert rows, add table rows or move a block; as long as the defined names and
table definitions travel with the cells, we find them. What cannot be found is recorded as
a structure problem for the rules to report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from pipeline.packed import Packed
from pipeline.read.coerce import Value, coerce, coerce_column
from pipeline.read.refs import a1, parse_cell, parse_range
from pipeline.spec import TableSpec, TemplateSpec, load_template, template_versions
from pipeline.xlsx.model import RawWorkbook, TableDef
from pipeline.xlsx.refs import column_letters

ID_FIELD = "VORLAGE_ID"
VERSION_FIELD = "VORLAGE_VERSION"


@dataclass(frozen=True)
class Problem:
    """Something structural is missing or broken (kind: see rules/structure.py)."""

    kind: str
    name: str
    detail: str = ""
    sheet: str = ""
    cell: str = ""


class Row(NamedTuple):
    """One table row: its sheet row number and a value per spec column (a tuple: a run
    keeps ~100 of them per workbook)."""

    number: int
    values: dict[str, Value]
    outside_table: bool = False


@dataclass
class Submission:
    spec: TemplateSpec | None
    fields: dict[str, Value] = field(default_factory=dict)
    tables: dict[str, Sequence[Row]] = field(default_factory=dict)  # cached: Packed
    problems: list[Problem] = field(default_factory=list)
    version: str = ""
    template_id: str = ""
    has_macros: bool = False
    external_links: int = 0

    def get(self, name: str) -> object:
        v = self.fields.get(name)
        return v.value if v is not None and v.problem is None else None

    def __reduce_ex__(self, protocol):  # type: ignore[override]
        """Compact pickling (process pool results and the result cache): values as plain
        tuples, table columns named once per table. Measured: half the size and ~2x faster
        than pickling the dataclasses."""
        return _unpack, (self.spec, {k: _pack(v) for k, v in self.fields.items()},
                         {name: _pack_table(rows) for name, rows in self.tables.items()},
                         self.problems, self.version, self.template_id, self.has_macros,
                         self.external_links)

    def release_tables(self) -> None:
        """Forget the rows read from packed tables (`Packed.release`)."""
        for rows in self.tables.values():
            if isinstance(rows, Packed):
                rows.release()

    @property
    def ags(self) -> str | None:
        value = self.get("PROJEKT_AGS")
        return value if isinstance(value, str) and value else None

    @property
    def projektjahr(self) -> int | None:
        value = self.get("PROJEKTJAHR")
        return value if isinstance(value, int) else None

    @property
    def quartal(self) -> int | None:
        value = self.get("QUARTAL")
        return value if isinstance(value, int) else None


_tuple_new = tuple.__new__
_BLANK = Value.is_blank.fget

_pack = tuple  # a Value is a tuple: its plain copy pickles without a reduce call


def _value(packed: tuple) -> Value:
    return tuple.__new__(Value, packed)


def _pack_rows(rows: list[Row]) -> tuple:
    names = tuple(rows[0].values) if rows else ()
    return names, [(r.number, r.outside_table, [_pack(r.values[n]) for n in names])
                   if tuple(r.values) == names else (r.number, r.outside_table, r.values)
                   for r in rows]


def _pack_table(rows: Sequence[Row]) -> tuple | Packed[Row]:
    """A table stays pickled until read: most runs read the receipts only for the
    applications whose files changed (the cross-quarter rules), and short tables only
    where a report shows their rows (measured: unpacking the staff and measure rows of
    432 cached results cost ≈ 15 ms of a warm run)."""
    if isinstance(rows, Packed) and not rows.loaded:
        return rows
    if not rows:
        return _pack_rows(rows)  # type: ignore[arg-type]
    return Packed.of(_pack_rows(rows), len(rows), _unpack_rows)  # type: ignore[arg-type]


def _unpack_rows(packed: tuple) -> list[Row]:
    names, rows = packed
    return [Row(number, dict(zip(names, map(_value, values), strict=True))
                if isinstance(values, list) else values, outside)
            for number, outside, values in rows]


def _unpack(spec, fields, tables, problems, version, template_id, has_macros,
            external_links) -> Submission:
    sub = Submission(spec, {k: _value(v) for k, v in fields.items()}, {}, problems, version,
                     template_id, has_macros, external_links)
    for name, packed in tables.items():
        sub.tables[name] = packed if isinstance(packed, Packed) else _unpack_rows(packed)
    return sub


def _named_cell(raw: RawWorkbook, name: str) -> tuple[str, str, int, int] | Problem:
    """(sheet, cell, row, column) of a defined name's first cell."""
    dn = raw.defined_names.get(name)
    if dn is None:
        return Problem("name_missing", name)
    if dn.sheet is None or dn.ref is None:
        return Problem("name_broken", name, dn.raw)
    if dn.sheet not in raw.sheets:
        return Problem("name_broken", name, dn.raw)
    first = _first_cell(dn.ref)
    if first is None:
        return Problem("name_broken", name, dn.raw)
    return (dn.sheet, *first)


@lru_cache(maxsize=1024)
def _first_cell(ref: str) -> tuple[str, int, int] | None:
    """('B12', row, column) of 'B12', '$B$12' or 'B12:C14'; None when it is not a cell.
    Cached: every workbook of a template has the same names at the same cells."""
    first = ref.split(":")[0]
    place = parse_cell(first)
    return None if place is None else (first.replace("$", "").upper(), *place)


def _read_named(raw: RawWorkbook, name: str, type_: str) -> Value | Problem:
    place = _named_cell(raw, name)
    if isinstance(place, Problem):
        return place
    sheet, ref, row, col = place
    return coerce(raw.cells.get(sheet, {}).get((row, col)), sheet, ref, type_, raw.date1904)


def detect_version(raw: RawWorkbook) -> tuple[str, str]:
    """(template id, version) as written in the workbook, '' when absent."""
    found = []
    for name in (ID_FIELD, VERSION_FIELD):
        value = _read_named(raw, name, "text")
        found.append(value.value or "" if isinstance(value, Value) else "")
    return str(found[0]), str(found[1])


def read_submission(raw: RawWorkbook, max_rows: int,
                    spec: TemplateSpec | None = None) -> Submission:
    """Read with the spec of the workbook's own version (or the given spec)."""
    template_id, version = detect_version(raw)
    if spec is None and version in template_versions():
        spec = load_template(version)
    sub = Submission(spec, version=version, template_id=template_id,
                     has_macros=raw.has_macros, external_links=raw.external_links)
    if spec is None:
        return sub
    for fs in spec.fields:
        result = _read_named(raw, fs.name, fs.type)
        if isinstance(result, Problem):
            sub.problems.append(result)
        else:
            sub.fields[fs.name] = result
    for ts in spec.tables:
        _read_table(raw, ts, sub, max_rows)
    return sub


def _read_table(raw: RawWorkbook, ts: TableSpec, sub: Submission, max_rows: int) -> None:
    table = raw.tables.get(ts.name) or _find_table_ci(raw, ts.name)
    if table is None:
        sub.problems.append(Problem("table_missing", ts.name, sheet=ts.sheet))
        return
    bounds = parse_range(table.ref)
    if bounds is None or table.sheet not in raw.cells:
        sub.problems.append(Problem("table_missing", ts.name, table.ref, sheet=table.sheet))
        return
    (top, left), (bottom, _right) = bounds
    positions = {name: left + i for i, name in enumerate(table.columns)}
    missing = [c.name for c in ts.columns if c.name not in positions]
    for name in missing:
        sub.problems.append(Problem("column_missing", ts.name, name, sheet=table.sheet,
                                    cell=a1(top, left)))
    if missing:
        return
    first_body = top + table.header_rows
    last_body = bottom - table.totals_rows
    cells = raw.cells[table.sheet]
    columns = {positions[c.name] for c in ts.columns}
    # Only rows holding a cell in the table's columns can be filled: walk those (never the
    # whole range, which may reach row 1,048,576) and count them before coercing anything.
    numbers = sorted(r for r in {r for r, c in cells if c in columns}
                     if first_body <= r <= last_body)
    if len(numbers) > max_rows:
        sub.problems.append(Problem("too_many_rows", ts.name, str(len(numbers)),
                                    sheet=table.sheet))
        sub.tables[ts.name] = []
        return
    cols = _columns(ts, positions)
    rows = _rows(raw, table, cols, numbers)
    rows.extend(_rows_below(raw, table, cols, last_body))
    if len(rows) > max_rows:
        sub.problems.append(Problem("too_many_rows", ts.name, str(len(rows)), sheet=table.sheet))
        rows = rows[:max_rows]
    sub.tables[ts.name] = rows


def _find_table_ci(raw: RawWorkbook, name: str) -> TableDef | None:
    return next((t for n, t in raw.tables.items() if n.lower() == name.lower()), None)


def _rows(raw: RawWorkbook, table: TableDef, cols: tuple[tuple[str, int, str, str], ...],
          numbers: list[int], outside: bool = False) -> list[Row]:
    """The non-blank rows among `numbers`, converted column by column (each column's
    converter is chosen once: coerce_column)."""
    cells, sheet, date1904 = raw.cells[table.sheet], table.sheet, raw.date1904
    columns = [coerce_column([cells.get((number, col)) for number in numbers], sheet,
                             _cell_refs(letters, numbers), type_, date1904)
               for _name, col, letters, type_ in cols]
    names = [name for name, _col, _letters, _type in cols]
    # One length by construction (zip's strict check cost a sixth of this assembly); a
    # row's first value is seldom blank, so it is tested before all of them.
    return [_tuple_new(Row, (number, dict(zip(names, values, strict=False)), outside))
            for number, values in zip(numbers, zip(*columns, strict=False), strict=False)
            if not (_BLANK(values[0]) and all(map(_BLANK, values)))]


def _cell_refs(letters: str, numbers: list[int]) -> Sequence[str]:
    """'B5', 'B6', … for the rows `numbers` of column B."""
    first, count = (numbers[0], len(numbers)) if numbers else (1, 0)
    if numbers and numbers[-1] - first + 1 == count and count <= _SHARED_REFS_ROWS:
        return _consecutive_refs(letters, first, count)
    return [letters + str(number) for number in numbers]


# Tables with at most this many consecutive rows share their cell references: every
# workbook of a template has its tables at the same rows (bounds the cache to a few MB).
_SHARED_REFS_ROWS = 1000


@lru_cache(maxsize=256)
def _consecutive_refs(letters: str, first: int, count: int) -> tuple[str, ...]:
    return tuple(letters + str(number) for number in range(first, first + count))


def _row(raw: RawWorkbook, table: TableDef, cols: tuple[tuple[str, int, str, str], ...],
         number: int, outside: bool = False) -> Row | None:
    rows = _rows(raw, table, cols, [number], outside)
    return rows[0] if rows else None


def _columns(ts: TableSpec, positions: dict[str, int]) -> tuple[tuple[str, int, str, str], ...]:
    """(name, column number, column letters, type) of the spec's columns, in spec order."""
    return tuple((c.name, positions[c.name], column_letters(positions[c.name]), c.type)
                 for c in ts.columns)


def _rows_below(raw, table, cols, last_body) -> list[Row]:
    """Rows typed directly under a table that did not grow (LibreOffice does not extend
    Excel tables): read them until the first empty row, and say so."""
    rows = []
    number = last_body + 1
    cells = raw.cells[table.sheet]
    while True:
        if all((number, col) not in cells for _name, col, _letters, _type in cols):
            return rows  # nothing typed there (the usual case): no need to read the row
        row = _row(raw, table, cols, number, outside=True)
        if row is None or _is_total_row(row):
            return rows
        rows.append(row)
        number += 1


def _is_total_row(row: Row) -> bool:
    """A clerk's own "Summe" line under the table: only formulas and labels, no date."""
    filled = [v for v in row.values.values() if not v.is_blank]
    return any(v.formula for v in filled) and all(
        v.formula or not isinstance(v.value, (int, float)) for v in filled
    ) and not any(v.formula is None and hasattr(v.value, "year") for v in filled)
