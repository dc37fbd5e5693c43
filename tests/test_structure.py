"""Broken structure and unreadable files: clear German findings, never a crash."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl

from pipeline.findings import Severity
from tests.support import check, only


def _resave(path: Path, out: Path, change) -> Path:
    wb = openpyxl.load_workbook(path)
    change(wb)
    wb.save(out)
    return out


def test_deleted_defined_name(make_workbook, tmp_path):
    def drop(wb):
        del wb.defined_names["TN_GESAMT"]
    checked = check(_resave(make_workbook(), tmp_path / "x.xlsx", drop))
    f = only(checked, "STRUKTUR_NAME")
    assert "TN_GESAMT" in f.meldung and "fehlt" in f.meldung
    assert checked.readable and checked.errors == 1


def test_defined_name_pointing_at_ref_error(make_workbook, tmp_path):
    def breaks(wb):
        wb.defined_names["EA_NEU"].attr_text = "#REF!"
    f = only(check(_resave(make_workbook(), tmp_path / "x.xlsx", breaks)), "STRUKTUR_NAME")
    assert "EA_NEU" in f.meldung and "#REF!" in f.meldung


def test_renamed_table(make_workbook, tmp_path):
    def rename(wb):
        table = wb["Belege"].tables["tblBelege"]
        table.name = table.displayName = "Tabelle1"
    checked = check(_resave(make_workbook(), tmp_path / "x.xlsx", rename))
    f = only(checked, "STRUKTUR_TABELLE")
    assert "tblBelege" in f.meldung and f.schwere is Severity.ERROR


def test_renamed_column(make_workbook, tmp_path):
    def rename(wb):
        table = wb["Belege"].tables["tblBelege"]
        column = next(c for c in table.tableColumns if c.name == "Betrag")
        column.name = "Summe"
        start = table.ref.split(":")[0]
        ws = wb["Belege"]
        for cell in ws[start.rstrip("0123456789") + start.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                       ].parent[int(start.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))]:
            if cell.value == "Betrag":
                cell.value = "Summe"
    f = only(check(_resave(make_workbook(), tmp_path / "x.xlsx", rename)), "STRUKTUR_SPALTE")
    assert "„Betrag“" in f.meldung


def test_block_moved_is_still_found(make_workbook, tmp_path):
    """A clerk moved a cell: the defined name travels with it, so we read the new place."""
    def move(wb):
        dn = wb.defined_names["TELEFON"]
        sheet, ref = dn.attr_text.split("!")
        ws = wb[sheet.strip("'")]
        value = ws[ref.replace("$", "")].value
        ws[ref.replace("$", "")].value = None
        ws["K40"] = value
        dn.attr_text = f"{sheet}!$K$40"
    checked = check(_resave(make_workbook(), tmp_path / "x.xlsx", move))
    assert checked.findings == []
    assert checked.submission.fields["TELEFON"].cell == "K40"
    assert checked.submission.get("TELEFON") == "06251 900-123"


def test_unknown_template_version_is_rejected(make_workbook):
    checked = check(make_workbook(values={"VORLAGE_VERSION": "7"}))
    f = only(checked, "VORLAGE_VERSION")
    assert not checked.readable and "„7“" in f.meldung and "Version 1" in f.meldung


def test_foreign_workbook_is_rejected(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["A1"] = "Teilnehmerliste"
    wb.save(tmp_path / "liste.xlsx")
    checked = check(tmp_path / "liste.xlsx")
    assert not checked.readable
    assert only(checked, "DATEI_FREMD").datei == "liste.xlsx"


def test_too_many_table_rows(make_workbook):
    checked = check(make_workbook(), max_table_rows=2)  # staff and receipts have 3 rows each
    hits = sorted(f.meldung for f in checked.findings if f.regel == "TABELLE_ZU_GROSS")
    assert len(hits) == 2
    assert "tblBelege hat 3 Zeilen" in hits[0] and "höchstens 2" in hits[0]
    assert "tblPersonal hat 3 Zeilen" in hits[1]


def test_macros_are_noted_never_run(make_workbook, tmp_path):
    src = make_workbook()
    out = tmp_path / "mit_makro.xlsm"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item.filename))
        zout.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not really a macro")
    checked = check(out)
    assert only(checked, "DATEI_MAKROS").schwere is Severity.NOTE
    assert checked.errors == 0


def test_unreadable_files(tmp_path):
    cases = {
        "leer.xlsx": (b"", "DATEI_LEER"),
        "export.xlsx": (b"Name;Datum\nA;1\n", "DATEI_KEIN_EXCEL"),
        "brief.pdf": (b"%PDF-1.4 ...", "DATEI_TYP"),
        "alt.xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "DATEI_XLS"),
    }
    for name, (data, rule) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        checked = check(path)
        assert not checked.readable, name
        f = only(checked, rule)
        assert f.datei == name and f.schwere is Severity.ERROR


def test_truncated_workbook(make_workbook, tmp_path):
    data = make_workbook().read_bytes()
    path = tmp_path / "abgeschnitten.xlsx"
    path.write_bytes(data[: len(data) // 2])
    checked = check(path)
    assert not checked.readable
    assert checked.findings[0].regel in {"DATEI_BESCHAEDIGT", "DATEI_KEIN_EXCEL"}
