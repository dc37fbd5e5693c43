"""The fast paths of the consolidated outputs write exactly what the general code writes.

Money as CSV text, herkunft.csv and the Herkunft sheet XML rendered from a part's sources,
figure order by buckets, row-at-a-time cells (`put_row`) and the row writer of `FastSheet`,
and an audit frame stored instead of deflated: each is compared with the code it replaces
(kept here as the reference where it is gone from the package).
"""

from __future__ import annotations

import io
import math
import zipfile
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st
from xlsxwriter.worksheet import Worksheet

from pipeline.facts import Source
from pipeline.money import csv_money
from pipeline.outputs import audit_lineage, lineage, xlsxstream
from pipeline.outputs.audit_lineage import STAFF, _chunks, _Rows, _Styles
from pipeline.outputs.lineage import CsvRows, Lineage, Part, _in_figure_order, _render_rows
from pipeline.outputs.tables import Col, Table, table_frame, write_table
from pipeline.outputs.xlsxkit import OPTIONS, Book, FastSheet, put, put_row

CREATED = datetime(2026, 1, 1)


# --- money as CSV text ----------------------------------------------------------------------
def _csv_money_reference(x: Decimal) -> str:
    """`csv_money` as it was: round to the cent, never '-0.00', two decimals."""
    rounded = x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{rounded if rounded else Decimal('0.00'):.2f}"


amounts = st.decimals(allow_nan=False, allow_infinity=False, places=2,
                      min_value=Decimal("-1e15"), max_value=Decimal("1e15")) | \
    st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal("-1e9"),
                max_value=Decimal("1e9")) | \
    st.sampled_from([Decimal("-0.00"), Decimal("0.00"), Decimal("0"), Decimal("-0"),
                     Decimal("0.005"), Decimal("-0.005"), Decimal("1E+3"), Decimal("1.5E-7"),
                     Decimal("12.3"), Decimal("12.30"), Decimal("12.300"),
                     Decimal("99999999999999999999999.99"), Decimal("-1.00E+2")])


@settings(max_examples=500, deadline=None)
@given(amounts)
def test_csv_money_equals_rounding_to_the_cent(x) -> None:
    assert csv_money(x) == _csv_money_reference(x)


def test_csv_money_of_special_values_behaves_as_before() -> None:
    assert csv_money(Decimal("NaN")) == _csv_money_reference(Decimal("NaN"))
    for odd in (Decimal("sNaN"), Decimal("1" * 30 + ".00")):  # too long for the context
        with pytest.raises(ArithmeticError):
            _csv_money_reference(odd)
        with pytest.raises(ArithmeticError):
            csv_money(odd)


# --- lineage parts from sources -------------------------------------------------------------
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10) | \
    st.sampled_from(['=HYPERLINK("x")<&>"', "a,b", 'say "hi"', "x\ny", "", " ", "100 %",
                     "%s %d", "Maßnahmen", "_x0041_", "\x01ctl", "€ ß 😀", "+1", "@A1"])
values = st.integers(min_value=-10**12, max_value=10**12) | amounts | st.none() | \
    st.booleans() | texts | st.floats(allow_nan=False, allow_infinity=False)
figures = st.sampled_from([STAFF, "honorar_gemeldet", "tn_gesamt", "ea_aktiv", "=x", "%s"])
sources = st.lists(st.builds(Source, figures, texts, texts, values), max_size=25)
keys = st.tuples(texts, st.integers(1, 9), st.integers(1, 4), texts, texts)


def _rows(key, items) -> list[Lineage]:
    ags, pj, q, datei, sha = key
    return [Lineage(s.kennzahl, ags, pj, q, datei, sha, s.blatt, s.zelle, s.wert)
            for s in items]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(keys, sources), max_size=4))
def test_a_part_renders_to_the_csv_lines_of_its_rows(parts) -> None:
    fast, general = CsvRows(), CsvRows()
    for key, items in parts:
        assert fast.render(Part(key, items)) == general.render(_rows(key, items))
        assert fast.render(Part(key, rows=_rows(key, items))) == \
            _render_rows(_rows(key, items), {})


def _styles() -> _Styles:
    book = Book(io.BytesIO(), "Test", CREATED)
    table_frame(book, "Herkunft", audit_lineage.COLS, 1)
    return _Styles(book)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(keys, sources), max_size=4), texts)
