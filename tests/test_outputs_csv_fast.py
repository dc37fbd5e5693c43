"""The fast kennzahlen.csv renderer writes exactly what the generic CSV renderer writes."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.outputs.csvs import KENNZAHLEN_COLUMNS, render, render_figures

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12) | \
    st.sampled_from(["GESAMT", "=HYPERLINK(\"x\")", "+1", "a,b", 'say "hi"', "x\ny", ""])
levels = st.none() | st.integers(min_value=1, max_value=12)
values = st.integers(min_value=-10**9, max_value=10**9) | st.decimals(
    min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(texts, levels, levels, texts, values), max_size=30))
def test_render_figures_equals_the_generic_renderer(rows) -> None:
    assert render_figures(rows) == render(KENNZAHLEN_COLUMNS, rows)
