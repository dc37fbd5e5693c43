"""read_xlsx on real files built in tmp_path (xlsxwriter, openpyxl, hand-made XML, hostile)."""

from __future__ import annotations

import dataclasses
import datetime
import io
import random
import struct
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.workbook.defined_name import DefinedName as OpenpyxlName
from openpyxl.worksheet.table import Table

from pipeline.spec import Limits, load_programme
from pipeline.xlsx import RawCell, XlsxError, read_xlsx
from pipeline.xlsx.refs import is_date_format, parse_defined_name
from pipeline.xlsx.safezip import member_chunks
from pipeline.xlsx.sheet import make_cell

LIMITS = load_programme().limits
FIXTURE = Path(__file__).parent / "fixtures" / "libreoffice_pj1_q2.xlsx"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET1 = "xl/worksheets/sheet1.xml"


def error_code(source: Path | bytes, limits: Limits = LIMITS) -> str:
    with pytest.raises(XlsxError) as caught:
        read_xlsx(source, limits)
    return caught.value.code


def rewrite(data: bytes, changes: dict[str, bytes | str | None]) -> bytes:
    """A copy of the zip `data` with members replaced or added, or dropped (None)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            if info.filename not in changes:
                dst.writestr(info.filename, src.read(info))
        for name, value in changes.items():
            if value is not None:
                dst.writestr(name, value)
    return out.getvalue()


def rel(rel_id: str, kind: str, target: str) -> str:
    return f'<Relationship Id="{rel_id}" Type="{REL_NS}/{kind}" Target="{target}"/>'


def rels(*items: str) -> str:
    return f'<Relationships xmlns="{PKG_NS}">{"".join(items)}</Relationships>'


def sheet_xml(sheet_data: str, extra: str = "") -> str:
    return f'<worksheet xmlns="{MAIN_NS}"><sheetData>{sheet_data}</sheetData>{extra}</worksheet>'


def handmade(sheet_data: str, shared: str = "", styles: str = "", extra: str = "") -> bytes:
    """A minimal workbook: one sheet 'Tabelle1' with `sheet_data` inside <sheetData>."""
    sheets = '<sheets><sheet name="Tabelle1" sheetId="1" r:id="rId1"/></sheets>'
    parts = {
        "[Content_Types].xml": "<Types/>",
        "_rels/.rels": rels(rel("r1", "officeDocument", "/xl/workbook.xml")),
        "xl/workbook.xml": f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">{sheets}</workbook>',
        "xl/_rels/workbook.xml.rels": rels(
            rel("rId1", "worksheet", "worksheets/sheet1.xml"),
            rel("rId2", "sharedStrings", "sharedStrings.xml"),
            rel("rId3", "styles", "styles.xml"),
        ),
        "xl/worksheets/sheet1.xml": sheet_xml(sheet_data, extra),
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN_NS}">{shared}</sst>',
        "xl/styles.xml": f'<styleSheet xmlns="{MAIN_NS}">{styles}</styleSheet>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return out.getvalue()


def cells_of(data: bytes | Path, sheet: str = "Tabelle1") -> dict[str, RawCell]:
    return {cell.ref: cell for cell in read_xlsx(data, LIMITS).cells[sheet].values()}


@pytest.fixture
def xlsxwriter_book(tmp_path: Path) -> Path:
    path = tmp_path / "xw.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Angaben")
    other = wb.add_worksheet("Maß nahmen")
    ws.write_string("A1", "Bensheim")
    ws.write_number("B2", 1234.56)
    ws.write_string("C3", "  zwei Zeilen\nmit Leerzeichen ")
    ws.write_boolean("D4", True)
    ws.write_formula("E5", "=B2*2", None, 42)
    ws.write_formula("F6", "=1/0", None, "#DIV/0!")
    ws.write_formula("G7", '="a"&"b"', None, "ab")
    ws.write_datetime(
        "H8", datetime.datetime(2026, 1, 31), wb.add_format({"num_format": "dd.mm.yyyy"})
    )
    ws.write_number("H9", 3.5, wb.add_format({"num_format": "#,##0.00 €"}))
    ws.write_rich_string("A10", "fett ", wb.add_format({"bold": True}), "und", " normal")
    ws.merge_range("A12:C13", "verbunden")
    other.add_table(
        "A1:C3",
        {"name": "tblMassnahmen", "columns": [{"header": h} for h in ("Datum", "Format", "Titel")]},
    )
    wb.define_name("PROJEKT_NAME", "=Angaben!$A$1")
    wb.define_name("TITEL", "='Maß nahmen'!$C$5")
    wb.define_name("BREIT", "='Maß nahmen'!$C$5:$D$6")
    wb.define_name("KAPUTT", "=#REF!")
    wb.define_name("Angaben!LOKAL", "=Angaben!$B$2")
    ws.print_area("A1:C3")  # becomes _xlnm.Print_Area
    wb.close()
    return path


def test_xlsxwriter_cells_kinds_and_addresses(xlsxwriter_book: Path) -> None:
    book = read_xlsx(xlsxwriter_book, LIMITS)
    assert book.sheets == ["Angaben", "Maß nahmen"] and not book.date1904
    cells = {c.ref: c for c in book.cells["Angaben"].values()}
    assert cells["A1"] == RawCell("A1", 1, 1, "s", "Bensheim")
    assert cells["B2"] == RawCell("B2", 2, 2, "n", "1234.56")
    assert cells["C3"].text == "  zwei Zeilen\nmit Leerzeichen "
    assert (cells["D4"].kind, cells["D4"].text) == ("b", "1")
    assert (cells["E5"].formula, cells["E5"].text, cells["E5"].has_value) == ("B2*2", "42", True)
    assert (cells["F6"].kind, cells["F6"].text) == ("e", "#DIV/0!")
    assert (cells["G7"].kind, cells["G7"].text) == ("s", "ab")
    assert cells["H8"].date_style and cells["H8"].text == "46053"
    assert not cells["H9"].date_style and not cells["B2"].date_style
    assert cells["A10"].text == "fett und normal"
    assert book.cells["Angaben"][12, 1].ref == "A12"
    assert book.merged["Angaben"] == ["A12:C13"] and book.merged["Maß nahmen"] == []


def test_xlsxwriter_names_and_tables(xlsxwriter_book: Path) -> None:
    book = read_xlsx(xlsxwriter_book.read_bytes(), LIMITS)
    names = {n.name: (n.sheet, n.ref) for n in book.defined_names.values()}
    assert names == {
        "PROJEKT_NAME": ("Angaben", "A1"),
        "TITEL": ("Maß nahmen", "C5"),
        "BREIT": ("Maß nahmen", "C5:D6"),
        "KAPUTT": (None, None),
    }
    table = book.tables["tblMassnahmen"]
    assert (table.sheet, table.ref, table.columns) == (
        "Maß nahmen",
        "A1:C3",
        ("Datum", "Format", "Titel"),
    )
    assert (table.header_rows, table.totals_rows) == (1, 0)


def test_openpyxl_inline_strings_formula_without_value_and_names(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Belege"
    ws.append(["LfdNr", "Betrag", "Datum"])
    ws.append([1, 12.5, datetime.date(2026, 2, 1)])
    ws["D2"] = "=B2*2"
    ws["E2"] = " Leerzeichen "
    ws.add_table(Table(displayName="tblBelege", ref="A1:C2"))
    wb.defined_names["EMAIL"] = OpenpyxlName("EMAIL", attr_text="Belege!$E$2")
    ws.defined_names["LOKAL"] = OpenpyxlName("LOKAL", attr_text="Belege!$A$1")
    wb.save(tmp_path / "op.xlsx")
    book = read_xlsx(tmp_path / "op.xlsx", LIMITS)
    cells = {c.ref: c for c in book.cells["Belege"].values()}
    assert (cells["A1"].kind, cells["A1"].text) == ("s", "LfdNr")
    assert (cells["B2"].kind, cells["B2"].text, cells["B2"].date_style) == ("n", "12.5", False)
    assert cells["C2"].date_style and cells["C2"].kind == "n"
    assert (cells["D2"].formula, cells["D2"].has_value, cells["D2"].kind) == ("B2*2", False, "")
    assert cells["E2"].text == " Leerzeichen "
    assert set(book.defined_names) == {"EMAIL"} and book.defined_names["EMAIL"].ref == "E2"
    assert book.tables["tblBelege"].columns == ("LfdNr", "Betrag", "Datum")


def test_date1904_and_chartsheet(tmp_path: Path) -> None:
    wb = xlsxwriter.Workbook(str(tmp_path / "d.xlsx"), {"date_1904": True})
    wb.add_worksheet("Daten").write("A1", 1)
    chart = wb.add_chart({"type": "line"})
    chart.add_series({"values": "=Daten!$A$1:$A$1"})
    wb.add_chartsheet("Grafik").set_chart(chart)
    wb.close()
    book = read_xlsx(tmp_path / "d.xlsx", LIMITS)
    assert book.date1904 and book.sheets == ["Daten", "Grafik"] and book.cells["Grafik"] == {}


def test_a1_and_last_cell_of_the_grid(tmp_path: Path) -> None:
    wb = xlsxwriter.Workbook(str(tmp_path / "far.xlsx"))
    ws = wb.add_worksheet("Tabelle1")
    ws.write("A1", "links oben")
    ws.write(1_048_575, 16_383, "rechts unten")
    wb.close()
    started = time.perf_counter()
    cells = cells_of(tmp_path / "far.xlsx")
    assert time.perf_counter() - started < 1.0
    assert cells["XFD1048576"].row == 1_048_576 and cells["XFD1048576"].col == 16_384
    assert set(cells) == {"A1", "XFD1048576"}


def test_libreoffice_fixture_has_contract_names_and_tables() -> None:
    book = read_xlsx(FIXTURE, LIMITS)
    name = book.defined_names["VORLAGE_ID"]
    row, col = int(name.ref[1:]), ord(name.ref[0]) - 64
    assert book.cells[name.sheet][row, col].text == "KISI-Quartalsbericht"
    assert book.tables["tblBelege"].columns[:2] == ("LfdNr", "Belegnummer")
    assert {"tblPersonal", "tblBelege", "tblMassnahmen"} <= set(book.tables)


def test_handmade_quirks() -> None:
    sheet = (
        '<row r="3"><c t="inlineStr"><is><r><t>ohne_x0020_r</t></r><rPh><t>x</t></rPh></is></c>'
        '<c s="1"><v>45000</v></c><c r="c3" s="2"/><c r="d3"><v>1</v></c></row>'  # lower case
        "<row><c><v>7</v></c>"
        '<c r="B4"><f t="shared" ref="B4:B5" si="0">A4+1</f><v>8</v></c></row>'
        '<row r="5"><c r="B5"><f t="shared" si="0"/><v>9</v></c>'
        '<c r="C5" t="s"><v>0</v></c><c r="D5" t="s"><v>1</v></c><c r="E5" t="str"><v/></c></row>'
    )
    shared = (
        "<si><t>Zeile_x000D_\nEnde _x005F_x0041_</t></si>"
        "<si><r><t>Kan</t></r><r><rPr><b/></rPr><t>ji</t></r>"
        "<rPh sb='0' eb='1'><t>かんじ</t></rPh></si>"
    )
    styles = (
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="[$-407]DD.MM.YYYY"/></numFmts>'
        '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="14"/></cellXfs>'
    )
    extra = '<mergeCells count="1"><mergeCell ref="a1:b2"/></mergeCells>'
    book = read_xlsx(handmade(sheet, shared, styles, extra), LIMITS)
    cells = {c.ref: c for c in book.cells["Tabelle1"].values()}
    assert set(cells) == {"A3", "B3", "D3", "A4", "B4", "B5", "C5", "D5", "E5"}
    assert cells["A3"].text == "ohne r" and cells["B3"].date_style
    assert (cells["A4"].row, cells["A4"].text) == (4, "7")
    assert (cells["B4"].formula, cells["B5"].formula, cells["B5"].text) == ("A4+1", "", "9")
    assert cells["C5"].text == "Zeile\r\nEnde _x0041_" and cells["D5"].text == "Kanji"
    assert (cells["E5"].kind, cells["E5"].text, cells["E5"].has_value) == ("s", "", True)
    assert book.merged["Tabelle1"] == ["A1:B2"]


def test_table_display_name_counts_and_date1904_true() -> None:
    table = (
        f'<table xmlns="{MAIN_NS}" id="1" name="Tabelle1" displayName="tblPersonal" ref="$a$1:B4"'
        ' headerRowCount="0" totalsRowCount="1"><tableColumns count="2">'
        '<tableColumn id="1" name="Monat"/><tableColumn id="2" name="Zeile_x000A_zwei"/>'
        "</tableColumns></table>"
    )
    workbook = (
        f'<x:workbook xmlns:x="{MAIN_NS}" xmlns:r="{REL_NS}"><x:workbookPr date1904="true"/>'
        '<x:sheets><x:sheet name="Tabelle1" r:id="rId1"/></x:sheets><x:definedNames>'
        '<x:definedName name="_xlnm.Print_Titles">Tabelle1!$1:$1</x:definedName>'
        '<x:definedName name="Monat">Tabelle1!$A$2</x:definedName></x:definedNames></x:workbook>'
    )
    data = rewrite(
        handmade(""),
        {
            "xl/workbook.xml": workbook,
            "xl/worksheets/_rels/sheet1.xml.rels": rels(rel("t", "table", "/xl/tables/t1.xml")),
            "xl/tables/t1.xml": table,
        },
    )
    book = read_xlsx(data, LIMITS)
    assert (
        book.date1904
        and set(book.tables) == {"tblPersonal"}
        and set(book.defined_names) == {"Monat"}
    )
    found = book.tables["tblPersonal"]
    assert (found.name, found.ref, found.header_rows, found.totals_rows) == (
        "tblPersonal", "A1:B4", 0, 1,
    )  # fmt: skip
    assert found.columns == ("Monat", "Zeile\nzwei") and found.sheet == "Tabelle1"


def _prefixed(xml: str) -> str:
    """The same sheet with every element in an 'x:' prefixed namespace."""
    return xml.replace("<", "<x:").replace("<x:/", "</x:").replace('xmlns="', 'xmlns:x="')


def test_strict_and_prefixed_namespaces() -> None:
    data = handmade('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', "<si><t>strikt</t></si>")
    strict = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            text = zf.read(name).decode()
            text = text.replace(MAIN_NS, "http://purl.oclc.org/ooxml/spreadsheetml/main")
            text = text.replace(REL_NS, "http://purl.oclc.org/ooxml/officeDocument/relationships")
            strict[name] = _prefixed(text) if name.endswith("sheet1.xml") else text
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, text in strict.items():
            zf.writestr(name, text)
    assert cells_of(out.getvalue())["A1"].text == "strikt"


def test_macros_and_external_links(xlsxwriter_book: Path) -> None:
    data = xlsxwriter_book.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        wb_rels = zf.read("xl/_rels/workbook.xml.rels").decode()
    link = rel("rId99", "externalLink", "externalLinks/externalLink1.xml")
    wb_rels = wb_rels.replace("</Relationships>", link + "</Relationships>")
    changed = rewrite(data, {"xl/vbaProject.bin": b"\0", "xl/_rels/workbook.xml.rels": wb_rels})
    book = read_xlsx(changed, LIMITS)
    assert book.has_macros and book.external_links == 1
    assert not read_xlsx(data, LIMITS).has_macros


@pytest.mark.parametrize(
    ("formula", "sheet", "ref"),
    [
        ("Angaben!$C$5", "Angaben", "C5"),
        ("'Maß nahmen'!$C$5", "Maß nahmen", "C5"),
        ("'Frau''s Liste'!B2", "Frau's Liste", "B2"),
        ("Angaben!$C$5:$C$5", "Angaben", "C5"),
        ("Angaben!$a$1:$B$3", "Angaben", "A1:B3"),
        ("#REF!", None, None),
        ("Angaben!#REF!", None, None),
        ("[1]Angaben!$A$1", None, None),
        ("'[1]Angaben'!$A$1", None, None),
        ("0.19", None, None),
        ('"Text"', None, None),
        ("SUM(Angaben!A1:A3)", None, None),
        ("Angaben!$A$1,Angaben!$B$2", None, None),
        ("Angaben!$A:$A", None, None),
        ("Angaben!XFE1", None, None),
        ("Angaben!A0", None, None),
    ],
)
def test_defined_name_references(formula: str, sheet: str | None, ref: str | None) -> None:
    name = parse_defined_name("X", formula)
    assert (name.sheet, name.ref, name.raw) == (sheet, ref, formula)


@given(st.text(max_size=60))
def test_any_defined_name_text_parses_without_raising(formula: str) -> None:
    name = parse_defined_name("X", formula)
    assert (name.sheet is None) == (name.ref is None)


@pytest.mark.parametrize(
    ("code", "is_date"),
    [
        ("dd.mm.yyyy", True),
        ("[$-407]mmmm\\ yyyy", True),
        ("[h]:mm", True),
        ("hh:mm:ss", True),
        ("General", False),
        ("@", False),
        ("0.00", False),
        ("#,##0.00 €", False),
        ('#,##0 "Stunden"', False),
        ("[Red]#,##0.00;[Blue]-#,##0.00", False),
        ("#,##0.00_);\\(#,##0.00\\)", False),
        ("0.00E+00", False),
    ],
)
def test_date_formats(code: str, is_date: bool) -> None:
    assert is_date_format(code) is is_date


def test_fast_cell_equals_dataclass_cell() -> None:
    args = ("C7", 7, 3, "n", "1.5", "A1*2", True, True)
    fast, slow = make_cell(*args), RawCell(*args)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    with pytest.raises(AttributeError):
        fast.text = "x"  # type: ignore[misc]


# --- hostile and broken files ------------------------------------------------------------


def _ole(*names: str) -> bytes:
    """A minimal OLE2 container: header sector, then one directory sector with `names`."""
    entries = b""
    for kind, name in [(5, "Root Entry"), *((2, n) for n in names)]:
        encoded = (name + "\0").encode("utf-16-le")
        entries += encoded.ljust(64, b"\0") + struct.pack("<HB", len(encoded), kind).ljust(
            64, b"\0"
        )
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1".ljust(512, b"\0")
    return header + entries.ljust(512, b"\0")


def test_ole_containers() -> None:
    assert error_code(_ole("EncryptionInfo", "EncryptedPackage")) == "encrypted"
    assert error_code(_ole("Workbook")) == "xls"
    # the stream name inside some stream's data (not a directory entry) is no evidence
    assert error_code(_ole("Workbook") + b"x" + "EncryptionInfo\0".encode("utf-16-le") * 4) == "xls"


def test_not_a_zip_at_all(tmp_path: Path) -> None:
    assert error_code(b"") == "empty"
    (tmp_path / "leer.xlsx").write_bytes(b"")
    assert error_code(tmp_path / "leer.xlsx") == "empty"
    assert error_code(b"\x00" + random.Random(7).randbytes(4000)) == "not_zip"
    assert error_code(b"ags;name\n06431001;Bensheim\n") == "not_zip"
    assert error_code(b"PK" + b"x" * 100) == "corrupt"


def test_truncated_zip(xlsxwriter_book: Path) -> None:
    data = xlsxwriter_book.read_bytes()
    assert error_code(data[: len(data) // 2]) == "corrupt"


def test_too_large(xlsxwriter_book: Path) -> None:
    small = dataclasses.replace(LIMITS, max_file_bytes=1000)
    assert error_code(xlsxwriter_book, small) == "too_large"
    assert error_code(xlsxwriter_book.read_bytes(), small) == "too_large"


def test_not_a_workbook(xlsxwriter_book: Path) -> None:
    data = xlsxwriter_book.read_bytes()
    assert error_code(rewrite(data, {"[Content_Types].xml": None})) == "not_workbook"
    docx = rewrite(
        data,
        {
            "_rels/.rels": rels(rel("a", "officeDocument", "word/document.xml")),
            "word/document.xml": f'<document xmlns="{MAIN_NS}"/>',
            "xl/workbook.xml": None,
        },
    )
    assert error_code(docx) == "not_workbook"


def test_dtd_billion_laughs_in_workbook(xlsxwriter_book: Path) -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE workbook [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;">]><workbook><sheets><sheet name="&c;"/></sheets></workbook>'
    )
    assert error_code(rewrite(xlsxwriter_book.read_bytes(), {"xl/workbook.xml": laughs})) == "dtd"


def test_any_doctype_is_refused(xlsxwriter_book: Path) -> None:
    plain = f'<!DOCTYPE sst><sst xmlns="{MAIN_NS}"><si><t>a</t></si></sst>'
    assert (
        error_code(rewrite(xlsxwriter_book.read_bytes(), {"xl/sharedStrings.xml": plain})) == "dtd"
    )


def test_external_entity_in_shared_strings(xlsxwriter_book: Path) -> None:
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f'<sst xmlns="{MAIN_NS}"><si><t>&x;</t></si></sst>'
    )
    assert error_code(rewrite(xlsxwriter_book.read_bytes(), {"xl/sharedStrings.xml": xxe})) == "dtd"


def test_malformed_xml_names_the_part(xlsxwriter_book: Path) -> None:
    broken = rewrite(xlsxwriter_book.read_bytes(), {SHEET1: "<worksheet><row>"})
    with pytest.raises(XlsxError) as caught:
        read_xlsx(broken, LIMITS)
    assert caught.value.code == "bad_xml" and "xl/worksheets/sheet1.xml" in caught.value.detail


@pytest.mark.parametrize(
    "row",
    [
        '<c r="A1" t="s"><v>5</v></c>',
        '<c r="A1" t="s"><v>-1</v></c>',
        '<c r="1A"><v>1</v></c>',
        '<c r="XFE1"><v>1</v></c>',
        '<c r="A1048577"><v>1</v></c>',
    ],
)
def test_impossible_cells_are_bad_xml(row: str) -> None:
    assert error_code(handmade(f'<row r="1">{row}</row>', "<si><t>a</t></si>")) == "bad_xml"


def test_zip_bomb_by_ratio() -> None:
    data = handmade("")
    bomb = rewrite(data, {SHEET1: b" " * 5_000_000})
    assert error_code(bomb) == "zip_bomb"


def test_zip_bomb_by_declared_sizes(xlsxwriter_book: Path) -> None:
    member = dataclasses.replace(LIMITS, max_member_bytes=1000)
    total = dataclasses.replace(LIMITS, max_total_bytes=5000)
    assert error_code(xlsxwriter_book, member) == "zip_bomb"
    assert error_code(xlsxwriter_book, total) == "zip_bomb"


def _shrink_declared_size(data: bytes, name: str, size: int) -> bytes:
    """Make the local and central headers of `name` claim `size` inflated bytes."""
    patched = bytearray(data)
    encoded = name.encode()
    for signature, offset, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        pos = patched.find(signature)
        while patched[pos + name_at : pos + name_at + len(encoded)] != encoded:
            pos = patched.find(signature, pos + 1)
        patched[pos + offset : pos + offset + 4] = struct.pack("<I", size)
    return bytes(patched)


def test_lying_declared_size_is_not_trusted() -> None:
    payload = f'<worksheet xmlns="{MAIN_NS}"><sheetData/>' + " " * 3_000_000 + "</worksheet>"
    lying = _shrink_declared_size(rewrite(handmade(""), {"zz": payload}), "zz", 100)
    with zipfile.ZipFile(io.BytesIO(lying)) as zf:
        assert zf.getinfo("zz").file_size == 100
    honest_sheet = rewrite(handmade(""), {SHEET1: payload})
    liar = _shrink_declared_size(honest_sheet, "xl/worksheets/sheet1.xml", 100)
    assert error_code(liar) in {"corrupt", "zip_bomb"}


def test_inflation_is_counted_while_streaming(xlsxwriter_book: Path) -> None:
    with zipfile.ZipFile(xlsxwriter_book) as zf:
        info = zf.getinfo("xl/styles.xml")
        with pytest.raises(XlsxError) as caught:
            b"".join(member_chunks(zf, info, max_bytes=info.file_size - 1))
        assert caught.value.code == "zip_bomb"
        assert len(b"".join(member_chunks(zf, info, max_bytes=info.file_size))) == info.file_size


def test_too_many_members() -> None:
    crowded = rewrite(handmade(""), {f"pad{i}": b"" for i in range(LIMITS.max_members)})
    assert error_code(crowded) == "too_many_members"


def test_duplicate_member_names(xlsxwriter_book: Path) -> None:
    # part names compare case-insensitively: which of the two would Excel open?
    twice = rewrite(xlsxwriter_book.read_bytes(), {"XL/Workbook.xml": "<workbook/>"})
    assert error_code(twice) == "corrupt"


def test_too_many_cells(xlsxwriter_book: Path) -> None:
    assert error_code(xlsxwriter_book, dataclasses.replace(LIMITS, max_cells=5)) == "too_many_cells"
    assert read_xlsx(xlsxwriter_book, dataclasses.replace(LIMITS, max_cells=100)).sheets


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=40), st.integers(min_value=0, max_value=10_000))
def test_garbage_in_sheet_xml_only_raises_xlsx_error(noise: bytes, at: int) -> None:
    sheet = sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>').encode()
    at %= len(sheet) + 1
    data = rewrite(handmade("", "<si><t>a</t></si>"), {SHEET1: sheet[:at] + noise + sheet[at:]})
    try:
        read_xlsx(data, LIMITS)
    except XlsxError as exc:
        assert exc.code in {"bad_xml", "dtd"}


def test_referenced_only_skips_sheets_without_names_or_tables(make_workbook) -> None:
    """The check reads only sheets a defined name points into or that hold a table: the
    instructions sheet stays unread, every other sheet reads exactly as in a full read."""
    data = make_workbook().read_bytes()
    full = read_xlsx(data, LIMITS)
    part = read_xlsx(data, LIMITS, referenced_only=True)
    assert part.unread == ["Anleitung"] and not full.unread
    assert full.cells["Anleitung"] and part.cells["Anleitung"] == {}
    for sheet in full.sheets:
        if sheet != "Anleitung":
            assert part.cells[sheet] == full.cells[sheet], sheet
    assert part.tables == full.tables and part.defined_names == full.defined_names


def test_referenced_only_still_refuses_a_doctype_in_an_unread_sheet(make_workbook) -> None:
    data = make_workbook().read_bytes()
    doctype = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>'
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sheet1 = zf.read(SHEET1)
    changed = rewrite(data, {SHEET1: doctype + sheet1.split(b"?>", 1)[1]})
    with pytest.raises(XlsxError) as caught:
        read_xlsx(changed, LIMITS, referenced_only=True)
    assert caught.value.code == "dtd"


def test_parts_repeated_across_workbooks_are_reused_not_shared(make_workbook) -> None:
    """Workbook, styles, relationships and tables of byte-identical parts come from the memo
    (package._PartMemo): same result, no parse, and each book still gets its own dict."""
    from pipeline.xlsx import package

    first = read_xlsx(make_workbook().read_bytes(), LIMITS)
    memo_size = len(package._MEMO._results)
    assert memo_size >= 4  # workbook, styles, relationships, tables
    second = read_xlsx(make_workbook().read_bytes(), LIMITS)
    assert len(package._MEMO._results) == memo_size  # all hits
    assert second.defined_names == first.defined_names and second.tables == first.tables
    assert second.defined_names is not first.defined_names
    second.defined_names.clear()
    assert first.defined_names


def test_a_doctype_fails_again_in_an_identical_part(make_workbook) -> None:
    """A failed part is not remembered: the same bytes are refused every time."""
    data = make_workbook().read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        styles = zf.read("xl/styles.xml")
    bad = rewrite(data, {"xl/styles.xml": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>'
                                          + styles.split(b"?>", 1)[1]})
    assert error_code(bad) == "dtd"
    assert error_code(bad) == "dtd"
    read_xlsx(data, LIMITS)
    assert error_code(bad) == "dtd"


def test_the_xml_budget_counts_remembered_parts(make_workbook) -> None:
    """max_total_bytes holds the same whether parts are parsed or remembered."""
    from pipeline.xlsx import package

    data = make_workbook().read_bytes()
    low, high = 1, 10_000_000  # the smallest budget that reads the file, nothing remembered
    while low < high:
        middle = (low + high) // 2
        package._MEMO._results.clear()
        try:
            read_xlsx(data, dataclasses.replace(LIMITS, max_total_bytes=middle))
            high = middle
        except XlsxError:
            low = middle + 1
    enough = dataclasses.replace(LIMITS, max_total_bytes=low)
    short = dataclasses.replace(LIMITS, max_total_bytes=low - 1)
    package._MEMO._results.clear()
    for _ in range(2):  # the second time, the parts before the last one are remembered
        assert error_code(data, short) == "zip_bomb"
        read_xlsx(data, enough)


def test_large_parts_are_streamed_not_remembered(make_workbook) -> None:
    """A styles part over _PartMemo.MAX_PART (here padded with a comment of random hex, which
    does not compress beyond the ratio limit) is parsed as a stream and gives the same
    result."""
    from pipeline.xlsx import package

    data = make_workbook().read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        styles = zf.read("xl/styles.xml")
    head, tail = styles.split(b"<cellXfs", 1)
    noise = random.Random(5).randbytes(package._PartMemo.MAX_PART // 2 + 1).hex().encode()
    padded = head + b"<!--" + noise + b"-->" + b"<cellXfs" + tail
    big = rewrite(data, {"xl/styles.xml": padded})
    package._MEMO._results.clear()
    first = read_xlsx(big, LIMITS)
    assert not any(key[1] == "read_date_styles" for key in package._MEMO._results)
    assert first.cells == read_xlsx(data, LIMITS).cells
