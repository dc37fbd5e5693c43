"""Walk every read value of a submission together with its spec entry and a German label."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from pipeline.read.coerce import Value
from pipeline.rules.context import Context
from pipeline.spec import ColumnSpec, FieldSpec


class Item(NamedTuple):
    """A value with its spec entry; `row` is the table row number (None for a field). A
    tuple with a lazy label: a workbook has ~1,000 items and only findings need labels."""

    spec: FieldSpec | ColumnSpec
    value: Value
    row: int | None = None

    @property
    def label(self) -> str:
        if self.row is None:
            return field_label(self.spec)  # type: ignore[arg-type]
        return column_label(self.spec, self.row)  # type: ignore[arg-type]


def field_label(fs: FieldSpec) -> str:
    return f"„{fs.label}“ ({fs.name})"


def column_label(col: ColumnSpec, row_number: int) -> str:
    return f"„{col.name}“ in Zeile {row_number} der Tabelle {col.table}"


def items(ctx: Context) -> list[Item]:
    return ctx.items


def all_items(ctx: Context) -> list[Item]:
    return list(_walk(ctx))


def _walk(ctx: Context) -> Iterator[Item]:
    for fs in ctx.spec.fields:
        v = ctx.sub.fields.get(fs.name)
        if v is not None:
            yield Item(fs, v)
    for ts in ctx.spec.tables:
        for row in ctx.sub.tables.get(ts.name, []):
            for col in ts.columns:
                yield Item(col, row.values[col.name], row.number)


def required(item: Item, ctx: Context) -> bool:
    if isinstance(item.spec, FieldSpec):
        return item.spec.is_required(ctx.sub.quartal)
    return item.spec.required
