"""The fast paths of mapping and rules give what the general code gives.

Mapping converts a cell stored the way the template stores it in one step (coerce_column,
coerce); every other cell takes the general conversion (_coerce). The rules look at values
column by column and at the "flagged" values only. These tests compare each fast path with
the general code it stands for.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.read.coerce import _FAST_PATHS, _coerce, coerce, coerce_column
from pipeline.read.submission import _cell_refs, read_submission
from pipeline.rules.cells import _meant, canonical_choice
from pipeline.rules.context import Context
from pipeline.rules.items import all_columns, flagged_items
from pipeline.spec import load_programme
from pipeline.template.sample import MUSTERSTADT, valid_data
from pipeline.xlsx import read_xlsx
from pipeline.xlsx.model import RawCell

TYPES = sorted({*_FAST_PATHS, "date"})
KINDS = ["n", "s", "b", "e", "d", ""]
TRICKY = ["", " ", "  ", "0", "7", "007", "45931", "45931.5", "2958466", "-1", "+4", "1.",
          ".5", "20.15", "25.7", "1.005", "0.30000000000000004", "1234.5599999999999",
          "999999999999999", "1000000000000000", "1E+3", "1e-7", "NaN", "Infinity", "1_000",
          " 5", "5 ", "²", "٣", "1.²", "1,5", "1.234,56 €", "01.02.2026", "2026-01-31",
          "Ehrenamt", " Ehrenamt", "Ehrenamt ", "Ehren  amt", "a\u00a0b", "a\tb", "a\nb",
          "\n x \n", "x" * 199, "x" * 200, "x" * 201, "WAHR", "1", "true", "#REF!"]
NUMBERISH = st.text(st.sampled_from(list("0123456789.,-+eE€ '()²٣\t\n\u00a0x")), max_size=18)
TEXTS = st.one_of(st.sampled_from(TRICKY), NUMBERISH, st.text(max_size=30))
CELLS = st.builds(lambda kind, text, formula: RawCell("B2", 2, 2, kind, text, formula),
                  st.sampled_from(KINDS), TEXTS, st.sampled_from([None, None, None, "", "A1*2"]))


def _same(fast, general) -> None:
    """Equal, and equal in every detail == forgives (Decimal('1.0') == Decimal('1.00'))."""
    assert fast == general
    assert repr(fast) == repr(general)
    assert [type(x) for x in fast] == [type(x) for x in general]


@settings(max_examples=3000, deadline=None, derandomize=True, database=None)
@given(CELLS, st.sampled_from(TYPES), st.booleans())
def test_fast_path_gives_the_general_value(cell: RawCell, type_: str, date1904: bool) -> None:
    general = _coerce(cell, "Belege", "B2", type_, date1904)
    _same(coerce(cell, "Belege", "B2", type_, date1904), general)
    _same(coerce_column([cell], "Belege", ["B2"], type_, date1904)[0], general)


def test_every_tricky_text_of_every_kind_and_type() -> None:
    for type_ in TYPES:
        for kind in KINDS:
            for text in TRICKY:
                for date1904 in (False, True):
                    cell = RawCell("C9", 9, 3, kind, text)
                    _same(coerce_column([cell, None], "S", ["C9", "C10"], type_, date1904),
                          [_coerce(cell, "S", "C9", type_, date1904),
                           _coerce(None, "S", "C10", type_, date1904)])


CHOICES = [("Honorar", "Ehrenamt"), ("a  b", "A B"), ("x", "X", " x"), ("", "Sonstiges"),
           ("Öffentlichkeit", "ÖFFENTLICHKEIT", "Straße", "STRASSE")]


@settings(max_examples=1000, deadline=None, derandomize=True, database=None)
@given(st.sampled_from(CHOICES), st.one_of(
    st.sampled_from(["Honorar", "honorar", " Honorar ", "a  b", "a b", "A B", "x", "X", " x",
                     "", "Straße", "strasse", "öffentlichkeit"]), st.text(max_size=12)))
def test_canonical_choice_fast_path(choices: tuple[str, ...], text: str) -> None:
    assert canonical_choice(text, choices) == _meant(text, choices)


def test_cell_refs_of_consecutive_and_other_rows() -> None:
    for numbers in ([], [5], list(range(5, 105)), [5, 6, 8], [7, 3], list(range(1, 2002))):
        assert list(_cell_refs("AB", numbers)) == [f"AB{n}" for n in numbers]


def test_columns_and_flagged_values_are_what_a_walk_over_every_value_finds(make_workbook):
    """The rules' two views of a workbook with quirks (a formula, numbers and dates as
    text, a blank required cell, a value outside the list) against a plain walk."""
    rows = [dict(r) for r in valid_data(MUSTERSTADT).rows["tblBelege"]]
    rows[0]["Betrag"] = "12,50 €"
    rows[0]["Kostenart"] = "Sachkosten"
    rows[1]["Belegdatum"] = rows[1]["Belegdatum"].strftime("%d.%m.%Y")
    rows[-1]["Empfaenger"] = ""
    path = make_workbook(values={"TN_GESAMT": "=1+2", "TELEFON": "  "},
                         rows={"tblBelege": rows})
    prog = load_programme()
    sub = read_submission(read_xlsx(path.read_bytes(), prog.limits, referenced_only=True),
                          prog.limits.max_table_rows)
    ctx = Context(sub, sub.spec, prog)
    walk = [(fs, sub.fields[fs.name], None) for fs in sub.spec.fields if fs.name in sub.fields]
    walk += [(col, row.values[col.name], row.number) for ts in sub.spec.tables
             for col in ts.columns for row in sub.tables.get(ts.name, [])]
    assert [(c.spec, v, None if c.rows is None else c.rows[i]) for c in all_columns(ctx)
            for i, v in enumerate(c.values)] == walk
    flagged = [(it.spec, it.value, it.row) for it in flagged_items(ctx)]
    assert flagged == [(s, v, r) for s, v, r in walk if v.is_blank or v.problem is not None
                       or v.formula is not None or v.note is not None]
    assert len(flagged) >= 4
