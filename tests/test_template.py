"""The workbook generator: names, tables, validations, protection, data, determinism,
and the LibreOffice round trip."""

from __future__ import annotations

import warnings
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest
from openpyxl.utils import range_boundaries

from pipeline.periods import Period, all_periods, deadline, german_date, quarter_end, quarter_start
from pipeline.spec import load_programme, load_template
from pipeline.template import (
    Formula,
    Identity,
    WorkbookData,
    build_templates,
    build_workbook,
    german,
    template_filename,
)
from pipeline.template.layout import TABLE_HEADER_ROW, TABLE_SPARE_ROWS
from pipeline.template.libreoffice import resave_with_libreoffice
from pipeline.template.sample import MUSTERSTADT, valid_data
from pipeline.template.validation import MAX_MESSAGE, MAX_TITLE, YES_VALUE

SPEC = load_template()
PROG = load_programme()
FIXTURE = Path(__file__).parent / "fixtures" / "libreoffice_pj1_q2.xlsx"
IDENTITY_PREFILLS = {"ags", "name", "projektjahr", "quartal"}


def excel_serial(day: date) -> int:
    return (day - date(1899, 12, 30)).days


def named_cell(wb: openpyxl.Workbook, name: str):
    ((sheet, ref),) = list(wb.defined_names[name].destinations)
    return wb[sheet][ref.replace("$", "")]


def validation_at(ws, coord: str):
    found = [dv for dv in ws.data_validations.dataValidation if coord in dv.sqref]
    assert len(found) == 1, f"{ws.title}!{coord}: {len(found)} validations"
    return found[0]


def table_rows(ws, name: str) -> list[dict[str, object]]:
    table = ws.tables[name]
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    rows = ws.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col)
    header, *body = [[c.value for c in row] for row in rows]
    return [dict(zip(header, row, strict=True)) for row in body]


