"""Facts of one submission: the reported amounts and counts the funding rules start from.

Derived figures are always recomputed from entered values (never a cached total).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from pipeline.money import ZERO, cents
from pipeline.packed import MIN_ITEMS, Packed
from pipeline.read.submission import Submission
from pipeline.rules.cells import canonical_choice
from pipeline.spec import Programme


class Source(NamedTuple):
    """One source cell behind a figure (for the audit trail). A tuple: ~140 per workbook
    travel from the workers and through the result cache."""

    kennzahl: str
    blatt: str
    zelle: str
    wert: Decimal | int


@dataclass
class Facts:
    staff: Decimal = ZERO
    fee: Decimal = ZERO
    volunteer: Decimal = ZERO
    counts: dict[str, int] = field(default_factory=dict)
    # Built as a list; from a pickle (a cached result) a Packed one, unpickled when read:
    # a warm run reads only the sources of files whose audit rows are written again.
    sources: Sequence[Source] = field(default_factory=list)

    def __reduce_ex__(self, protocol):  # type: ignore[override]
        sources = self.sources
        if not (isinstance(sources, Packed) and not sources.loaded):
            plain = [tuple(s) for s in sources]
            sources = Packed.of(plain, len(plain), _sources) if len(plain) >= MIN_ITEMS \
                else plain
        return _facts, (self.staff, self.fee, self.volunteer, self.counts, sources)


_tuple_new = tuple.__new__


def _sources(plain: list[tuple]) -> list[Source]:
    return [_tuple_new(Source, s) for s in plain]


def _facts(staff, fee, volunteer, counts, sources) -> Facts:
    return Facts(staff, fee, volunteer, counts,
                 sources if isinstance(sources, Packed) else _sources(sources))


def extract(sub: Submission, prog: Programme) -> Facts:
    spec, r = sub.spec, sub.spec.roles
    facts = Facts()
    add = facts.sources.append
    for row in sub.tables.get(r["staff_table"], []):
        gross, share = row.values[r["staff_gross"]], row.values[r["staff_share"]]
        if gross.ok and share.ok:
            eligible = cents(gross.value * share.value / 100)
            facts.staff += eligible
            add(_source("personal_gemeldet", gross.sheet, gross.cell, eligible))
    _receipts(facts, sub, prog)
    for fs in spec.fields:
        v = sub.fields.get(fs.name)
        if v is not None and v.ok and (figure := fs.figure):  # a property: computed once
            facts.counts[figure] = v.value
            add(_source(figure, v.sheet, v.cell, v.value))
    measures = sub.tables.get(r["measures_table"], [])
    facts.counts["massnahmen"] = len(measures)
    total = 0
    for row in measures:
        v = row.values[r["measure_participants"]]
        if v.ok:
            total += v.value
            add(_source("massnahmen_teilnehmende", v.sheet, v.cell, v.value))
    facts.counts["massnahmen_teilnehmende"] = total
    return facts


def _receipts(facts: Facts, sub: Submission, prog: Programme) -> None:
    """Fees and volunteer expenses, by the receipt's cost kind. About 100 receipts a
    quarter: values read by index instead of by name (v[3] value, v[4] problem), sums kept
    in locals (added in the same order, so the Decimals are the same)."""
    r = sub.spec.roles
    kinds = prog.cost_kinds
    figure = {key: f"{key}_gemeldet" for key in kinds.values()}
    choices = sub.spec.table(r["receipts_table"]).column(r["receipt_kind"]).choices
    amount_name, kind_name = r["receipt_amount"], r["receipt_kind"]
    add = facts.sources.append
    fee, volunteer = facts.fee, facts.volunteer
    for row in sub.tables.get(r["receipts_table"], []):
        v = row.values[amount_name]
        amount = v[3]
        choice = canonical_choice(str(row.values[kind_name][3] or ""), choices)
        if v[4] is not None or amount is None or choice is None:  # not v.ok
            continue
        key = kinds[choice]
        if key == "honorar":
            fee += amount
        else:
            volunteer += amount
        add(_tuple_new(Source, (figure[key], v[0], v[1], amount)))  # sheet, cell
    facts.fee, facts.volunteer = fee, volunteer


def _source(kennzahl: str, blatt: str, zelle: str, wert: Decimal | int) -> Source:
    """Source(...) without the named tuple's Python-level constructor (~140 a workbook)."""
    return _tuple_new(Source, (kennzahl, blatt, zelle, wert))
