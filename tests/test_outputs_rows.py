"""Sealed tables (rows rendered to XML when added, `xlsxrows`) write xlsxwriter's bytes;
the quicker ministry helpers compute what the code they replace computed."""

from __future__ import annotations

import enum
import io
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import openpyxl
import pytest
import xlsxwriter
import xlsxwriter.workbook
from hypothesis import given, settings
from hypothesis import strategies as st
from xlsxwriter.worksheet import Worksheet

from pipeline.aggregate import TOTAL
from pipeline.outputs import ministry_people, tables
from pipeline.outputs.tables import Col, Table, row_height, write_table
from pipeline.outputs.xlsxkit import LARGE_MEMBER, OPTIONS, Book, FastSheet, put
from pipeline.outputs.xlsxrows import render_rows, serial
from pipeline.rules.cells import canonical_choice

CREATED = datetime(2026, 1, 1)


class Level(enum.IntEnum):
    HIGH = 3


class Label(str):
    pass


ODD = ["Text <&> \"x\"", Decimal("12.345"), 7, 2.5, None, True, False, date(2026, 3, 1),
       datetime(2026, 3, 1, 9, 30), datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
       "x" * 20_000, "😀" * 17_000, "", " lead", float("1e300"), -0.0, Decimal("-0.00"),
       10**20, Level.HIGH, Label("sub"), timedelta(days=1), b"bytes", "_x0041_\x01"]
FORMATS = ["text", "money", "int", "wrap", "date", "pct", "count"]


def _book(tables: list[tuple[list[Col], list[list[object]], set[int]]], sealed: bool,
          fast: bool = True, extra_sheet: bool = True) -> bytes:
    buffer = io.BytesIO()
    book = Book(buffer, "Test", CREATED)
    if not fast:
        book.wb.worksheet_class = Worksheet
    if extra_sheet:  # formats and strings numbered before the tables
        ws = book.wb.add_worksheet("Vorab")
        put(ws, 0, 0, "Zeile 3", book.fmt("text", bg_color="#FFC7CE"))
        put(ws, 1, 0, Decimal("1.5"), book.f["money_bold"])
    for n, (cols, rows, bold) in enumerate(tables):
        table = Table(cols)
        for i, values in enumerate(rows):
            table.add(values, total=i in bold)
        write_table(book, f"T{n}", table, freeze_cols=n % 3, sealed=sealed)
    book.close()
    return buffer.getvalue()


def _columns(n: int, grouped: bool) -> list[Col]:
    return [Col(f"Spalte {i}", 5 + i, FORMATS[i % len(FORMATS)],
                f"G{i // 3}" if grouped and i % 4 else "") for i in range(n)]


def test_odd_values_render_as_put_writes_them() -> None:
    cols = _columns(len(ODD), grouped=True)
    rows = [ODD[i:] + ODD[:i] for i in range(len(ODD))]
    tables = [(cols, rows, {0, 5, 7}), (cols[:3], [r[:3] for r in rows], set())]
    reference = _book(tables, sealed=False, fast=False)
    assert _book(tables, sealed=False) == reference
    assert _book(tables, sealed=True) == reference


def test_tables_of_many_rows_with_heights_and_spans() -> None:
    cols = _columns(9, grouped=False)
    rows = [[f"Text {i % 13}", Decimal(i) / 7, i, "lang " * (i % 11) + "\nx" * (i % 3),
             date(2026, 1, 1) + timedelta(days=i % 40), i / 1000, i * 3, f"t{i}", None]
            for i in range(300)]
    tables = [(cols, rows, {i for i in range(300) if i % 17 == 0}),
              (cols[:1], [[r[0]] for r in rows[:20]], {0}),
              (cols, [], set())]
    assert _book(tables, sealed=True) == _book(tables, sealed=False, fast=False)


cell_values = st.none() | st.booleans() | st.integers(-10**15, 10**15) | \
    st.decimals(allow_nan=False, allow_infinity=False, places=2,
                min_value=Decimal("-1e12"), max_value=Decimal("1e12")) | \
    st.floats(allow_nan=False, allow_infinity=False) | \
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8) | \
    st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 1, 1))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.data())