@pytest.fixture(scope="module")
def prefilled(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("prefilled") / template_filename(MUSTERSTADT)
    return build_workbook(path, MUSTERSTADT)


@pytest.fixture(scope="module")
def wb(prefilled: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(prefilled)


# ---------------------------------------------------------------- structure


def assert_structure(wb: openpyxl.Workbook) -> None:
    """Names and tables exactly as the contract says (also after a LibreOffice re-save)."""
    assert wb.sheetnames == [s.name for s in SPEC.sheets]
    assert set(wb.defined_names) == {f.name for f in SPEC.fields}
    for field in SPEC.fields:
        destinations = list(wb.defined_names[field.name].destinations)
        assert len(destinations) == 1, field.name
        sheet, ref = destinations[0]
        assert sheet == field.sheet, field.name
        assert ":" not in ref, f"{field.name} points at a range: {ref}"
    for table in SPEC.tables:
        ws = wb[table.sheet]
        assert table.name in ws.tables, table.name
        found = ws.tables[table.name]
        assert [c.name for c in found.tableColumns] == [c.name for c in table.columns]
        assert not found.totalsRowCount
        min_col, min_row, *_ = range_boundaries(found.ref)
        assert (min_col, min_row) == (1, TABLE_HEADER_ROW + 1)
        header = next(ws.iter_rows(min_row=min_row, max_row=min_row, values_only=True))
        assert list(header[: len(table.columns)]) == [c.name for c in table.columns]


def test_names_and_tables_follow_the_contract(wb):
    assert_structure(wb)


def test_tables_are_as_long_as_the_spec_says(wb):
    for table in SPEC.tables:
        _, min_row, _, max_row = range_boundaries(wb[table.sheet].tables[table.name].ref)
        assert max_row - min_row == table.rows


def test_identity_is_prefilled_and_locked(wb):
    expected = {
        "template_id": SPEC.id,
        "template_version": SPEC.version,
        "ags": MUSTERSTADT.ags,
        "name": MUSTERSTADT.name,
        "projektjahr": MUSTERSTADT.projektjahr,
        "quartal": MUSTERSTADT.quartal,
    }
    prefilled = [f for f in SPEC.fields if f.prefill]
    assert {f.prefill for f in prefilled} == set(expected)
    for field in prefilled:
        cell = named_cell(wb, field.name)
        assert cell.value == expected[field.prefill], field.name
        assert cell.protection.locked, field.name
    assert named_cell(wb, "PROJEKT_AGS").data_type == "s"  # keeps its leading zero


def test_input_cells_are_unlocked_and_fields_sheets_protected(wb):
    for field in SPEC.fields:
        if not field.prefill:
            assert not named_cell(wb, field.name).protection.locked, field.name
    kinds = {s.name: s.kind for s in SPEC.sheets}
    for name, kind in kinds.items():
        # Table sheets stay unprotected, or Excel could not grow the tables.
        assert wb[name].protection.sheet == (kind in ("fields", "narrative")), name


def test_blank_template_leaves_identity_editable(tmp_path):
    wb = openpyxl.load_workbook(build_workbook(tmp_path / template_filename(None), None))
    assert_structure(wb)
    for field in SPEC.fields:
        cell = named_cell(wb, field.name)
        if field.prefill in IDENTITY_PREFILLS:
            assert cell.value is None and not cell.protection.locked, field.name
        elif field.prefill:
            assert cell.value is not None and cell.protection.locked, field.name
    # Without a quarter, list dates may lie anywhere in the project period.
    dv = validation_at(wb["Belege"], "D5")
    assert (dv.formula1, dv.formula2) == (
        str(excel_serial(PROG.start)),
        str(excel_serial(PROG.end)),
    )


def test_two_builds_are_byte_identical(tmp_path):
    data = valid_data(MUSTERSTADT)
    first = build_workbook(tmp_path / "a.xlsx", MUSTERSTADT, data)
    second = build_workbook(tmp_path / "b.xlsx", MUSTERSTADT, data)
    assert first.read_bytes() == second.read_bytes()


def test_strings_never_become_formulas_or_links(make_workbook):
    path = make_workbook(values={"ANSPRECHPERSON": '=HYPERLINK("http://x.example","y")'})
    with zipfile.ZipFile(path) as zf:
        sheets = "".join(zf.read(n).decode() for n in zf.namelist() if "worksheets/" in n)
        assert "<f>" not in sheets and "hyperlink" not in sheets.lower()
    wb = openpyxl.load_workbook(path)
    assert named_cell(wb, "ANSPRECHPERSON").data_type == "s"


# ---------------------------------------------------------------- validations


def test_choice_columns_have_stopping_inline_lists(wb):
    for table in SPEC.tables:
        ws = wb[table.sheet]
        for i, column in enumerate(table.columns, start=1):
            if not column.choices:
                continue
            dv = validation_at(ws, ws.cell(TABLE_HEADER_ROW + 2, i).coordinate)
            assert dv.type == "list"
            assert dv.formula1 == '"' + ",".join(column.choices) + '"'
            assert dv.errorStyle in (None, "stop")


def test_yes_field_is_a_list_with_the_one_value(wb):
    for field in SPEC.fields:
        if field.type == "yes":
            dv = validation_at(wb[field.sheet], named_cell(wb, field.name).coordinate)
            assert (dv.type, dv.formula1) == ("list", f'"{YES_VALUE}"')


def test_numbers_and_dates_inform_instead_of_stopping(wb):
    """A clerk may keep "1.234,56" typed as text; the pipeline copes with it."""
    start, end = quarter_start(PROG, MUSTERSTADT.period), quarter_end(PROG, MUSTERSTADT.period)
    for table in SPEC.tables:
        ws = wb[table.sheet]
        for i, column in enumerate(table.columns, start=1):
            if column.type in ("int", "decimal", "money", "date"):
                dv = validation_at(ws, ws.cell(TABLE_HEADER_ROW + 2, i).coordinate)
                assert dv.errorStyle == "information", column.name
            if column.in_quarter:
                assert (dv.type, dv.formula1, dv.formula2) == (
                    "date",
                    str(excel_serial(start)),
                    str(excel_serial(end)),
                )
    dv = validation_at(wb["Angaben"], named_cell(wb, "PROJEKTJAHR").coordinate)
    field = SPEC.field("PROJEKTJAHR")
    assert (dv.type, dv.formula1, dv.formula2) == ("whole", str(field.min), str(field.max))


def test_every_input_cell_explains_itself(wb):
    for field in SPEC.fields:
        dv = validation_at(wb[field.sheet], named_cell(wb, field.name).coordinate)
        assert dv.promptTitle and len(dv.promptTitle) <= MAX_TITLE
        assert dv.prompt and len(dv.prompt) <= MAX_MESSAGE
        assert field.label.startswith(dv.promptTitle.rstrip("…"))


def test_validations_reach_below_the_table_so_added_rows_keep_them(make_workbook):
    many = valid_data(MUSTERSTADT).rows["tblBelege"] * 10  # longer than the spec's table
    wb = openpyxl.load_workbook(make_workbook(rows={"tblBelege": many}))
    ws = wb["Belege"]
    *_, last_row = range_boundaries(ws.tables["tblBelege"].ref)
    assert last_row == TABLE_HEADER_ROW + 1 + len(many)
    for i in range(1, len(SPEC.table("tblBelege").columns) + 1):
        for row in (TABLE_HEADER_ROW + 2, last_row, last_row + TABLE_SPARE_ROWS):
            validation_at(ws, ws.cell(row, i).coordinate)


def test_number_formats_are_german(wb):
    ws = wb["Personal"]
    table = SPEC.table("tblPersonal")
    formats = {
        c.name: ws.cell(TABLE_HEADER_ROW + 2, i).number_format
        for i, c in enumerate(table.columns, start=1)
    }
    assert formats["Monat"] == "DD.MM.YYYY"
    assert formats["Arbeitgeberbrutto"] == '#,##0.00 "€"'
    assert formats["Stellenanteil"] == "0.00"
    assert formats["Projektanteil"] == "0"
    assert named_cell(wb, "ERKL_DATUM").number_format == "DD.MM.YYYY"


def test_table_sheets_print_landscape_one_page_wide(wb):
    for table in SPEC.tables:
        ws = wb[table.sheet]
        assert ws.page_setup.orientation == "landscape"
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth in (None, 1)  # 1 is the default, left out
        assert ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows == f"${TABLE_HEADER_ROW + 1}:${TABLE_HEADER_ROW + 1}"
        assert MUSTERSTADT.name in ws.oddHeader.left.text
        assert MUSTERSTADT.period.label in ws.oddHeader.center.text


# ---------------------------------------------------------------- instructions


def test_instructions_tell_period_deadline_rates_and_every_field(wb):
    text = "\n".join(
        str(v) for row in wb["Anleitung"].iter_rows(values_only=True) for v in row if v
    )
    period = MUSTERSTADT.period
    assert german_date(quarter_start(PROG, period)) in text
    assert german_date(quarter_end(PROG, period)) in text
    assert german_date(deadline(PROG, period)) in text
    assert german.percent(PROG.money.flat_rate) in text
    for cap in (
        PROG.money.staff_cap_per_year,
        PROG.money.fee_cap_total,
        PROG.money.volunteer_cap_total,
    ):
        assert german.money(cap) in text
    for field in SPEC.fields:
        assert field.label in text and field.help in text
    for table in SPEC.tables:
        for column in table.columns:
            assert column.help in text


def test_german_formatting():
    assert german.money(Decimal("65888.69")) == "65.888,69 €"
    assert german.percent(Decimal("0.40")) == "40 %"
    assert german.number(Decimal("0.5")) == "0,5"


# ---------------------------------------------------------------- data


def test_values_and_rows_land_where_the_names_and_tables_are(make_workbook):
    data = valid_data(MUSTERSTADT)
    wb = openpyxl.load_workbook(make_workbook())
    for name, value in data.values.items():
        got = named_cell(wb, name).value
        got = got.date() if isinstance(got, datetime) else got
        assert got == value, name
    for table in SPEC.tables:
        rows = table_rows(wb[table.sheet], table.name)
        for want, got in zip(data.rows[table.name], rows, strict=False):
            for column, value in want.items():
                cell = got[column].date() if isinstance(got[column], datetime) else got[column]
                expected = float(value) if isinstance(value, Decimal) else value
                assert cell == expected, (table.name, column)
        assert all(v is None for row in rows[len(data.rows[table.name]) :] for v in row.values())


def test_wrong_types_and_formulas_are_written_raw(make_workbook):
    receipt = dict(valid_data(MUSTERSTADT).rows["tblBelege"][0], Betrag="1.234,56")
    path = make_workbook(
        values={
            "TN_GESAMT": "zwölf",
            "BERATUNGEN": Formula("SUM(1,2)", cached=3),
            "EA_AKTIV": Formula("1+1"),
        },
        rows={"tblBelege": [receipt]},
        cells={("Belege", "H30"): 99},
    )
    wb = openpyxl.load_workbook(path)
    assert named_cell(wb, "TN_GESAMT").value == "zwölf"
    assert named_cell(wb, "BERATUNGEN").value == "=SUM(1,2)"
    assert table_rows(wb["Belege"], "tblBelege")[0]["Betrag"] == "1.234,56"
    assert wb["Belege"]["H30"].value == 99
    cached = openpyxl.load_workbook(path, data_only=True)
    assert named_cell(cached, "BERATUNGEN").value == 3
    assert named_cell(cached, "EA_AKTIV").value in (None, "")


def test_make_workbook_overrides_only_what_is_given(make_workbook):
    wb = openpyxl.load_workbook(make_workbook(values={"TN_DIVERS": 4}, rows={"tblPersonal": []}))
    assert named_cell(wb, "TN_DIVERS").value == 4
    assert named_cell(wb, "TN_WEIBLICH").value == valid_data(MUSTERSTADT).values["TN_WEIBLICH"]
    assert all(v is None for r in table_rows(wb["Personal"], "tblPersonal") for v in r.values())
    assert len(table_rows(wb["Belege"], "tblBelege")) == SPEC.table("tblBelege").rows


def test_unknown_names_fail_loudly(tmp_path):
    for data in (
        WorkbookData(values={"TN_GESAMMT": 1}),
        WorkbookData(rows={"tblBelegs": []}),
        WorkbookData(rows={"tblBelege": [{"Betrg": 1}]}),
    ):
        with pytest.raises(KeyError):
            build_workbook(tmp_path / "x.xlsx", MUSTERSTADT, data)
    assert list(tmp_path.iterdir()) == []


def test_invalid_quarter_is_refused(tmp_path):
    with pytest.raises(ValueError):
        build_workbook(tmp_path / "x.xlsx", Identity("06431901", "X", 4, 1))


def test_failed_build_leaves_the_old_file_and_no_temp_files(tmp_path):
    path = build_workbook(tmp_path / "x.xlsx", MUSTERSTADT)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        build_workbook(path, MUSTERSTADT, WorkbookData(values={"TN_GESAMT": object()}))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.xlsx"]


# ---------------------------------------------------------------- many workbooks


def test_filenames():
    assert template_filename(MUSTERSTADT) == "06431901_PJ1_Q2.xlsx"
    assert template_filename(None).endswith(".xlsx")


def test_build_templates_one_per_application(tmp_path):
    apps = [
        SimpleNamespace(ags="06431901", name="Musterstadt"),
        SimpleNamespace(ags="06532902", name="Verbund Beispieltal & Co"),
    ]
    paths = build_templates(apps, 2, 4, tmp_path / "out")
    assert [p.name for p in paths] == ["06431901_PJ2_Q4.xlsx", "06532902_PJ2_Q4.xlsx"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [p.name for p in paths]
    wb = openpyxl.load_workbook(paths[1])
    assert named_cell(wb, "PROJEKT_NAME").value == "Verbund Beispieltal & Co"
    assert named_cell(wb, "QUARTAL").value == 4


# ---------------------------------------------------------------- the valid sample


@pytest.mark.parametrize("period", all_periods(PROG), ids=lambda p: p.label)
def test_valid_data_keeps_every_contract_rule(period: Period):
    identity = Identity("06431901", "Musterstadt", period.projektjahr, period.quartal)
    data = valid_data(identity)
    values = data.values
    for field in SPEC.fields:
        if field.is_required(period.quartal) and not field.prefill:
            assert values.get(field.name) not in (None, ""), field.name
    for check in SPEC.sums:
        assert sum(values[p] for p in check.parts) == values[check.total], check.label
    for comparison in SPEC.comparisons:
        assert values[comparison.small] <= values[comparison.large], comparison
    assert values["ERKL_BESTAETIGT"] == YES_VALUE and isinstance(values["ERKL_DATUM"], date)
    start, end = quarter_start(PROG, period), quarter_end(PROG, period)
    for table in SPEC.tables:
        rows = data.rows[table.name]
        assert rows, table.name
        for row in rows:
            assert set(row) == {c.name for c in table.columns}
            for column in table.columns:
                value = row[column.name]
                if column.in_quarter:
                    assert start <= value <= end, (table.name, column.name)
                if column.first_of_month:
                    assert value.day == 1
                if column.choices:
                    assert value in column.choices
                if column.min is not None:
                    assert value > column.min if column.min_exclusive else value >= column.min
                if column.max is not None:
                    assert value <= column.max
            for comparison in table.row_comparisons:
                assert row[comparison.small] <= row[comparison.large]
        for unique in table.unique:
            assert len({r[unique] for r in rows}) == len(rows)
    fte = sum(
        r["Stellenanteil"] * r["Projektanteil"] / 100
        for r in data.rows["tblPersonal"]
        if r["Monat"] == start
    )
    assert fte <= PROG.money.max_fte_per_month


# ---------------------------------------------------------------- LibreOffice


def test_libreoffice_resave_keeps_names_tables_and_validations(
    libreoffice, tmp_path, make_workbook
):
    if not libreoffice:
        warnings.warn("KISI_NO_LIBREOFFICE=1: LibreOffice round trip not checked", stacklevel=1)
        return
    resaved = resave_with_libreoffice(make_workbook(), tmp_path / "lo")
    wb = openpyxl.load_workbook(resaved)
    assert_structure(wb)
    assert named_cell(wb, "PROJEKT_AGS").value == MUSTERSTADT.ags
    dv = validation_at(wb["Belege"], "E5")
    assert dv.type == "list" and dv.formula1 == '"' + ",".join(PROG.cost_kinds) + '"'
    assert wb["Angaben"].protection.sheet and not wb["Belege"].protection.sheet


def test_checked_in_libreoffice_fixture_is_current():
    """Rebuild with scripts/make_libreoffice_fixture.py when this fails."""
    wb = openpyxl.load_workbook(FIXTURE)
    assert_structure(wb)
    for name, value in valid_data(MUSTERSTADT).values.items():
        got = named_cell(wb, name).value
        assert (got.date() if isinstance(got, datetime) else got) == value, name
    with zipfile.ZipFile(FIXTURE) as zf:
        assert "LibreOffice" in zf.read("docProps/app.xml").decode()
