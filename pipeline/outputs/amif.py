"""The figures of the AMIF report: common indicators per Projektjahr, per EU accounting
year and cumulative, and the cumulative financial data at the CPR cut-off dates.

Calendar decisions (docs/reports.md): a quarter belongs to the accounting year that
contains its last day; a quarter counts at a cut-off date when it has ended by that date
(whether or not its report had arrived by then: figures are "as known at the Stichtag").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pipeline.aggregate import TOTAL
from pipeline.money import ZERO
from pipeline.outputs.suppress import PRIMARY, Cell, protect
from pipeline.outputs.view import ReportView
from pipeline.periods import Period, quarter_end
from pipeline.spec import Indicator, Programme

ACTIVE = "projekte_aktiv"  # indicator source: applications with a used submission
SHARES = ("foerderfaehig_gesamt", "eu_anteil", "land_anteil", "eigenanteil", "zuwendung")


@dataclass(frozen=True)
class Column:
    """A published time column: its label and the quarters it covers."""

    key: str
    label: str
    periods: tuple[Period, ...]


@dataclass(frozen=True)
class Shown:
    """A published indicator value: exact value and what the public sees."""

    value: int
    text: str | None = None  # a suppression label, or None: publish the number


def accounting_year(prog: Programme, period: Period) -> int:
    """Start year of the EU accounting year (Jul–Jun) containing the quarter's last day."""
    end = quarter_end(prog, period)
    return end.year if end.month >= prog.amif.accounting_year_start_month else end.year - 1


def columns(view: ReportView) -> list[Column]:
    prog = view.prog
    cols = [Column(f"PJ{pj}", f"PJ{pj}", tuple(p for p in view.periods if p.projektjahr == pj))
            for pj in view.years]
    years = sorted({accounting_year(prog, p) for p in view.periods})
    cols += [Column(f"GJ{y}", f"GJ {y}/{(y + 1) % 100:02d}",
                    tuple(p for p in view.periods if accounting_year(prog, p) == y))
             for y in years]
    cols.append(Column("kumuliert", "kumuliert", tuple(view.periods)))
    return cols


def indicator_value(view: ReportView, ind: Indicator, periods: tuple[Period, ...]) -> int:
    total = 0
    for source in ind.sources:
        if source == ACTIVE:
            total += view.active(periods)
        else:
            total += sum(int(view.fig(TOTAL, p.projektjahr, p.quartal, source))
                         for p in periods)
    return total


def is_person_count(view: ReportView, ind: Indicator) -> bool:
    return ind.unit in view.prog.amif.person_units and ACTIVE not in ind.sources


def indicator_table(view: ReportView) -> list[tuple[Indicator, dict[str, Shown]]]:
    """Per indicator: column key -> published value (person counts suppressed)."""
    cols = columns(view)
    position = {p: i for i, p in enumerate(view.periods)}
    prog = view.prog
    table = []
    for ind in prog.indicators:
        values = {c.key: indicator_value(view, ind, c.periods) for c in cols}
        hidden = {}
        if is_person_count(view, ind):
            cells = [Cell(c.key, frozenset(position[p] for p in c.periods), values[c.key])
                     for c in cols]
            hidden = protect(cells, prog.suppress_below)
        table.append((ind, {c.key: Shown(values[c.key], _label(prog, hidden.get(c.key)))
                            for c in cols}))
    return table


def _label(prog: Programme, kind: str | None) -> str | None:
    if kind is None:
        return None
    return prog.suppressed_label if kind == PRIMARY else prog.amif.secondary_label


def cutoff_dates(view: ReportView) -> list[date]:
    """CPR cut-offs after the project start up to the Stichtag; the series ends with the
    first cut-off at which every quarter of the project has ended."""
    prog = view.prog
    found = []
    for year in range(prog.start.year, prog.end.year + 2):
        for text in prog.amif.cutoffs:
            month, day = (int(x) for x in text.split("-"))
            found.append(date(year, month, day))
    dates = []
    for d in sorted(found):
        if d <= prog.start or d > view.stichtag:
            continue
        dates.append(d)
        if len(view.ended_by(d)) == len(view.periods):
            break
    return dates


def money_at(view: ReportView, periods: list[Period]) -> dict[str, Decimal]:
    return {k: sum((view.fig(TOTAL, p.projektjahr, p.quartal, k) for p in periods), ZERO)
            for k in SHARES}


def cutoff_rows(view: ReportView) -> list[tuple[date, list[Period], dict[str, Decimal]]]:
    return [(d, view.ended_by(d), money_at(view, view.ended_by(d)))
            for d in cutoff_dates(view)]