def test_a_part_renders_to_the_sheet_xml_of_its_rows(parts, hint) -> None:
    s = _styles()
    fast = _Rows(hint)
    for key, items in parts:
        ours = b"".join(fast.chunks(Part(key, items), s))
        theirs = "".join(_chunks(_rows(key, items), s, hint)).encode("utf-8")
        assert ours == theirs


def test_a_long_part_is_cut_into_chunks(monkeypatch) -> None:
    monkeypatch.setattr(audit_lineage, "CHUNK_ROWS", 3)
    key = ("06431901", 1, 2, "a.xlsx", "ab" * 32)
    items = [Source(STAFF, "Personal", f"F{i}", Decimal(i) / 100) for i in range(8)]
    chunks = list(_Rows("h").chunks(Part(key, items), _styles()))
    assert [c.count(b"<row>") for c in chunks] == [3, 3, 2]  # rows carry no number
    assert b"".join(chunks) == "".join(_chunks(_rows(key, items), _styles(), "h")).encode()


def test_a_number_excel_cannot_store_is_refused_alike() -> None:
    key = ("06431901", 1, 2, "a.xlsx", "ab" * 32)
    for bad in (Decimal("NaN"), Decimal("Infinity"), 10**400):
        with pytest.raises((ValueError, OverflowError)) as ours:
            list(_Rows("h").chunks(Part(key, [Source("x", "B", "C1", bad)]), _styles()))
        with pytest.raises((ValueError, OverflowError)) as theirs:
            list(_chunks(_rows(key, [Source("x", "B", "C1", bad)]), _styles(), "h"))
        assert type(ours.value) is type(theirs.value)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.builds(Source, figures, texts, texts, values), max_size=40),
       st.permutations(["tn_gesamt", STAFF, "%s", "honorar_gemeldet"]))
def test_figure_order_by_buckets_is_the_stable_sort(items, names) -> None:
    order = {name: i for i, name in enumerate(names)}
    ordered, first = _in_figure_order(items, order)
    assert ordered == sorted((s for s in items if s.kennzahl in order),
                             key=lambda s: order[s.kennzahl])
    key = ("1", 1, 1, "f", "h")
    assert first == Part(key, ordered).first_rows() == Part(key, ordered, first=first) \
        .first_rows()


def test_a_segment_keeps_the_key_and_the_rows() -> None:
    key = ("06431901", 1, 2, "a.xlsx", "ab" * 32)
    items = [Source("x", "B", f"C{i}", i) for i in range(5)]
    assert Part(key, items).segment(1, 4).rows == _rows(key, items)[1:4]
    assert Part(key, rows=_rows(key, items)).segment(2, 5).rows == _rows(key, items)[2:]


# --- cells a row at a time, rows a string at a time -----------------------------------------
ROW_VALUES = ["Text <&> \"x\"", Decimal("12.345"), 7, 2.5, None, True, date(2026, 3, 1),
              datetime(2026, 3, 1, 9, 30), "x" * 20_000, "", " lead", float("1e300"), -0.0,
              Decimal("-0.00"), 10**20]


def _table_book(worksheet_class, by_row: bool) -> bytes:
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {**OPTIONS, "in_memory": True})
    wb.worksheet_class = worksheet_class
    bold = wb.add_format({"bold": True})
    money = wb.add_format({"num_format": "0.00"})
    dated = wb.add_format({"num_format": "dd.mm.yyyy"})
    fmts = [bold, money, None, money, bold, None, dated, dated, bold, None, bold, money,
            money, None, money]
    ws = wb.add_worksheet("Eins")
    ws.set_column(2, 2, 12, money)
    ws.set_row(5, 30, bold)
    ws.set_row(40, 20)  # a row with attributes only
    for row in range(3, 38):
        values = ROW_VALUES[row % 5:] + ROW_VALUES[:row % 5]
        if by_row:
            put_row(ws, row, values, fmts)
        else:
            for col, (value, fmt) in enumerate(zip(values, fmts, strict=True)):
                put(ws, row, col, value, fmt)
    ws.merge_range(0, 1, 0, 3, "", bold)
    ws.write_string(0, 1, "Gruppe", bold)
    ws.write_url(50, 20, "internal:'Eins'!A1", money, string="Sprung")
    ws.write_number(50, 20, 3.5, money)
    ws.write_formula(51, 0, "=SUM(B1:B3)", money, 12.5)
    ws.write_rich_string(52, 1, "a ", bold, "fett", " b")
    other = wb.add_worksheet("Kommentar")  # comments: xlsxwriter's own row writer
    if by_row:
        put_row(other, 0, ["a", 1], [bold, money])
    else:
        put(other, 0, 0, "a", bold)
        put(other, 0, 1, 1, money)
    other.write_comment(0, 0, "Hinweis")
    wb.add_worksheet("Leer")
    wb.set_properties({"created": CREATED})
    wb.close()
    return buffer.getvalue()


