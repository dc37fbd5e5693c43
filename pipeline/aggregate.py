"""Consolidate: quarter facts per application -> funding results -> kennzahlen rows.

Quarter rows are the only computed level; PJ, project and GESAMT rows are sums of quarter
rows, so every level reconciles to the cent. Stock figures (spec: aggregate = "last") report
the latest quarter with a used submission instead of a sum.

Plain Python over lists (≈ 23,000 rows for the programme): the pandas version it replaced
cost an import of 0.25 s and 0.1 s of work on every run; tests/reference_aggregate.py keeps
it as the oracle the tests compare against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from operator import add, itemgetter

from pipeline.facts import Facts
from pipeline.funding import FIGURES, quarter_figures
from pipeline.periods import Period, all_periods
from pipeline.spec import Programme, TemplateSpec

TOTAL = "GESAMT"

# (projekt_ags, projektjahr, quartal, kennzahl, wert); projektjahr/quartal None on the
# project and total levels. wert: Decimal for money, int for counts.
FigureRow = tuple[str, int | None, int | None, str, Decimal | int]


@dataclass(frozen=True)
class AppInfo:
    ags: str
    approval: Decimal


def count_figures(spec: TemplateSpec) -> list[str]:
    return [f.figure for f in spec.fields if f.figure] + ["massnahmen", "massnahmen_teilnehmende"]


def stock_figures(spec: TemplateSpec) -> set[str]:
    return {f.figure for f in spec.fields if f.figure and f.aggregate == "last"}


def kennzahlen(prog: Programme, spec: TemplateSpec, apps: list[AppInfo],
               facts: dict[tuple[str, Period], Facts]) -> list[FigureRow]:
    """All levels for each application and for all together (projekt_ags = GESAMT), in
    report order: applications by AGS then GESAMT; quarters, then PJ, then the total; the
    kennzahlen in spec order.

    Per application one list of values (kennzahlen order) per level, the PJ and total
    levels summed element by element over its quarters in chronological order; GESAMT sums
    the applications' lists level by level in the order of `apps` (a stock's PJ and total
    rows thus sum each application's latest value, never the sum of quarters). The rows
    are built from these lists in report order, no key is looked up or sorted."""
    names = [*FIGURES, *count_figures(spec)]
    counts = names[len(FIGURES):]
    every_ags = [app.ags for app in apps]
    if len(set(names)) < len(names) or len(set(every_ags)) < len(every_ags) \
            or TOTAL in every_ags:  # caller bugs: the registry keeps one row per AGS
        raise ValueError("kennzahlen and applications must be unique (and none is GESAMT)")
    stock_names = stock_figures(spec)
    stocks = [i for i, name in enumerate(names) if name in stock_names]
    periods = all_periods(prog)
    years = _years(periods)
    levels = [level for pj, quarters in years
              for level in [*((pj, periods[i].quartal) for i in quarters), (pj, None)]]
    levels.append((None, None))
    by_app: dict[str, dict[Period, Facts]] = {}
    for (ags, period), f in facts.items():
        by_app.setdefault(ags, {})[period] = f
    no_counts = [0] * len(counts)
    per_app: dict[str, list[list]] = {}
    for app in apps:
        mine = by_app.get(app.ags, {})
        quarters, received = [], []
        for period, money in zip(periods, quarter_figures(prog, app.approval, mine),
                                 strict=True):
            got = mine.get(period)
            quarters.append([*money, *(no_counts if got is None else
                                       map(got.counts.get, counts, no_counts))])
            received.append(got is not None)
        per_app[app.ags] = _app_levels(quarters, received, years, stocks)
    if not per_app:
        return FigureRows([], [], levels, names)
    values_of = iter(per_app.values())  # GESAMT: summed in the order of `apps`, as always
    total = next(values_of)
    for values in values_of:
        total = [list(map(add, mine, theirs)) for mine, theirs in zip(total, values, strict=True)]
    rows: list[FigureRow] = []
    for ags, values in [*sorted(per_app.items()), (TOTAL, total)]:
        for (pj, q), level in zip(levels, values, strict=True):
            rows += zip(repeat(ags), repeat(pj), repeat(q), names, level)
    return FigureRows(rows, [*sorted(per_app), TOTAL], levels, names)


class FigureRows(list):
    """The kennzahlen rows (a plain list of FigureRow) that know where each key's row is:
    they form a grid (application × level × kennzahl, report order), so `find` computes
    a row's position. The feedback looks up 8 figures per submission this way instead of
    reading all ≈ 23,000 rows (in its forked process, reading a row copies its memory
    page). Changed in place, the rows forget the grid and `find` uses a dict."""

    def __init__(self, rows: list[FigureRow], apps: list[str],
                 levels: list[tuple[int | None, int | None]], names: list[str]) -> None:
        super().__init__(rows)
        self._grid: tuple[dict, dict, dict] | None = (
            {ags: i for i, ags in enumerate(apps)},
            {level: i for i, level in enumerate(levels)},
            {name: i for i, name in enumerate(names)})
        self._by_key: dict[tuple, FigureRow] | None = None
        self._picks: dict[tuple[str, ...], Callable] = {}  # by `names` asked for
        if len(self) != len(apps) * len(levels) * len(names):
            self._grid = None

    @classmethod
    def of(cls, rows: list[FigureRow] | None) -> FigureRows:
        """`rows` as they are (FigureRows), or rows of unknown layout: `find` by dict."""
        if isinstance(rows, FigureRows):
            return rows
        return cls(list(rows or ()), [], [], [])

    def __getstate__(self) -> dict:  # (pickled without the caches `find` makes)
        return {"_grid": self._grid}

    def __setstate__(self, state: dict) -> None:
        self._grid, self._by_key, self._picks = state.get("_grid"), None, {}

    def find(self, ags: str, pj: int | None, q: int | None,
             names: tuple[str, ...]) -> list[FigureRow]:
        """The rows of (ags, pj, q) with the kennzahlen `names` that exist, in that order
        (of several rows with one key, the last)."""
        if self._grid is not None:
            apps, levels, positions = self._grid
            a, level = apps.get(ags), levels.get((pj, q))
            if a is None or level is None:
                return []
            pick = self._picks.get(names)
            if pick is None:
                pick = self._picks[names] = _picker([positions[n] for n in names
                                                     if n in positions])
            start = (a * len(levels) + level) * len(positions)
            found = list(pick(self[start:start + len(positions)]))
            if not found or found[0][:3] == (ags, pj, q) == found[-1][:3]:  # (as it must)
                return found
            self._grid = None  # not the grid it was made as (after all): look them up
        if self._by_key is None:
            self._by_key = {row[:4]: row for row in self}
        return [row for name in names if (row := self._by_key.get((ags, pj, q, name)))]


def _picker(offsets: list[int]) -> Callable[[list], tuple]:
    """rows -> the rows at `offsets`, as a tuple (itemgetter, when it gives one)."""
    if len(offsets) > 1:
        return itemgetter(*offsets)
    return lambda rows: tuple(rows[n] for n in offsets)


def _forgetting(name: str):
    method = getattr(list, name)

    def changed(self: FigureRows, *args, **kwargs):
        self._grid = self._by_key = None
        return method(self, *args, **kwargs)

    changed.__name__ = name
    return changed


for _name in ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend",
              "insert", "pop", "remove", "clear", "sort", "reverse"):
    setattr(FigureRows, _name, _forgetting(_name))


def _years(periods: list[Period]) -> list[tuple[int, list[int]]]:
    """Per Projektjahr (ascending) the positions of its quarters in `periods`."""
    return [(pj, [i for i, p in enumerate(periods) if p.projektjahr == pj])
            for pj in sorted({p.projektjahr for p in periods})]


def _app_levels(quarters: list[list], received: list[bool],
                years: list[tuple[int, list[int]]], stocks: list[int]) -> list[list]:
    """One application's value lists in report order (each PJ's quarters, the PJ, ...,
    the total) from its quarters' lists (chronological). Flows: the PJ and total lists are
    the quarters' sums, added left to right. Stocks (`stocks`: positions): the PJ has the
    latest received quarter's value as int (0 if none), the total the latest PJ's that had
    one."""
    out: list[list] = []
    latest = [0] * len(stocks)
    for _pj, positions in years:
        out += [quarters[i] for i in positions]
        sums = _sum([quarters[i] for i in positions])
        last = next((i for i in reversed(positions) if received[i]), None)
        for j, pos in enumerate(stocks):
            sums[pos] = 0 if last is None else int(quarters[last][pos])
            if last is not None:
                latest[j] = sums[pos]
        out.append(sums)
    total = _sum(quarters)
    for j, pos in enumerate(stocks):
        total[pos] = latest[j]
    out.append(total)
    return out


def _sum(lists: list[list]) -> list:
    """Element-wise sum (a new list), added left to right as a running total."""
    if not lists:
        return []
    acc = list(lists[0])
    for values in lists[1:]:
        acc = list(map(add, acc, values))
    return acc
