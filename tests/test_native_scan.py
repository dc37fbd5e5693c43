"""The C scanner (pipeline/xlsx/_scan.c) reads exactly what the Python handlers read.

Every case is read twice, with the C scanner and with the Python handlers it translates,
and the results (or the errors, code and text) must be equal: hand-made edge cases of the
sheet and shared-strings XML, the LibreOffice fixture, the fuzz regressions, and fuzzed
mutations of real workbooks.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from pipeline.spec import Limits
from pipeline.xlsx import RawWorkbook, XlsxError, native, read_xlsx
from tests.hostile import fuzz_seeds, mutations, valid_bytes
from tests.test_xlsx_reader import LIMITS, SHEET1, handmade, rewrite

FIXTURES = Path(__file__).parent / "fixtures"
DATE_STYLES = '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="4"/></cellXfs>'
LONG = "x" * (LIMITS.max_text_length + 1)
ESCAPED_LONG = "_x0041_" * (LIMITS.max_text_length // 7 + 10)  # long as written, short decoded


def test_the_extension_is_built() -> None:
    """make install builds it wherever a C compiler exists (the CI machines have one); only
    KISI_PURE_PYTHON=1 turns it off."""
    if os.environ.get("KISI_PURE_PYTHON"):
        assert native.scan is None
    else:
        assert native.scan is not None, "pipeline/xlsx/_scan.c was not built: make install"


@contextmanager
def python_handlers() -> Iterator[None]:
    scan, native.scan = native.scan, None
    try:
        yield
    finally:
        native.scan = scan


def outcome(data: bytes, limits: Limits) -> RawWorkbook | tuple[str, str]:
    try:
        return read_xlsx(data, limits)
    except XlsxError as exc:
        return exc.code, exc.detail


def assert_same(data: bytes, limits: Limits = LIMITS) -> RawWorkbook | tuple[str, str]:
    assert native.scan is not None
    fast = outcome(data, limits)
    with python_handlers():
        slow = outcome(data, limits)
    assert fast == slow
    return fast


SHEETS = {
    "lower-case-and-missing-refs": '<row r="1"><c r="A1"><v>1</v></c><c r="b1" t="s"><v>0</v>'
                                   "</c><c><v>3</v></c></row>",
    "leading-zeros": '<row r="01"><c r="A01"><v>1</v></c><c><v>2</v></c></row>'
                     '<row r="2"><c r="A0000000000002"><v>3</v></c></row>',
    "rows-without-numbers": '<row><c><v>1</v></c></row><row><c r="C2"><v>2</v></c>'
                            "<c><v>x</v></c></row><row><c/><c><v>4</v></c></row>",
    "non-ascii-column": '<row r="1"><c r="ß1"><v>1</v></c><c r="é1"><v>1</v></c></row>',
    "four-letter-column": '<row r="1"><c r="AAAA1"><v>1</v></c></row>',
    "column-past-xfd": '<row r="1"><c r="XFE1"><v>1</v></c></row>',
    "lower-case-xfd": '<row r="1"><c r="xfd1"><v>1</v></c></row>',
    "no-row-digits": '<row r="1"><c r="A"><v>1</v></c></row>',
    "no-column-letters": '<row r="1"><c r="17"><v>1</v></c></row>',
    "bad-row-attribute": '<row r="1x"><c><v>1</v></c></row>',
    "row-past-grid": '<row r="1048577"><c><v>1</v></c></row>',
    "cell-row-past-grid": '<row r="1"><c r="A1048577"><v>1</v></c></row>',
    "row-zero": '<row r="0"><c><v>1</v></c></row>',
    "cell-without-row": '<c r="B3"><v>1</v></c><c><v>2</v></c>',
    "no-row-at-all": "<c><v>1</v></c>",
    "empty-ref": '<row r="2"><c r=""><v>1</v></c></row>',
    "kinds": '<row r="1"><c r="A1" t="n"><v>1.5</v></c><c r="B1" t="b"><v>1</v></c>'
             '<c r="C1" t="e"><v>#REF!</v></c><c r="D1" t="d"><v>2026-01-31</v></c>'
             '<c r="E1" t="str"><v>a_x000D_b</v></c><c r="F1" t="str"><v/></c>'
             '<c r="G1" t=""><v>leer</v></c><c r="H1" t="weird"><v>_x0041_</v></c>'
             '<c r="I1" t="n"><v></v></c><c r="J1" s="1"/></row>',
    **{f"shared-index-{index!r}": f'<row r="1"><c r="A1" t="s"><v>{index}</v></c></row>'
       for index in [" 1 ", "+1", "1_0", "1_", "-0", "٣", "0" * 30, "9" * 30, "00", "4"]},
    "shared-index-empty": '<row r="1"><c r="A1" t="s"><v></v></c><c r="B1" t="s"><v>2</v>'
                          "</c></row>",
    "shared-index-bad": '<row r="1"><c r="A1" t="s"><v>x</v></c></row>',
    "shared-index-negative": '<row r="1"><c r="A1" t="s"><v>-1</v></c></row>',
    "shared-index-beyond": '<row r="1"><c r="A1" t="s"><v>12345678901234567890</v></c></row>',
    "inline-strings": '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t><r><t>b</t></r><rPh>'
                      '<t>phon</t></rPh><t xml:space="preserve"> c </t></is></c>'
                      '<c r="B1" t="inlineStr"><is><t>_xD83D__xDE00_ und _xD800_</t></is></c>'
                      '<c r="C1" t="inlineStr"><is/></c></row>',
    "formulas": '<row r="1"><c r="A1"><f>1+1</f></c><c r="B1"><f t="shared" si="0"/></c>'
                '<c r="C1"><f>B1*2</f><v>4</v></c><c r="D1" t="str"><f>"a"</f><v>a</v></c>'
                '<c r="E1" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>',
    "dates-by-style": '<row r="1"><c r="A1" s="1"><v>46000</v></c><c r="B1" s="2"><v>4</v></c>'
                      '<c r="C1" s="01"><v>46000</v></c><c r="D1" s="1"><v>46001</v></c>'
                      '<c r="E1" s=" 1"><v>1</v></c></row>',
    "prefixed": '<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1"><x:f>1</x:f>'
                "</x:c></x:row>",
    "value-outside-cell": '<v>7</v><row r="1"><c r="A1"><v>1</v></c><v>8</v></row>',
    "row-inside-cell": '<row r="1"><c r="A1"><row r="5"/><v>1</v></c><c><v>2</v></c></row>',
    "cell-inside-cell": '<row r="1"><c r="A1"><c r="B1"><v>1</v></c><v>2</v></c></row>',
    "long-value": f'<row r="1"><c r="A1" t="str"><v>{LONG}</v></c></row>',
    "long-value-no-ref": f'<row r="1"><c t="str"><v>{LONG}</v></c></row>',
    "long-value-outside-grid": f'<c t="str"><v>{LONG}</v></c>',
    "long-formula": f'<row r="1"><c r="A1"><f>{LONG}</f></c></row>',
    "long-inline": f'<row r="1"><c r="A1" t="inlineStr"><is><t>{LONG}</t></is></c></row>',
    "long-as-written-only": f'<row r="1"><c r="A1" t="str"><v>{ESCAPED_LONG}</v></c></row>',
    "long-umlauts": '<row r="1"><c r="A1" t="str"><v>'
                    + "ä" * (LIMITS.max_text_length - 1) + "</v></c></row>",
    "undefined-entity": '<row r="1"><c r="A1"><v>&foo;</v></c></row>',
    "character-references": '<row r="1"><c r="A1" t="str"><v>&#65;&#x42;&amp;&lt;</v></c>'
                            "</row>",
    "mismatched-tags": '<row r="1"><c r="A1"><v>1</c></row>',
    "cdata-and-comments": '<row r="1"><c r="A1" t="str"><v><![CDATA[<b>]]>x<!-- c --></v></c>'
                          "</row>",
}
SHARED = ('<si><t>null</t></si><si><r><t>ei</t></r><r><t>ns</t></r><rPh><t>x</t></rPh></si>'
          '<si><t>_x0041_</t></si><si><t/></si><x:si><x:t>präfix</x:t></x:si>')


@pytest.mark.parametrize("sheet", list(SHEETS.values()), ids=list(SHEETS))
def test_sheet_edge_cases(sheet: str) -> None:
    extra = '<mergeCells><mergeCell ref="a1:b2"/><mergeCell ref="ß1:c2"/><mergeCell/></mergeCells>'
    assert_same(handmade(sheet, shared=SHARED, styles=DATE_STYLES, extra=extra))


def test_the_edge_cases_cover_both_outcomes() -> None:
    """The cases above are not all errors (or all fine): both paths are compared."""
    results = [assert_same(handmade(sheet, shared=SHARED, styles=DATE_STYLES))
               for sheet in SHEETS.values()]
    errors = {r[0] for r in results if isinstance(r, tuple)}
    assert {"bad_xml"} <= errors
    assert sum(isinstance(r, RawWorkbook) for r in results) >= 15


def test_values_read_by_the_c_scanner() -> None:
    """Not only equal to the Python handlers: right (hand-checked values)."""
    book = assert_same(handmade(SHEETS["kinds"], shared=SHARED, styles=DATE_STYLES))
    assert isinstance(book, RawWorkbook)
    cells = {cell.ref: cell for cell in book.cells["Tabelle1"].values()}
    assert cells["A1"].kind == "n" and cells["A1"].text == "1.5"
    assert cells["E1"].text == "a\rb" and cells["F1"].kind == "s" and cells["F1"].text == ""
    assert cells["H1"].text == "A" and cells["G1"].kind == "s"
    assert "I1" not in cells and "J1" not in cells  # empty value, style only
    formulas = assert_same(handmade(SHEETS["formulas"]))
    assert isinstance(formulas, RawWorkbook)
    cells = {cell.ref: cell for cell in formulas.cells["Tabelle1"].values()}
    assert (cells["A1"].formula, cells["A1"].has_value) == ("1+1", False)
    assert cells["B1"].formula == "" and (cells["C1"].text, cells["C1"].formula) == ("4", "B1*2")


@pytest.mark.parametrize("shared", [
    SHARED,
    f"<si><t>{LONG}</t></si>",
    f"<si><t>{ESCAPED_LONG}</t></si>",
    "<si><t>a</t></si>" * 5,
    "<si><t>a</t><rPh><t>b</t><rPh><t>c</t></rPh></rPh><t>d</t></si>",
    "<si><t>offen</t>",
], ids=["runs", "long", "long-as-written", "many", "nested-phonetic", "unclosed"])
def test_shared_strings_edge_cases(shared: str) -> None:
    sheet = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    assert_same(handmade(sheet, shared=shared))
    assert_same(handmade(sheet, shared=shared), dataclasses.replace(LIMITS, max_cells=3))


def test_cell_budget_across_sheets() -> None:
    sheet = '<row r="1">' + "".join(f'<c r="{c}1"><v>1</v></c>' for c in "ABCDEF") + "</row>"
    for budget in (5, 6, 7):
        assert_same(handmade(sheet), dataclasses.replace(LIMITS, max_cells=budget))


@pytest.mark.parametrize("encoded", [
    '<?xml version="1.0" encoding="UTF-16"?>'.encode("utf-16"),
    '<?xml version="1.0" encoding="ISO-8859-1"?>'.encode("latin-1"),
    b'<?xml version="1.0" encoding="cp1252"?>',
    b'<?xml version="1.0" encoding="keine-kodierung"?>',
    b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">]>',
], ids=["utf-16", "latin-1", "cp1252", "unknown", "doctype"])
def test_encodings_and_doctype(encoded: bytes) -> None:
    head = encoded.decode("utf-16") if encoded.startswith(b"\xff\xfe") else encoded.decode(
        "latin-1")
    text = head + handmade_sheet('<row r="1"><c r="A1" t="str"><v>Straße €</v></c></row>')
    if encoded.startswith(b"\xff\xfe"):
        raw = text.encode("utf-16")
    elif b"cp1252" in encoded:
        raw = text.encode("cp1252")
    else:
        raw = text.encode("latin-1", "replace")
    result = assert_same(rewrite(handmade(""), {SHEET1: raw}))
    if b"DOCTYPE" in encoded:
        assert result == ("dtd", SHEET1)


def handmade_sheet(sheet_data: str) -> str:
    from tests.test_xlsx_reader import sheet_xml
    return sheet_xml(sheet_data)


def test_a_doctype_after_a_long_prolog_is_refused_before_the_scanner() -> None:
    """The prolog guard reads on across chunks: a DOCTYPE behind 100 KB of comments."""
    prolog = "<!--" + "p" * 100_000 + "-->"
    raw = (prolog + '<!DOCTYPE w [<!ENTITY e "x">]>' + handmade_sheet("")).encode()
    assert assert_same(rewrite(handmade(""), {SHEET1: raw})) == ("dtd", SHEET1)


def test_real_workbooks() -> None:
    books = [valid_bytes(), (FIXTURES / "libreoffice_pj1_q2.xlsx").read_bytes()]
    books += [path.read_bytes() for path in sorted((FIXTURES / "fuzz").glob("*.xlsx"))]
    for data in books:
        assert_same(data)
    first = assert_same(books[0])
    assert isinstance(first, RawWorkbook) and sum(map(len, first.cells.values())) > 100


SEEDS = fuzz_seeds()


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutations(SEEDS))
def test_fuzzed_workbooks(data: bytes) -> None:
    assert_same(data)
