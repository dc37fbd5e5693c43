"""Facts of one submission: the reported amounts and counts the funding rules start from.

Derived figures are always recomputed from entered values (never a cached total).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from pipeline.money import ZERO, cents
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
    sources: list[Source] = field(default_factory=list)

    def __reduce_ex__(self, protocol):  # type: ignore[override]
        return _facts, (self.staff, self.fee, self.volunteer, self.counts,
                        [tuple(s) for s in self.sources])


def _facts(staff, fee, volunteer, counts, sources) -> Facts:
    new = tuple.__new__
    return Facts(staff, fee, volunteer, counts, [new(Source, s) for s in sources])


def extract(sub: Submission, prog: Programme) -> Facts:
    spec, r = sub.spec, sub.spec.roles
    facts = Facts()
    for row in sub.tables.get(r["staff_table"], []):
        gross, share = row.values[r["staff_gross"]], row.values[r["staff_share"]]
        if gross.ok and share.ok:
            eligible = cents(gross.value * share.value / 100)
            facts.staff += eligible
            facts.sources.append(Source("personal_gemeldet", gross.sheet, gross.cell, eligible))
    kinds = prog.cost_kinds
    kind_col = spec.table(r["receipts_table"]).column(r["receipt_kind"])
    for row in sub.tables.get(r["receipts_table"], []):
        amount, kind = row.values[r["receipt_amount"]], row.values[r["receipt_kind"]]
        choice = canonical_choice(str(kind.value or ""), kind_col.choices)
        if not amount.ok or choice is None:
            continue
        key = kinds[choice]
        if key == "honorar":
            facts.fee += amount.value
        else:
            facts.volunteer += amount.value
        facts.sources.append(Source(f"{key}_gemeldet", amount.sheet, amount.cell, amount.value))
    for fs in spec.fields:
        v = sub.fields.get(fs.name)
        if fs.figure and v is not None and v.ok:
            facts.counts[fs.figure] = v.value
            facts.sources.append(Source(fs.figure, v.sheet, v.cell, v.value))
    measures = sub.tables.get(r["measures_table"], [])
    facts.counts["massnahmen"] = len(measures)
    total = 0
    for row in measures:
        v = row.values[r["measure_participants"]]
        if v.ok:
            total += v.value
            facts.sources.append(Source("massnahmen_teilnehmende", v.sheet, v.cell, v.value))
    facts.counts["massnahmen_teilnehmende"] = total
    return facts
