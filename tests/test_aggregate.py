"""pipeline.aggregate (plain Python) gives exactly the rows of the pandas implementation it
replaced (tests/reference_aggregate.py): same keys, order, values and value types."""

from __future__ import annotations

import pickle
import random
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import aggregate
from pipeline.facts import Facts
from pipeline.periods import all_periods
from pipeline.report import run_report
from pipeline.spec import load_programme, load_template
from tests import reference_aggregate as reference

PROG = load_programme()
SPEC = load_template()
PERIODS = all_periods(PROG)
COUNTS = aggregate.count_figures(SPEC)
assert aggregate.stock_figures(SPEC), "the comparison must cover a stock figure"


def reference_rows(apps, facts) -> list[tuple]:
    df = reference.kennzahlen(PROG, SPEC, apps, facts)
    def level(v):
        return None if v is None or v != v else int(v)
    return list(zip(df["projekt_ags"].tolist(), map(level, df["projektjahr"].tolist()),
                    map(level, df["quartal"].tolist()), df["kennzahl"].tolist(),
                    df["wert"].tolist(), strict=True))


def same(apps, facts) -> None:
    ours = aggregate.kennzahlen(PROG, SPEC, apps, facts)
    theirs = reference_rows(apps, facts)
    assert [r[:4] for r in ours] == [r[:4] for r in theirs]
    assert [(r[4], type(r[4])) for r in ours] == [(r[4], type(r[4])) for r in theirs]


money = st.decimals(min_value=Decimal("0"), max_value=Decimal("60000"), places=2,
                    allow_nan=False, allow_infinity=False)


@st.composite
def programmes(draw):
    n_apps = draw(st.integers(min_value=0, max_value=3))
    apps = [aggregate.AppInfo(f"0643{i:04d}", draw(st.sampled_from(
        [Decimal("290657.90"), Decimal("25000.00")]))) for i in range(n_apps)]
    facts = {}
    for app in apps:
        for period in draw(st.lists(st.sampled_from(PERIODS), max_size=6, unique=True)):
            counts = {c: draw(st.integers(min_value=0, max_value=40)) for c in COUNTS}
            facts[(app.ags, period)] = Facts(draw(money), draw(money), draw(money), counts)
    return apps, facts


@settings(max_examples=60, deadline=None)
@given(programmes())
def test_random_programmes_match_the_pandas_reference(drawn) -> None:
    same(*drawn)


def test_the_demo_programme_matches_the_pandas_reference(tmp_path: Path) -> None:
    from pipeline.demo import demo_registry, write_registry

    apps = demo_registry(random.Random(7), PROG)
    infos = [aggregate.AppInfo(a.ags, a.bewilligung_eur) for a in apps]
    rng = random.Random(11)
    facts = {}
    for app in apps:
        for period in rng.sample(PERIODS, 9):
            counts = {c: rng.randint(0, 30) for c in COUNTS}
            facts[(app.ags, period)] = Facts(Decimal(rng.randint(0, 9_000_00)) / 100,
                                             Decimal(rng.randint(0, 3_000_00)) / 100,
                                             Decimal(rng.randint(0, 800_00)) / 100, counts)
    same(infos, facts)
    # and end to end: the report's figures are these rows
    box = tmp_path / "eingang"
    box.mkdir()
    registry = tmp_path / "projekte.csv"
    write_registry(registry, apps)
    result = run_report(box, tmp_path / "out", registry, date(2027, 1, 31))
    assert result.figures == aggregate.kennzahlen(
        PROG, SPEC, [aggregate.AppInfo(a.ags, a.bewilligung_eur)
                     for a in sorted(apps, key=lambda a: a.ags)], {})


@settings(max_examples=40, deadline=None)
@given(programmes(), st.randoms(use_true_random=False))
def test_applications_in_any_order_match_the_pandas_reference(drawn, rng) -> None:
    apps, facts = drawn
    rng.shuffle(apps)
    same(apps, facts)


@settings(max_examples=40, deadline=None)
@given(programmes(), st.data())
def test_figure_rows_find_each_keys_row(drawn, data) -> None:
    """`find` (positions in the grid) gives the rows a dict of all rows gives, also after
    the rows were changed in place or pickled."""
    rows = aggregate.kennzahlen(PROG, SPEC, *drawn)
    if not rows:
        return
    assert isinstance(rows, aggregate.FigureRows)
    by_key = {row[:4]: row for row in rows}
    names = (*data.draw(st.lists(st.sampled_from(sorted({row[3] for row in rows})),
                                 max_size=5)), "nicht_da")
    keys = sorted({row[:3] for row in rows}, key=repr)
    rows.find(*keys[0], names[:1])  # (what find keeps is not pickled)
    for copy in (rows, pickle.loads(pickle.dumps(rows))):
        for ags, pj, q in [*keys, ("00000000", 1, 1), (keys[0][0], 99, 1)]:
            want = [by_key[k] for n in names if (k := (ags, pj, q, n)) in by_key]
            assert copy.find(ags, pj, q, names) == want
    changed = aggregate.kennzahlen(PROG, SPEC, *drawn)
    changed.sort(key=repr)  # in place: the grid is gone, the rows are still found
    changed[0] = (*changed[0][:4], 12345)
    by_key = {row[:4]: row for row in changed}
    for ags, pj, q in keys:
        assert changed.find(ags, pj, q, names) == \
            [by_key[k] for n in names if (k := (ags, pj, q, n)) in by_key]


def test_applications_must_be_unique() -> None:
    app = aggregate.AppInfo("06431901", Decimal("1000.00"))
    for apps in ([app, app], [aggregate.AppInfo(aggregate.TOTAL, Decimal("1"))]):
        with pytest.raises(ValueError):
            aggregate.kennzahlen(PROG, SPEC, apps, {})
    assert aggregate.kennzahlen(PROG, SPEC, [], {}) == []


def test_rows_of_unknown_layout_are_found_by_dict() -> None:
    """Rows not made by kennzahlen (e.g. a result built by hand) are found all the same."""
    rows = [("06431901", 1, 1, "a", 1), ("06431901", 1, 1, "b", 2), ("06431901", 1, 1, "a", 3)]
    found = aggregate.FigureRows.of(rows)
    assert found == rows and found.find("06431901", 1, 1, ("a", "b", "c")) == [rows[2], rows[1]]
    assert aggregate.FigureRows.of(found) is found
    assert aggregate.FigureRows.of(None).find("06431901", 1, 1, ("a",)) == []
    empty = aggregate.kennzahlen(PROG, SPEC, [], {})  # no applications: no rows
    assert isinstance(empty, aggregate.FigureRows) and empty == []
    assert empty.find("06431901", 1, 1, ("a",)) == []
