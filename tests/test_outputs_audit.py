"""pruefpfad.xlsx, sheets Herkunft…: rows streamed as XML into xlsxwriter's frame.

They read back (openpyxl and our own reader) equal to herkunft.csv, a hostile file name stays
a plain string, the rows continue on "Herkunft 2", … past the per-sheet limit with the
Herleitung links following them, and a rerun gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import warnings
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from pipeline.outputs import audit_lineage, tables, xlsxstream
from pipeline.outputs.audit import write_audit_workbook
from pipeline.outputs.csvs import neutralise
from pipeline.outputs.lineage import COLUMNS, Lineage, lineage, render_lineage
from pipeline.outputs.tables import Col, table_frame
from pipeline.outputs.view import ReportView
from pipeline.outputs.xlsxkit import Book, put
from pipeline.report import ReportResult, run_report
from pipeline.spec import load_programme
from pipeline.template.sample import MUSTERSTADT
from pipeline.xlsx import read_xlsx
from tests.reference_csv import render
from tests.test_outputs_golden import BEISPIELHEIM, REGISTRY, STICHTAG, _build, _half_time

LIMITS = load_programme().limits
HOSTILE = '=HYPERLINK("x")<&>"'
MONEY_FORMAT = '#,##0.00 "€"'
KIND_OF_COLUMN = {5: "personal_gemeldet", 9: "honorar_gemeldet", 13: "ehrenamt_gemeldet"}
CREATED = datetime(2026, 1, 1)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, ReportResult]:
    root = tmp_path_factory.mktemp("audit")
    box = root / "input"
    _build(box / f"{HOSTILE}.xlsx", MUSTERSTADT, _half_time)
    _build(box / "06431902_PJ1_Q1.xlsx", BEISPIELHEIM, day=2)
    registry = root / "verzeichnis.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    result = run_report(box, root / "out", registry, STICHTAG)
    assert len(result.used) == 2
    return root / "out", result


def _view(result: ReportResult) -> ReportView:
    return ReportView(result, load_programme(), STICHTAG)


def _csv_rows(out: Path) -> list[dict[str, str]]:
    with (out / "herkunft.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _sheet_rows(path: Path) -> list[list[object]]:
    """All data rows of the Herkunft sheets in order (openpyxl)."""
    wb = openpyxl.load_workbook(path)
    names = [n for n in wb.sheetnames if n.startswith(audit_lineage.SHEET)]
    rows = []
    for name in names:
        ws = wb[name]
        assert [c.value for c in ws[1]] == [c.head for c in audit_lineage.COLS]
        rows += [[c.value for c in row][:10] for row in ws.iter_rows(min_row=2)]
    return rows


def _assert_same(sheet: list[list[object]], rows: list[dict[str, str]]) -> None:
    assert len(sheet) == len(rows) > 50
    for got, want in zip(sheet, rows, strict=True):
        kennzahl, ags, pj, q, datei, sha, blatt, zelle, wert, hint = got
        assert [kennzahl, ags, str(pj), str(q), neutralise(datei), sha, blatt, zelle] == [
            want[c] for c in COLUMNS[:-1]]
        assert Decimal(str(wert)) == Decimal(want["wert"]), (got, want)
        assert (hint is not None) == (kennzahl == "personal_gemeldet")


def test_herkunft_reads_back_equal_to_herkunft_csv(run):
    out, _result = run
    rows = _csv_rows(out)
    _assert_same(_sheet_rows(out / "pruefpfad.xlsx"), rows)
    ws = openpyxl.load_workbook(out / "pruefpfad.xlsx")["Herkunft"]
    assert ws.freeze_panes == "C2" and ws.auto_filter.ref == f"A1:J{len(rows) + 1}"
    assert ws.print_title_rows == "$1:$1" and ws.page_setup.orientation == "landscape"
    assert [ws.column_dimensions[c].width > 5 for c in "ABCDEFGHIJ"] == [True] * 10
    for row in ws.iter_rows(min_row=2):
        money = row[0].value.endswith("_gemeldet")
        assert (row[8].number_format == MONEY_FORMAT) == money, row[0].value
        assert row[5].font.name == "Consolas" and row[2].number_format == "#,##0"


def test_herkunft_reads_back_with_our_own_reader(run):
    out, _result = run
    rows = _csv_rows(out)
    book = read_xlsx(out / "pruefpfad.xlsx", LIMITS)
    cells = book.cells["Herkunft"]
    assert book.sheets[-1] == "Herkunft"
    for i, want in enumerate(rows):
        got = [cells[(i + 2, col)] for col in range(1, 10)]
        assert all(c.formula is None for c in got)
        assert [c.kind for c in got] == ["s", "s", "n", "n", "s", "s", "s", "s", "n"]
        texts = [c.text for c in got]
        texts[4] = neutralise(texts[4])
        assert texts[:8] == [want[c] for c in COLUMNS[:8]]
        assert Decimal(texts[8]) == Decimal(want["wert"])


def test_a_hostile_file_name_stays_a_plain_string(run):
    out, _result = run
    wb = openpyxl.load_workbook(out / "pruefpfad.xlsx")
    names = {c.value for c in wb["Herkunft"]["E"][1:]}
    assert HOSTILE + ".xlsx" in names
    for cell in wb["Herkunft"]["E"][1:]:
        assert cell.data_type == "s" and cell.hyperlink is None
    with zipfile.ZipFile(out / "pruefpfad.xlsx") as z:
        xml = z.read("xl/worksheets/sheet6.xml").decode("utf-8")  # the sixth sheet
    assert '<dimension ref="A1:J' in xml and '<c r="A1"' in xml  # the header row
    assert '<row r="2"' not in xml and '<c r="A2"' not in xml  # data rows: no numbers
    assert "<f>" not in xml and "<f " not in xml and "<hyperlink" not in xml
    assert "=HYPERLINK(&quot;x&quot;)&lt;&amp;&gt;&quot;.xlsx" in xml


def test_rows_continue_on_further_sheets_and_links_follow(run, tmp_path, monkeypatch):
    out, result = run
    monkeypatch.setattr(audit_lineage, "ROWS_PER_SHEET", 10)  # 9 rows below the header
    view = _view(result)
    rows = lineage(view)
    path = tmp_path / "pruefpfad.xlsx"
    write_audit_workbook(path, view, rows)
    wb = openpyxl.load_workbook(path)
    count = -(-len(rows) // 9)
    names = ["Herkunft"] + [f"Herkunft {k}" for k in range(2, count + 1)]
    assert count > 5 and wb.sheetnames[5:] == names
    _assert_same(_sheet_rows(path), _csv_rows(out))
    for k, name in enumerate(names):
        ws = wb[name]
        size = min(9, len(rows) - 9 * k)
        assert ws.max_row == size + 1 and ws.auto_filter.ref == f"A1:J{size + 1}"
        assert ws.freeze_panes == "C2" and ws.print_title_rows == "$1:$1"
    flat = [(name, r) for name in names for r in range(2, wb[name].max_row + 1)]
    links = 0
    for row in wb["Herleitung"].iter_rows(min_row=3):
        for cell in row:
            if cell.hyperlink is None:
                continue
            sheet, target = cell.hyperlink.location.split("!A")
            sheet = sheet.strip("'")
            ws = wb[sheet]
            key = [ws.cell(int(target), c).value for c in range(1, 5)]
            assert key == [KIND_OF_COLUMN[cell.column], row[0].value, row[1].value,
                           row[2].value]
            position = flat.index((sheet, int(target)))  # the first row of this key
            if position:
                before = wb[flat[position - 1][0]]
                assert [before.cell(flat[position - 1][1], c).value
                        for c in range(1, 5)] != key
            links += 1
    assert links == 6
    lauf = {r[0].value: r[1].value for r in wb["Lauf"].iter_rows(min_row=2)}
    note = lauf["Herkunft: Quellzellen"]
    assert f"Blättern Herkunft bis Herkunft {count}" in note and "herkunft.csv" in note
    book = read_xlsx(path, LIMITS)  # our reader agrees on every sheet
    assert sum(len({r for r, _c in book.cells[n]}) - 1 for n in names) == len(rows)


def _libreoffice_csv(path: Path, out_dir: Path) -> dict[str, list[list[str]]]:
    """Every sheet of `path` as LibreOffice reads it: CSV, values not as shown."""
    from pipeline.template.libreoffice import soffice_path

    done = subprocess.run(
        [soffice_path(), "--headless", f"-env:UserInstallation=file://{out_dir / 'lo'}",
         "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,"
         "false,false,-1", "--outdir", str(out_dir), str(path)],
        capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    sheets = {}
    for name in openpyxl.load_workbook(path).sheetnames:
        with (out_dir / f"{path.stem}-{name}.csv").open(encoding="utf-8", newline="") as fh:
            sheets[name] = list(csv.reader(fh))
    return sheets


def _same_cell(ours: object, theirs: str) -> bool:
    if ours is None:
        return theirs == ""
    if isinstance(ours, datetime):
        return theirs.startswith(ours.strftime("%m/%d/%Y"))
    if isinstance(ours, int | float):
        return float(theirs) == float(ours)
    return theirs == ours


def test_libreoffice_puts_every_value_in_the_cell_openpyxl_finds_it_in(run, tmp_path,
                                                                      libreoffice):
    """The data rows carry no row or cell numbers: LibreOffice places them as openpyxl
    does (each sheet cell by cell), and its Herkunft is herkunft.csv; its copy of the
    workbook keeps the links on the cells they were on."""
    if not libreoffice:
        warnings.warn("KISI_NO_LIBREOFFICE=1: LibreOffice not checked", stacklevel=1)
        return
    out, _result = run
    path = tmp_path / "pruefpfad.xlsx"
    path.write_bytes((out / "pruefpfad.xlsx").read_bytes())
    sheets = _libreoffice_csv(path, tmp_path)
    wb = openpyxl.load_workbook(path)
    for name, rows in sheets.items():
        ws = wb[name]
        assert len(rows) == ws.max_row, name
        for got, row in zip(rows, ws.iter_rows(values_only=True), strict=True):
            row = list(row) + [None] * (len(got) - len(row))
            assert all(_same_cell(o, t) for o, t in zip(row, got, strict=True)), (name, got)
    lineage_rows = _csv_rows(out)
    assert [[neutralise(v) for v in r[:8]] for r in sheets["Herkunft"][1:]] == [
        [r[c] for c in COLUMNS[:8]] for r in lineage_rows]
    assert [Decimal(r[8]) for r in sheets["Herkunft"][1:]] == [
        Decimal(r["wert"]) for r in lineage_rows]
    from pipeline.template.libreoffice import resave_with_libreoffice

    again = openpyxl.load_workbook(resave_with_libreoffice(path, tmp_path / "neu"))
    links = {(c.coordinate, c.hyperlink.location.replace("'", ""))
             for row in again["Herleitung"].iter_rows() for c in row if c.hyperlink}
    assert links == {(c.coordinate, c.hyperlink.location.replace("'", ""))
                     for row in wb["Herleitung"].iter_rows() for c in row if c.hyperlink}
    assert len(links) == 6


def test_links_name_the_figure_they_come_from(run):
    out, _result = run
    wb = openpyxl.load_workbook(out / "pruefpfad.xlsx")
    ws = wb["Herleitung"]
    for col, kennzahl in KIND_OF_COLUMN.items():
        for row in (3, 4):
            link = ws.cell(row, col).hyperlink
            sheet, target = link.location.split("!A")
            assert sheet == "'Herkunft'"
            assert wb["Herkunft"].cell(int(target), 1).value == kennzahl


def test_byte_identical_on_rerun(run, tmp_path, monkeypatch):
    out, result = run
    write_audit_workbook(tmp_path / "a.xlsx", _view(result))
    assert (tmp_path / "a.xlsx").read_bytes() == (out / "pruefpfad.xlsx").read_bytes()
    monkeypatch.setattr(audit_lineage, "ROWS_PER_SHEET", 10)
    write_audit_workbook(tmp_path / "b.xlsx", _view(result))
    write_audit_workbook(tmp_path / "c.xlsx", _view(result))
    assert (tmp_path / "b.xlsx").read_bytes() == (tmp_path / "c.xlsx").read_bytes()


# --- the streaming layer on its own ----------------------------------------------------------
TEXTS = [HOSTILE, "a & b < c > d \" e ' f", " leading", "trailing\t", "line\nbreak",
         "cr\rhere", "ctl\x01\x08\x0b\x1f", "_x0041_ stays", "_X005f_x0041_", "]]> <![CDATA[",
         "€ ß 😀", "", "=1+1", "@SUM(A1)", "\uffff"]


def _streamed(path: Path, texts: list[str]) -> None:
    frame = io.BytesIO()
    book = Book(frame, "Test", CREATED)
    ws, _head = table_frame(book, "Daten", [Col("Text", 20), Col("Zahl", 8, "money")],
                            len(texts))
    t, money = xlsxstream.style(book.fmt("text")), xlsxstream.style(book.fmt("money"))

    def chunks():
        for i, text in enumerate(texts, start=2):
            yield (f'<row r="{i}"><c r="A{i}"{t} t="inlineStr">{xlsxstream.inline(text)}</c>'
                   f'<c r="B{i}"{money}><v>{xlsxstream.number(i / 4)}</v></c></row>')

    book.close()
    xlsxstream.finish(frame.getvalue(), path, book.wb,
                      [xlsxstream.StreamedSheet(ws, len(texts) + 1, 1, chunks)])


def test_escaping_round_trips_through_both_readers(tmp_path):
    path = tmp_path / "s.xlsx"
    _streamed(path, TEXTS)
    cells = read_xlsx(path, LIMITS).cells["Daten"]
    assert [cells[(i + 2, 1)].text for i in range(len(TEXTS))] == TEXTS
    assert [cells[(i + 2, 2)].text for i in range(len(TEXTS))] == [
        xlsxstream.number((i + 2) / 4) for i in range(len(TEXTS))]
    ws = openpyxl.load_workbook(path)["Daten"]
    assert ws.dimensions == f"A1:B{len(TEXTS) + 1}"
    for i, text in enumerate(TEXTS):
        cell = ws.cell(i + 2, 1)
        assert cell.data_type == "s"
        if not re.search("[\x00-\x08\x0b-\x1f\uffff]|_x", text):  # openpyxl keeps escapes
            assert cell.value == text, repr(text)
        assert ws.cell(i + 2, 2).number_format == MONEY_FORMAT


def test_a_sheet_past_the_zip64_limit_is_written_again_with_zip64(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsxstream, "ZIP64_AT", 2_000)  # bytes; the sheet has more
    path = tmp_path / "z.xlsx"
    _streamed(path, TEXTS * 4)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
        assert info.file_size > 2_000 and info.extract_version >= 45  # ZIP64
    cells = read_xlsx(path, LIMITS).cells["Daten"]
    assert [cells[(i + 2, 1)].text for i in range(len(TEXTS) * 4)] == TEXTS * 4
    assert openpyxl.load_workbook(path)["Daten"].max_row == len(TEXTS) * 4 + 1


def test_escaping_matches_xlsxwriter(tmp_path):
    """Our inline text escapes what xlsxwriter escapes in its shared strings, alike."""
    import xlsxwriter

    path = tmp_path / "x.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    texts = [t for t in TEXTS if t]
    for i, text in enumerate(texts):
        ws.write_string(i, 0, text)
    wb.close()
    with zipfile.ZipFile(path) as z:
        sst = z.read("xl/sharedStrings.xml").decode("utf-8")
    theirs = re.findall(r"<si>(<t[^>]*>.*?</t>)</si>", sst, re.S)
    ours = [xlsxstream.inline(t)[len("<is>"):-len("</is>")] for t in texts]
    # xlsxwriter leaves '"' alone in text nodes; we write &quot; (equal to any XML reader)
    assert [o.replace("&quot;", '"') for o in ours] == theirs


def test_a_frame_refuses_more_rows_than_a_sheet_holds(monkeypatch):
    monkeypatch.setattr(tables, "MAX_ROWS", 10)
    book = Book(io.BytesIO(), "Test", CREATED)
    table_frame(book, "passt", [Col("A")], 9)
    with pytest.raises(ValueError, match="passen nicht"):
        table_frame(book, "zu lang", [Col("A")], 10)
    ws = book.wb.add_worksheet("x")
    with pytest.raises(ValueError, match="außerhalb"):
        put(ws, 1_048_576, 0, "verloren")
    book.close()


# --- herkunft.csv --------------------------------------------------------------------------
def test_fast_lineage_csv_equals_the_generic_renderer():
    rows = [Lineage(k, ags, pj, q, datei, sha, blatt, zelle, wert)
            for k, ags, pj, q, datei, sha, blatt, zelle, wert in [
                ("personal_gemeldet", "06431901", 1, 2, "=1+1.xlsx", "ab" * 32, "Personal",
                 "F5", Decimal("2000.005")),
                ("personal_gemeldet", "06431901", 1, 2, "=1+1.xlsx", "ab" * 32, "Personal",
                 "F6", Decimal("-0.001")),
                ("tn_gesamt", "06431901", 1, 2, "=1+1.xlsx", "ab" * 32, "Teilnehmende",
                 "C7", 12),
                ("tn_gesamt", "06431902", 1, 1, 'a,"b"\nc.xlsx', "cd" * 32, "", "-C1", 0),
                ("x", "06431902", 1, 1, "", "", "\tTab", "@A1", True),
                ("", "06431902", 2, 1, " ", "cd" * 32, "\r=2", "+1", 1.5),
            ]]
    assert render_lineage(rows) == render(COLUMNS, (r.as_row() for r in rows))
    assert render_lineage([]) == render(COLUMNS, [])