def test_random_tables_write_xlsxwriters_bytes(width, data) -> None:
    cols = _columns(width, grouped=data.draw(st.booleans()))
    rows = data.draw(st.lists(st.lists(cell_values, min_size=width, max_size=width),
                              max_size=40))
    bold = set(data.draw(st.lists(st.integers(0, 45), max_size=5)))
    first = (cols, rows, bold)
    second = (cols[:1], [r[:1] for r in rows[::-1]], {1})
    tables = [first, second]
    extra = data.draw(st.booleans())
    assert _book(tables, sealed=True, extra_sheet=extra) == \
        _book(tables, sealed=False, fast=False, extra_sheet=extra)


def test_a_write_into_a_sealed_table_is_refused_at_close() -> None:
    book = Book(io.BytesIO(), "Test", CREATED)
    table = Table([Col("A"), Col("B", fmt="money")])
    table.add(["a", Decimal(1)])
    ws = write_table(book, "T", table, sealed=True)
    ws.write_number(1, 1, 2.0)
    with pytest.raises(RuntimeError, match="doppelt"):
        book.close()


def test_sealed_rows_refuse_what_put_refuses() -> None:
    for bad in (float("nan"), Decimal("Infinity")):
        book = Book(io.BytesIO(), "Test", CREATED)
        table = Table([Col("A"), Col("B", fmt="money")])
        table.add(["a", bad])
        with pytest.raises((TypeError, ValueError)):
            write_table(book, "T", table, sealed=True)


def test_many_formats_numbered_when_made_write_xlsxwriters_bytes() -> None:
    """A plain xlsxwriter workbook whose formats are numbered when made (as Book does),
    more formats than rows use, some used first in bold rows."""
    def book(sealed: bool, worksheet_class=FastSheet) -> bytes:
        buffer = io.BytesIO()
        wb = xlsxwriter.Workbook(buffer, {**OPTIONS, "in_memory": True})
        wb.worksheet_class = worksheet_class
        head = wb.add_worksheet("Vorher")
        head.write_string(0, 0, "x", wb.add_format({"italic": True}))
        fmts = [wb.add_format({"font_size": 8 + i % 20, "bold": i % 2 == 0}) for i in range(40)]
        for fmt in fmts:
            fmt._get_xf_index()
        ws = wb.add_worksheet("Block")
        rows = [[f"t{(r * 7 + c) % 23}" if c % 3 else r * c for c in range(20)]
                for r in range(30)]
        plain, strong = fmts[20:], fmts[:20][::-1]
        bold = {0, 3, 17}
        if sealed:
            ws.add_block(render_rows(ws, 2, rows, plain, strong, bold))
        else:
            for i, values in enumerate(rows):
                for col, value in enumerate(values):
                    put(ws, 2 + i, col, value, (strong if i in bold else plain)[col])
        wb.set_properties({"created": CREATED})
        wb.close()
        return buffer.getvalue()

    assert book(sealed=True) == book(sealed=False, worksheet_class=Worksheet)


def test_a_format_not_numbered_yet_is_refused() -> None:
    """Its number would only be known at close: sealed rows need it now."""
    wb = xlsxwriter.Workbook(io.BytesIO(), {**OPTIONS, "in_memory": True})
    wb.worksheet_class = FastSheet
    ws = wb.add_worksheet("Block")
    fmt = wb.add_format({"bold": True})
    with pytest.raises(ValueError, match="numbered"):
        render_rows(ws, 0, [["a"]], [fmt], [fmt], set())


def test_date_serials_are_xlsxwriters() -> None:
    ws = xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True}).add_worksheet()
    days = [date(1900, 1, 1), date(1900, 2, 28), date(1900, 3, 1), date(1970, 1, 1),
            date(2026, 5, 15), date(9999, 12, 31)]
    days += [date(1900, 3, 1) + timedelta(days=n) for n in range(0, 3_000_000, 9_973)
             if date(1900, 3, 1).toordinal() + n <= date.max.toordinal()]
    for day in days:
        moment = datetime(day.year, day.month, day.day)
        assert serial(ws, day) == f"{ws._convert_date_time(moment):.16G}"
    moment = datetime(2026, 5, 15, 13, 45, 10, tzinfo=UTC)
    assert serial(ws, moment) == f"{ws._convert_date_time(moment.replace(tzinfo=None)):.16G}"
    other = xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True, "date_1904": True})
    ws1904 = other.add_worksheet()
    assert serial(ws1904, date(2026, 5, 15)) == \
        f"{ws1904._convert_date_time(datetime(2026, 5, 15)):.16G}" != serial(ws, date(2026, 5, 15))


