"""What clerks type, and how the reader copes: one test per quirk."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pipeline.read.coerce import coerce, parse_date_text, parse_decimal_text, serial_to_date
from pipeline.template.sample import MUSTERSTADT, valid_data
from pipeline.xlsx.model import RawCell
from tests.support import check, only


@pytest.mark.parametrize("text, expected", [
    ("1.234,56", "1234.56"),
    ("1.234,56 €", "1234.56"),
    ("1234,56", "1234.56"),
    ("1234.56", "1234.56"),
    ("1,234.56", "1234.56"),
    (" 480 EUR ", "480"),
    ("\u00a01\u00a0234,50\u00a0€", "1234.50"),
    ("1.500", "1500"),          # German thousands separator
    ("1.234.567,89", "1234567.89"),
    ("-12,50", "-12.50"),
])
def test_amounts_typed_as_text(text, expected):
    value, _ = parse_decimal_text(text)
    assert value == Decimal(expected)


@pytest.mark.parametrize("text", ["zwölf", "12 Euro 50", "", "1,2,3.4.5x"])
def test_text_that_is_no_amount(text):
    assert parse_decimal_text(text)[0] is None


@pytest.mark.parametrize("text, expected", [
    ("01.02.2026", date(2026, 2, 1)),
    ("1.2.2026", date(2026, 2, 1)),
    ("01.02.26", date(2026, 2, 1)),
    ("2026-02-01", date(2026, 2, 1)),
    ("2026-02-01T00:00:00", date(2026, 2, 1)),
    (" 15/01/2026 ", date(2026, 1, 15)),
])
def test_dates_typed_as_text(text, expected):
    assert parse_date_text(text) == expected


@pytest.mark.parametrize("text", ["31.02.2026", "Januar", "2026"])
def test_text_that_is_no_date(text):
    assert parse_date_text(text) is None


def test_serial_numbers_in_both_date_systems():
    assert serial_to_date(Decimal(46023), date1904=False) == date(2026, 1, 1)
    assert serial_to_date(Decimal(44561), date1904=True) == date(2026, 1, 1)
    assert serial_to_date(Decimal(0), date1904=False) is None


def _cell(kind, text, formula=None, has_value=True):
    return RawCell("B2", 2, 2, kind, text, formula, has_value)


def test_float_noise_is_removed_from_decimals():
    v = coerce(_cell("n", "0.30000000000000004"), "S", "B2", "decimal", False)
    assert v.value == Decimal("0.3")


def test_money_becomes_cents():
    v = coerce(_cell("n", "1234.5599999999999"), "S", "B2", "money", False)
    assert v.value == Decimal("1234.56") and isinstance(v.value, Decimal)


def test_excel_error_value_is_a_problem():
    v = coerce(_cell("e", "#DIV/0!"), "S", "B2", "int", False)
    assert v.problem == "excel_error"


def test_stray_spaces_in_text():
    v = coerce(_cell("s", "  Erika   Mustermann "), "S", "B2", "text", False)
    assert v.value == "Erika Mustermann"


def test_ags_that_lost_its_leading_zero():
    v = coerce(_cell("n", "6431901"), "S", "B2", "ags", False)
    assert v.value == "06431901"


def test_dates_as_text_and_serials_in_a_workbook(make_workbook):
    rows = [dict(r) for r in valid_data(MUSTERSTADT).rows["tblBelege"]]
    paid0, paid1 = rows[0]["Zahlungsdatum"], rows[1]["Zahlungsdatum"]
    rows[0]["Zahlungsdatum"] = paid0.strftime("%d.%m.%Y")
    rows[1]["Zahlungsdatum"] = (paid1 - date(1899, 12, 30)).days  # a bare serial number
    checked = check(make_workbook(rows={"tblBelege": rows}))
    receipts = checked.submission.tables["tblBelege"]
    assert receipts[0].values["Zahlungsdatum"].value == paid0
    assert receipts[1].values["Zahlungsdatum"].value == paid1
    assert only(checked, "ZAHL_ALS_TEXT").zelle == receipts[0].values["Zahlungsdatum"].cell
    assert checked.errors == 0


def test_blank_rows_inside_a_table_are_skipped(make_workbook):
    rows = [dict(r) for r in valid_data(MUSTERSTADT).rows["tblBelege"]]
    blank = {k: None for k in rows[0]}
    checked = check(make_workbook(rows={"tblBelege": [rows[0], blank, blank, *rows[1:]]}))
    receipts = checked.submission.tables["tblBelege"]
    assert [r.values["LfdNr"].value for r in receipts] == [1, 2, 3]
    assert receipts[1].number == receipts[0].number + 3
    assert checked.findings == []


def test_workbook_saved_by_libreoffice_reads_cleanly():
    """A file we did not write ourselves: generated, then re-saved by LibreOffice Calc
    (scripts/make_libreoffice_fixture.py). Shared strings, LibreOffice's own styles."""
    from pathlib import Path

    fixture = Path(__file__).parent / "fixtures" / "libreoffice_pj1_q2.xlsx"
    checked = check(fixture)
    assert checked.readable and checked.errors == 0, checked.findings
    expected = valid_data(MUSTERSTADT)
    sub = checked.submission
    assert sub.get("TN_GESAMT") == expected.values["TN_GESAMT"]
    assert sub.get("ERKL_DATUM") == expected.values["ERKL_DATUM"]
    receipts = sub.tables["tblBelege"]
    assert [r.values["Betrag"].value for r in receipts] == [
        r["Betrag"] for r in expected.rows["tblBelege"]]
    assert [r.values["Zahlungsdatum"].value for r in receipts] == [
        r["Zahlungsdatum"] for r in expected.rows["tblBelege"]]