def test_rows_at_a_time_write_xlsxwriters_bytes() -> None:
    reference = _table_book(Worksheet, by_row=False)
    assert _table_book(Worksheet, by_row=True) == reference
    assert _table_book(FastSheet, by_row=False) == reference
    assert _table_book(FastSheet, by_row=True) == reference


def test_put_row_refuses_what_put_refuses() -> None:
    wb = xlsxwriter.Workbook(io.BytesIO(), {**OPTIONS, "in_memory": True})
    wb.worksheet_class = FastSheet
    ws = wb.add_worksheet()
    with pytest.raises(ValueError, match="außerhalb"):
        put_row(ws, 1_048_576, ["a"], [None])
    with pytest.raises(ValueError):
        put_row(ws, 0, ["a", "b"], [None])
    for bad in (math.nan, math.inf, Decimal("NaN")):
        with pytest.raises((TypeError, ValueError)):
            put(ws, 1, 0, bad)
        with pytest.raises((TypeError, ValueError)):
            put_row(ws, 1, [bad], [None])
    put_row(ws, 2, [None, None], [None, None])  # nothing written: no row, no dimension
    assert 2 not in ws.table and ws.dim_rowmax is None


def test_a_table_with_and_without_wrapped_columns_writes_the_same_as_cell_by_cell() -> None:
    def book(fast: bool) -> bytes:
        buffer = io.BytesIO()
        b = Book(buffer, "Test", CREATED)
        if not fast:
            b.wb.worksheet_class = Worksheet
        for wrap in ("wrap", "text"):
            table = Table([Col("A", 8), Col("B", 10, wrap, "g"), Col("C", 9, "money", "g"),
                           Col("D", 5, "int")])
            for i in range(40):
                table.add([f"Zeile {i}", "lang " * (i % 7) + "\nx" * (i % 3),
                           Decimal(i) / 7, i], total=i % 9 == 0)
            write_table(b, f"T {wrap}", table, freeze_cols=1)
        b.close()
        return buffer.getvalue()

    assert book(fast=True) == book(fast=False)


# --- the audit frame, stored ----------------------------------------------------------------
def test_a_stored_frame_gives_the_bytes_of_a_deflated_one(tmp_path) -> None:
    def write(path, stored: bool) -> None:
        frame = io.BytesIO()
        book = Book(frame, "Test", CREATED)
        ws, _ = table_frame(book, "Daten", [Col("Text", 20)], 2)
        other = book.wb.add_worksheet("Andere")
        put_row(other, 0, ["x" * 500, 1.5], [book.f["bold"], book.f["money"]])
        t = xlsxstream.style(book.fmt("text"))

        def rows():
            yield f'<row r="2"><c r="A2"{t} t="inlineStr">{xlsxstream.inline("a")}</c></row>'
            yield f'<row r="3"><c r="A3"{t} t="inlineStr">{xlsxstream.inline("b")}</c></row>'

        if stored:
            with xlsxstream.stored_frame():
                book.close()
            with zipfile.ZipFile(io.BytesIO(frame.getvalue())) as z:
                assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}
        else:
            book.close()
        xlsxstream.finish(frame.getvalue(), path, book.wb,
                          [xlsxstream.StreamedSheet(ws, 3, 0, rows)])

    write(tmp_path / "stored.xlsx", stored=True)
    write(tmp_path / "deflated.xlsx", stored=False)
    assert (tmp_path / "stored.xlsx").read_bytes() == (tmp_path / "deflated.xlsx").read_bytes()
    assert xlsxwriter.workbook.ZIP_DEFLATED == zipfile.ZIP_DEFLATED  # put back


def test_the_lineage_module_keeps_its_generic_entry_points() -> None:
    """herkunft.csv of rows (tests and `lineage`) still renders through `_render_rows`."""
    rows = _rows(("1", 1, 1, "f", "h"), [Source("x", "B", "C1", Decimal("1.5"))])
    assert lineage.render_lineage(rows).endswith(b"x,1,1,1,f,h,B,C1,1.50\n")