def test_row_height_counts_the_lines_of_wrapped_text() -> None:
    cols = [Col("A", 11, "wrap"), Col("B", 5, "text"), Col("C", 3, "wrap")]
    # A: 10 characters a line; C: 2. B does not wrap unless every column is asked for.
    assert row_height(["x" * 10, "y" * 50, None], cols) is None  # one line each
    assert row_height(["x" * 25, "", 5], cols) == 3 * tables.LINE_HEIGHT
    assert row_height(["x" * 3 + "\n" + "x" * 11 + "\n", "", "ab"], cols) == 4 * 15.0
    assert row_height(["", "", "abcde"], cols) == 3 * 15.0
    assert row_height(["", "y" * 17, ""], cols, every=True) == 5 * 15.0  # 4 per line
    assert row_height(["x" * 10_000, "", ""], cols) == tables.MAX_ROW_HEIGHT
    with pytest.raises(ValueError):
        row_height(["a"], cols)


def test_a_book_written_to_a_file_is_reproducible_and_puts_zipfile_back(tmp_path) -> None:
    def write(path) -> bytes:
        book = Book(path, "Test", CREATED)
        table = Table([Col("Text"), Col("Zahl", fmt="money")])
        table.extend([[f"Zeile {i % 50}", Decimal(i) / 8] for i in range(5_000)])
        write_table(book, "Daten", table, sealed=True)
        book.close()
        return path.read_bytes()

    first = write(tmp_path / "a.xlsx")
    assert write(tmp_path / "b.xlsx") == first
    assert xlsxwriter.workbook.ZipFile is zipfile.ZipFile
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:
        sheet = z.getinfo("xl/worksheets/sheet1.xml")
        assert sheet.file_size > LARGE_MEMBER and sheet.compress_size < sheet.file_size / 5
        assert z.testzip() is None
    assert openpyxl.load_workbook(tmp_path / "a.xlsx")["Daten"]["A5001"].value == "Zeile 49"


FORMATS_OF_MEASURES = ["Kurs", "Beratung", "kurs", "Infoabend"]


def _counts_reference(measures, formats):
    """The per-key grouping `_measure_counts` replaced: every measure into four keys."""
    grouped: dict = {}
    for values in measures.rows:
        kind = canonical_choice(str(values[measures.column("Format")] or ""), tuple(formats))
        dsa = int(values[measures.column("DavonDSA")] or 0) \
            if values[measures.column("Teilnehmende")] is not None else 0
        for key in ((values[0], values[2]), (values[0], None), (TOTAL, values[2]),
                    (TOTAL, None)):
            grouped.setdefault(key, []).append((kind, dsa))
    return {key: [[k for k, _d in rows].count(f) for f in formats] + [sum(d for _k, d in rows)]
            for key, rows in grouped.items()}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["06431901", "06431902"]), st.integers(1, 3),
                          st.sampled_from([*FORMATS_OF_MEASURES, " kurs ", "x", None, ""]),
                          st.none() | st.integers(0, 30), st.none() | st.integers(0, 9)),
                max_size=30))
def test_measure_counts_by_format_and_level(items) -> None:
    names = ["Format", "Teilnehmende", "DavonDSA"]
    measures = ministry_people.Measures(names, [[ags, "P", pj, 1, kind, people, dsa]
                                                for ags, pj, kind, people, dsa in items])
    view = SimpleNamespace(spec=SimpleNamespace(roles={"measure_participants": "Teilnehmende"}))
    got = ministry_people._measure_counts(view, measures, FORMATS_OF_MEASURES)
    assert got == _counts_reference(measures, FORMATS_OF_MEASURES)
