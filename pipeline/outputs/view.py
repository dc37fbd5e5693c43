"""One read-only view of a report run that every human-readable output renders from.

It turns the long `kennzahlen` frame into a lookup, fixes the order of applications and
periods, and computes the status matrix once, so the ministry workbook, the AMIF workbook,
the audit workbook and the HTML page cannot disagree about a number or an order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from functools import cached_property

from pipeline.aggregate import TOTAL, FigureRow
from pipeline.funding import FIGURES
from pipeline.money import ZERO
from pipeline.periods import Period, all_periods, quarter_end, quarter_start
from pipeline.spec import Programme, TemplateSpec, load_template
from pipeline.status import status_matrix

NO_LANDKREIS = "ohne Landkreis"
MONEY = frozenset(FIGURES)
Key = tuple[str, int | None, int | None, str]


@dataclass(frozen=True)
class App:
    """An application as the reports show it (registry row, or an AGS seen without one)."""

    ags: str
    name: str
    landkreis: str
    approval: Decimal | None


@dataclass
class ReportView:
    result: object  # pipeline.report.ReportResult (not imported: report imports outputs)
    prog: Programme
    stichtag: date
    spec: TemplateSpec = field(default_factory=load_template)

    @property
    def figure_rows(self) -> list[FigureRow]:
        """kennzahlen rows (projekt_ags, projektjahr, quartal, kennzahl, wert)."""
        return self.result.figures

    def prepare(self) -> None:
        """Compute the lookups every report uses (before forking a child that renders some
        of them: else both processes would)."""
        _ = self.figures, self.apps, self.matrix, self.app_by_ags

    @cached_property
    def figures(self) -> dict[Key, Decimal | int]:
        return {(ags, pj, q, name): (wert if name in MONEY else int(wert))
                for ags, pj, q, name, wert in self.figure_rows}

    def fig(self, ags: str, pj: int | None, q: int | None, name: str) -> Decimal | int:
        """One figure; a missing one is zero (ZERO for money, 0 for a count)."""
        default: Decimal | int = ZERO if name in MONEY else 0
        return self.figures.get((ags, pj, q, name), default)

    def figs(self, ags: str, pj: int | None, q: int | None,
             names: Sequence[str]) -> list[Decimal | int]:
        """`fig` of each of `names` at one key (a table row's figures in one call)."""
        get = self.figures.get
        return [get((ags, pj, q, name), ZERO if name in MONEY else 0) for name in names]

    @cached_property
    def apps(self) -> list[App]:
        registry = {a.ags: a for a in self.result.applications}
        seen = {k[0] for k in self.figures if k[0] != TOTAL}
        out = []
        for ags in sorted(seen | set(registry)):
            a = registry.get(ags)
            out.append(App(ags, a.name if a else "", a.landkreis if a else NO_LANDKREIS,
                           a.bewilligung_eur if a else None))
        return out

    @cached_property
    def landkreise(self) -> dict[str, list[App]]:
        grouped: dict[str, list[App]] = {}
        for app in sorted(self.apps, key=lambda a: (a.landkreis, a.ags)):
            grouped.setdefault(app.landkreis, []).append(app)
        return grouped

    @property
    def periods(self) -> list[Period]:
        return list(self._periods)

    @cached_property
    def _periods(self) -> tuple[Period, ...]:
        return tuple(all_periods(self.prog))

    @property
    def years(self) -> list[int]:
        return list(range(1, self.prog.project_years + 1))

    @cached_property
    def shown_periods(self) -> list[Period]:
        """Quarters for charts: up to the last one begun by the Stichtag or holding data."""
        used = {p for (_ags, p) in self.result.used}
        last = max((i for i, p in enumerate(self.periods)
                    if quarter_start(self.prog, p) <= self.stichtag or p in used), default=0)
        return self.periods[: last + 1]

    @cached_property
    def matrix(self) -> dict[str, dict[Period, str]]:
        return status_matrix(self.prog, [a.ags for a in self.apps], self.result.entries,
                             self.stichtag)

    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.matrix.values():
            for status in row.values():
                counts[status] = counts.get(status, 0) + 1
        return counts

    def used_keys(self, ags: str | None = None) -> list[tuple[str, Period]]:
        return sorted(k for k in self.result.used if ags is None or k[0] == ags)

    @cached_property
    def app_by_ags(self) -> dict[str, App]:
        return {a.ags: a for a in self.apps}

    def active(self, periods: Iterable[Period]) -> int:
        """Applications with at least one used submission in `periods`."""
        by_period = self._active_by_period
        return len(set().union(*(by_period.get(p, ()) for p in set(periods))))

    @cached_property
    def _active_by_period(self) -> dict[Period, set[str]]:
        """Period → the shown applications with a used submission for it."""
        shown = self.app_by_ags
        found: dict[Period, set[str]] = {}
        for ags, p in self.result.used:
            if ags in shown:
                found.setdefault(p, set()).add(ags)
        return found

    def total_approval(self) -> Decimal:
        return sum((a.approval for a in self.apps if a.approval is not None), ZERO)

    def usage(self, ags: str, upto_pj: int | None = None) -> Decimal | None:
        """Share of the approval used: funding up to the end of `upto_pj` (None: all)."""
        app = self.app_by_ags.get(ags)
        approval = (self.total_approval() if ags == TOTAL
                    else app.approval if app is not None else None)
        if not approval:
            return None
        years = self.years if upto_pj is None else range(1, upto_pj + 1)
        used = sum((self.fig(ags, pj, None, "zuwendung") for pj in years), ZERO)
        return used / approval

    @property
    def created(self) -> datetime:
        """Document date of every workbook: the Stichtag, so equal runs give equal bytes."""
        return datetime.combine(self.stichtag, time(0, 0))

    def ended_by(self, day: date) -> list[Period]:
        return [p for p, end in self._ends if end <= day]

    @cached_property
    def _ends(self) -> list[tuple[Period, date]]:
        return [(p, quarter_end(self.prog, p)) for p in self._periods]
