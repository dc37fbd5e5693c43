"""The read values of a submission, by spec entry, with a German label for findings.

A workbook holds ~1,000 values and a dozen cell rules look at them. Walking all of them once
per rule (with an item object each) cost as much as reading the cells, so rules see them in
two cheaper shapes, both computed once per submission (`Context`):

- `columns(ctx)`: one `Column` per field or table column (its spec and all its values), so a
  rule that depends on the spec (a range, a list, a length) skips whole columns and decides
  per column, not per value;
- `flagged(ctx)`: only the values that are not plain, i.e. blank or with a problem, a formula
  or a note. Rules about problems, formulas, notes and blanks look only at these: in a valid
  workbook there are none.

Findings are sorted after the rules ran (`validate._located`), so the order in which a rule
visits values does not show in any output.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import NamedTuple

from pipeline.read.coerce import Value
from pipeline.read.submission import Row
from pipeline.rules.context import Context
from pipeline.spec import ColumnSpec, FieldSpec


class Item(NamedTuple):
    """A value with its spec entry; `row` is the table row number (None for a field). A
    tuple with a lazy label: only findings need labels."""

    spec: FieldSpec | ColumnSpec
    value: Value
    row: int | None = None

    @property
    def label(self) -> str:
        if self.row is None:
            return field_label(self.spec)  # type: ignore[arg-type]
        return column_label(self.spec, self.row)  # type: ignore[arg-type]


class Column(NamedTuple):
    """Every read value of one spec entry: a field (one value, `rows` None) or a table
    column (a value per table row, `rows` their row numbers)."""

    spec: FieldSpec | ColumnSpec
    values: Sequence[Value]
    rows: list[int] | None

    def item(self, i: int) -> Item:
        return Item(self.spec, self.values[i], None if self.rows is None else self.rows[i])


_new = tuple.__new__


def field_label(fs: FieldSpec) -> str:
    return f"„{fs.label}“ ({fs.name})"


def column_label(col: ColumnSpec, row_number: int) -> str:
    return f"„{col.name}“ in Zeile {row_number} der Tabelle {col.table}"


def columns(ctx: Context) -> list[Column]:
    """Every field and table column (rules pick theirs by spec: `col.spec.choices` …)."""
    return ctx.columns


def ok_values(values: Sequence[Value]) -> list[object]:
    """Each value's `.value` where it is `.ok`, else None: one pass that spares a rule the
    property calls per value (v[3] is the value, v[4] the problem)."""
    return [v[3] if v[4] is None else None for v in values]


def flagged(ctx: Context) -> list[Item]:
    """The values that are blank or carry a problem, a formula or a note."""
    return ctx.flagged


def table_columns(ctx: Context, table: str) -> dict[str, Column]:
    """The columns of one table by column name (empty if the spec has no such table)."""
    return ctx.by_table.get(table, {})


def columns_by_table(ctx: Context) -> dict[str, dict[str, Column]]:
    tables: dict[str, dict[str, Column]] = {ts.name: {} for ts in ctx.spec.tables}
    for col in ctx.columns:
        if col.rows is not None:
            tables[col.spec.table][col.spec.name] = col
    return tables


def all_columns(ctx: Context) -> list[Column]:
    """Fields in spec order, then each table's columns in spec order."""
    fields = ctx.sub.fields
    found = [_new(Column, (fs, [v], None)) for fs in ctx.spec.fields
             if (v := fields.get(fs.name)) is not None]
    for ts in ctx.spec.tables:
        rows = ctx.sub.tables.get(ts.name, [])
        numbers = [row.number for row in rows]
        by_column = _by_column(rows, [col.name for col in ts.columns])
        found.extend(_new(Column, (col, values, numbers))
                     for col, values in zip(ts.columns, by_column, strict=True))
    return found


def _by_column(rows: list[Row], names: list[str]) -> list[tuple[Value, ...]]:
    """The rows' values column by column, transposed in C (itemgetter, zip)."""
    if len(names) < 2:
        return [tuple(row.values[name] for row in rows) for name in names]
    get = itemgetter(*names)
    return list(zip(*[get(row.values) for row in rows], strict=True)) or [() for _ in names]


def flagged_items(ctx: Context) -> list[Item]:
    # Indexed, not unpacked or read by name (the fastest way past ~1,000 values):
    # v[4] problem, v[5] formula, v[6] note, v[2] raw.
    return [col.item(i) for col in ctx.columns for i, v in enumerate(col.values)
            if v[4] is not None or v[5] is not None or v[6] is not None or not v[2].strip()]


def required(item: Item, ctx: Context) -> bool:
    if isinstance(item.spec, FieldSpec):
        return item.spec.is_required(ctx.sub.quartal)
    return item.spec.required
