"""Every submission rule against a workbook with exactly one deliberate mistake."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pipeline.findings import Severity
from pipeline.read.refs import parse_cell
from pipeline.template import Identity
from pipeline.template.model import Formula
from pipeline.template.sample import MUSTERSTADT, valid_data
from tests.support import check, only, rules_of

Q4 = Identity("06431901", "Musterstadt", 1, 4)


def _receipts(**changes):
    rows = [dict(r) for r in valid_data(MUSTERSTADT).rows["tblBelege"]]
    for index, values in changes.items():
        rows[int(index[1:])].update(values)
    return {"tblBelege": rows}


def _staff(extra=None, **changes):
    rows = [dict(r) for r in valid_data(MUSTERSTADT).rows["tblPersonal"]]
    rows[0].update(changes)
    return {"tblPersonal": rows + ([extra] if extra else [])}


def test_valid_workbook_has_no_findings(make_workbook):
    checked = check(make_workbook())
    assert checked.readable
    assert checked.findings == []
    sub = checked.submission
    assert (sub.ags, sub.projektjahr, sub.quartal) == ("06431901", 1, 2)


def test_gender_breakdown_must_add_up(make_workbook):
    f = only(check(make_workbook(values={"TN_WEIBLICH": 6})), "SUMME")
    assert f.schwere is Severity.ERROR and f.blatt == "Angaben"
    # 6 + 6 + 0 + 1 = 13 against TN_GESAMT 12, located at TN_GESAMT's cell
    assert "ergibt 13" in f.meldung and "stehen aber 12" in f.meldung
    assert "Geschlecht" in f.meldung


@pytest.mark.parametrize("values, at", [
    ({"TN_SPRACHKURS": 13}, "TN_SPRACHKURS"),
    ({"WIRK_HILFREICH": 9}, "WIRK_HILFREICH"),
    ({"BERATUNGEN": 11}, "BERATUNGEN"),
])
def test_of_which_limits(make_workbook, values, at):
    checked = check(make_workbook(values=values))
    f = only(checked, "DAVON")
    assert at in f.meldung


def test_payment_after_quarter_says_where_it_belongs(make_workbook):
    # MUSTERSTADT is PJ1 Q2 = 01.01.2026–31.03.2026; a payment on 12.04.2026 belongs to PJ1 Q3
    checked = check(make_workbook(rows=_receipts(r1={"Zahlungsdatum": date(2026, 4, 12)})))
    f = only(checked, "DATUM_QUARTAL")
    assert "12.04.2026" in f.meldung and "31.03.2026" in f.meldung
    assert "PJ1 Q3" in f.meldung
    assert f.blatt == "Belege" and parse_cell(f.zelle)[1] == 4  # column D: Zahlungsdatum


def test_date_outside_project_period(make_workbook):
    checked = check(make_workbook(rows=_receipts(r0={"Belegdatum": date(2025, 9, 1)})))
    f = only(checked, "DATUM_QUARTAL")
    assert "Projektzeitraums" in f.meldung and "01.09.2025" in f.meldung


def test_receipt_dated_after_payment(make_workbook):
    rows = _receipts(r0={"Belegdatum": date(2026, 1, 20), "Zahlungsdatum": date(2026, 1, 16)})
    f = only(check(make_workbook(rows=rows)), "ZEILE_VERGLEICH")
    assert "20.01.2026" in f.meldung and "16.01.2026" in f.meldung


def test_participants_of_measure_above_total(make_workbook):
    rows = [dict(r) for r in valid_data(MUSTERSTADT).rows["tblMassnahmen"]]
    rows[0]["DavonDSA"] = rows[0]["Teilnehmende"] + 1
    f = only(check(make_workbook(rows={"tblMassnahmen": rows})), "ZEILE_VERGLEICH")
    assert "DavonDSA" in f.meldung


def test_duplicate_receipt_number_in_workbook(make_workbook):
    first = valid_data(MUSTERSTADT).rows["tblBelege"][0]["Belegnummer"]
    f = only(check(make_workbook(rows=_receipts(r2={"Belegnummer": first}))), "WERT_DOPPELT")
    assert first in f.meldung and f.schwere is Severity.ERROR


def test_more_than_one_post_per_month(make_workbook):
    first = valid_data(MUSTERSTADT).rows["tblPersonal"][0]
    extra = {**first, "Person": "AB", "Stellenanteil": Decimal("0.5"),
             "Arbeitgeberbrutto": Decimal("2000.00"), "Projektanteil": Decimal(50)}
    f = only(check(make_workbook(rows=_staff(extra))), "STELLE_MAX")
    assert "1,25" in f.meldung  # 1 × 100 % + 0,5 × 50 % = 1,25 posts
    assert "01/2026" in f.meldung


def test_monthly_staff_cost_above_cap_warns(make_workbook):
    # cap 65.888,69 / 12 = 5.490,72; +10 % = 6.039,79; 6.100,00 per full post is above
    checked = check(make_workbook(rows=_staff(Arbeitgeberbrutto=Decimal("6100.00"))))
    f = only(checked, "PERSONAL_MONAT_HOCH")
    assert f.schwere is Severity.WARNING and "5.490,72" in f.meldung
    assert check(make_workbook(rows=_staff(Arbeitgeberbrutto=Decimal("6039.00")))).findings == []


def test_month_not_first_day(make_workbook):
    f = only(check(make_workbook(rows=_staff(Monat=date(2026, 1, 15)))), "MONAT_ERSTER")
    assert f.schwere is Severity.WARNING and "15.01.2026" in f.meldung


@pytest.mark.parametrize("changes, expected", [
    ({"Stellenanteil": Decimal("1.5")}, "höchstens 1"),
    ({"Stufe": 7}, "von 1 bis 6"),
    ({"Projektanteil": Decimal(120)}, "von 0 bis 100"),
])
def test_ranges(make_workbook, changes, expected):
    f = only(check(make_workbook(rows=_staff(**changes))), "BEREICH")
    assert expected in f.meldung


def test_negative_count(make_workbook):
    checked = check(make_workbook(values={"TN_DIVERS": -1, "TN_OHNE_ANGABE": 2}))
    assert "BEREICH" in rules_of(checked)


def test_text_in_number_field(make_workbook):
    f = only(check(make_workbook(values={"EA_NEU": "drei"})), "TYP")
    assert "„drei“" in f.meldung and "ganze Zahl" in f.meldung


def test_fraction_in_integer_field(make_workbook):
    f = only(check(make_workbook(values={"EA_NEU": 2.5})), "TYP")
    assert "ganze Zahl" in f.meldung


def test_required_field_missing(make_workbook):
    f = only(check(make_workbook(values={"ANSPRECHPERSON": None})), "PFLICHTFELD")
    assert "ANSPRECHPERSON" in f.meldung


def test_narrative_required_in_q4_only(make_workbook):
    checked = check(make_workbook(identity=Q4, values={"SB_AUSBLICK": None}))
    f = only(checked, "SACHBERICHT_Q4")
    assert f.blatt == "Sachbericht"
    assert check(make_workbook(values={"SB_AUSBLICK": None})).findings == []


def test_declaration_must_be_yes(make_workbook):
    f = only(check(make_workbook(values={"ERKL_BESTAETIGT": "nein"})), "ERKLAERUNG")
    assert "„nein“" in f.meldung
    assert "ERKLAERUNG" in rules_of(check(make_workbook(values={"ERKL_BESTAETIGT": None})))


def test_list_value(make_workbook):
    f = only(check(make_workbook(rows=_receipts(r2={"Kostenart": "Sachkosten"}))), "LISTE")
    assert "Sachkosten" in f.meldung and "Honorar, Ehrenamt" in f.meldung


def test_list_value_case_and_spaces_are_forgiven(make_workbook):
    assert check(make_workbook(rows=_receipts(r0={"Kostenart": " honorar "}))).findings == []


def test_text_too_long(make_workbook):
    f = only(check(make_workbook(rows=_staff(Person="A" * 11))), "TEXT_ZU_LANG")
    assert "11 Zeichen" in f.meldung


def test_email_format_warns(make_workbook):
    f = only(check(make_workbook(values={"EMAIL": "keine-adresse"})), "EMAIL_FORMAT")
    assert f.schwere is Severity.WARNING


def test_formula_without_cached_value_asks_for_the_number(make_workbook):
    checked = check(make_workbook(values={"TN_DIVERS": Formula("1-1")}))
    f = only(checked, "FORMEL_OHNE_WERT")
    assert f.schwere is Severity.ERROR and "1-1" in f.meldung


def test_formula_with_cached_value_is_used_with_a_note(make_workbook):
    checked = check(make_workbook(values={"TN_DIVERS": Formula("1-1", 0)}))
    f = only(checked, "FORMEL_WERT")
    assert f.schwere is Severity.NOTE
    assert checked.submission.get("TN_DIVERS") == 0
    assert checked.errors == 0


def test_amount_as_text_is_read_with_a_note(make_workbook):
    checked = check(make_workbook(rows=_receipts(r0={"Betrag": "1.234,56 €"})))
    f = only(checked, "ZAHL_ALS_TEXT")
    assert f.schwere is Severity.NOTE and "1.234,56" in f.meldung
    row = checked.submission.tables["tblBelege"][0]
    assert row.values["Betrag"].value == Decimal("1234.56")


def test_unknown_ags(make_workbook):
    f = only(check(make_workbook(), known_ags=frozenset({"06431902"})), "AGS_UNBEKANNT")
    assert "06431901" in f.meldung


def test_row_typed_below_table_is_read(make_workbook, tmp_path):
    """LibreOffice does not grow Excel tables: a row typed right under one still counts."""
    import openpyxl

    path = make_workbook()
    wb = openpyxl.load_workbook(path)
    ws = wb["Maßnahmen"]
    table = ws.tables["tblMassnahmen"]
    last_row = int(table.ref.split(":")[1].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    first_col = openpyxl.utils.column_index_from_string(table.ref[0])
    row = [date(2026, 2, 20), "Begegnung", "Frühlingsfest", "Öffentlichkeit", 40, 25]
    for offset, value in enumerate(row):
        ws.cell(row=last_row + 1, column=first_col + offset, value=value)
    ws.cell(row=last_row + 1, column=first_col).number_format = "DD.MM.YYYY"
    out = tmp_path / "below.xlsx"
    wb.save(out)
    checked = check(out)
    f = only(checked, "ZEILE_AUSSERHALB")
    assert f.schwere is Severity.NOTE and str(last_row + 1) in f.meldung
    rows = checked.submission.tables["tblMassnahmen"]
    assert rows[-1].values["Titel"].value == "Frühlingsfest"
    assert rows[-1].values["Teilnehmende"].value == 40
