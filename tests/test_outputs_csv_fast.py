"""The fast CSV renderers write exactly what the generic CSV renderer writes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.outputs.csvs import KENNZAHLEN_COLUMNS, render_figures
from pipeline.outputs.csvs import render as render_rows
from tests.reference_csv import render

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12) | \
    st.sampled_from(["GESAMT", "=HYPERLINK(\"x\")", "+1", "a,b", 'say "hi"', "x\ny", ""])
levels = st.none() | st.integers(min_value=1, max_value=12) | \
    st.sampled_from([True, 1.0, 10**6, -3])  # True and 1.0: equal to 1, another text
values = st.integers(min_value=-10**9, max_value=10**9) | st.decimals(
    min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2, allow_nan=False) | \
    st.decimals(min_value=Decimal("-1e20"), max_value=Decimal("1e20"), allow_nan=False) | \
    st.sampled_from([Decimal("-0.00"), Decimal("1E+2"), Decimal("0.005"), 2.5, None, "x,y"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(texts, levels, levels, texts, values), max_size=30))
def test_render_figures_equals_the_generic_renderer(rows) -> None:
    assert render_figures(rows) == render(KENNZAHLEN_COLUMNS, rows)


def test_a_line_start_is_reused_only_for_the_same_objects() -> None:
    rows = [("06431901", 1, 2, "a", 1), ("06431901", True, 2, "a", 2),
            ("".join(["0643", "1901"]), 1.0, 2.0, "a", Decimal("3.10")),
            ("06431901", 1, 2, "b", Decimal("-0.00"))]
    assert render_figures(rows) == render(KENNZAHLEN_COLUMNS, rows)
    assert b"06431901,True,2,a,2\n" in render_figures(rows)


cells = texts | st.text(max_size=6) | st.none() | st.booleans() | \
    st.integers(min_value=-10**20, max_value=10**20) | values | st.floats() | \
    st.sampled_from(["", " ", "a\rb", "a\u2028b", "\x00", "'", "x;y", "-1", "@", "\ttab",
                     "a\"b", "ä,ö", date(2026, 5, 15), datetime(2026, 5, 15, 9, 30)])


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=1, max_value=5).flatmap(
    lambda width: st.lists(st.lists(cells, min_size=width, max_size=width), max_size=12)))
def test_render_rows_equals_the_generic_renderer(rows) -> None:
    columns = [f"c{i}" for i in range(len(rows[0]) if rows else 1)]
    assert render_rows(columns, rows) == render(columns, rows)


def test_render_rows_quotes_and_neutralises_as_the_generic_renderer() -> None:
    rows = [[""], [None], ["=1+2"], ["a,b"], ['say "hi"'], ["x\ny"], ["a\rb"], ["+"]]
    assert render_rows(["a"], rows) == render(["a"], rows)
    assert render_rows(["a"], rows).splitlines()[1:4] == [b'""', b'""', b"'=1+2"]
