"""Regression tests for the robustness fixes, one level below the pipeline: the XLSX reader,
the value coercion, e-mail and archive intake, and the XML hardening of openpyxl."""

from __future__ import annotations

import io
import resource
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import openpyxl.xml
import pytest

from pipeline.intake.archive import is_zip_archive
from pipeline.intake.mail import read_mail, utf8_text
from pipeline.read.coerce import RAW_SHOWN, coerce
from pipeline.spec import load_programme
from pipeline.xlsx import RawCell, XlsxError, read_xlsx
from tests import hostile as H

LIMITS = load_programme().limits
ROOT = Path(__file__).resolve().parent.parent


def code_of(data: bytes, **limits: int) -> str:
    import dataclasses

    with pytest.raises(XlsxError) as caught:
        read_xlsx(data, dataclasses.replace(LIMITS, **limits))
    return caught.value.code


# --- XML hardening ---------------------------------------------------------------------------


def test_openpyxl_parses_through_defusedxml() -> None:
    """openpyxl (feedback copies, registry and waiver files) uses defusedxml when it is
    installed; it is a pinned dependency, and this must stay true."""
    assert openpyxl.xml.DEFUSEDXML is True
    laughs = H.with_dtd(H.valid_bytes(), "docProps/core.xml", H.BILLION_LAUGHS, "lol9")
    with pytest.raises(Exception, match="(?i)entit|invalid XML"):
        openpyxl.load_workbook(io.BytesIO(laughs))


@pytest.mark.parametrize("part", ["xl/theme/theme1.xml", "docProps/app.xml",
                                  "[Content_Types].xml"])
def test_doctype_in_a_part_we_never_parse_is_refused(part: str) -> None:
    """openpyxl keeps the theme as raw bytes and writes it back into a feedback copy: a
    DOCTYPE anywhere in the package is refused before anything is read."""
    with pytest.raises(XlsxError) as caught:
        read_xlsx(H.with_dtd(H.valid_bytes(), part, H.PLAIN_DTD), LIMITS)
    assert (caught.value.code, caught.value.detail) == ("dtd", part)


def test_binary_members_are_not_taken_for_xml() -> None:
    data = H.rewrite(H.valid_bytes(), {"xl/media/bild.png": b"\x89PNG\r\n\x1a\n" + bytes(5000),
                                       "xl/vbaProject.bin": H.VBA_PROJECT})
    assert read_xlsx(data, LIMITS).has_macros


# --- zip structure -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_only_stored_and_deflated_members_are_read(method: int) -> None:
    data = H.zip_bytes(H.parts(H.valid_bytes()), method=method)
    assert code_of(data) == "corrupt"


def test_a_part_listed_many_times_is_parsed_within_one_budget() -> None:
    data = H.repeated_part(H.valid_bytes(), "rId2", 50)
    assert code_of(data, max_total_bytes=200_000) == "zip_bomb"
    assert read_xlsx(data, LIMITS).sheets.count("Angaben") == 1


def test_shared_strings_are_counted() -> None:
    assert code_of(H.valid_bytes(), max_cells=100) == "too_many_cells"


@pytest.mark.parametrize(("attribute", "value"), [("headerRowCount", "-1"),
                                                   ("totalsRowCount", "-1000000000"),
                                                   ("totalsRowCount", "x")])
def test_table_row_counts_must_be_counts(attribute: str, value: str) -> None:
    data = H.edit(H.valid_bytes(), H.TABLE_BELEGE, 'totalsRowShown="0"', f'{attribute}="{value}"')
    assert code_of(data) == "bad_xml"


@pytest.mark.parametrize("ref", ["A4:H1048577", "A4:XFE24", "A0:H24", "", "A4:H24:Z9"])
def test_table_ranges_must_lie_in_the_grid(ref: str) -> None:
    data = H.edit(H.valid_bytes(), H.TABLE_BELEGE, 'ref="A4:H24"', f'ref="{ref}"')
    if ref.count(":") > 1:  # three valid corners: read, but not a table range we can use
        assert read_xlsx(data, LIMITS).tables["tblBelege"].ref == ref
    else:
        assert code_of(data) == "bad_xml"


@pytest.mark.parametrize("where", ["shared", "inline", "formula"])
def test_text_longer_than_excel_allows(where: str) -> None:
    long = "x" * 32_768
    base = H.valid_bytes()
    if where == "shared":
        data = H.edit(base, H.SHARED, "<si><t>Honorar</t></si>", f"<si><t>{long}</t></si>")
    elif where == "inline":
        data = H.edit(base, H.BELEGE, '<c r="A5" s="15"><v>1</v></c>',
                      f'<c r="A5" t="inlineStr"><is><t>{long}</t></is></c>')
    else:
        data = H.edit(base, H.BELEGE, '<c r="A5" s="15"><v>1</v></c>',
                      f'<c r="A5"><f>{long}</f><v>1</v></c>')
    with pytest.raises(XlsxError) as caught:
        read_xlsx(data, LIMITS)
    assert caught.value.code == "bad_xml" and "32768 Zeichen" in caught.value.detail
    # escaped characters count once: 32,767 of them in _x0041_ form are fine
    escaped = H.edit(base, H.SHARED, "<si><t>Honorar</t></si>",
                     f"<si><t>{'_x0041_' * 32_767}</t></si>")
    assert read_xlsx(escaped, LIMITS).sheets


def test_running_out_of_memory_is_a_refusal(tmp_path: Path) -> None:
    """Within every limit but not within this machine: a clean XlsxError, not a crash."""
    rows = "".join(f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><v>{r}</v></c>' for c in "JKLMN")
                   + "</row>" for r in range(100, 100_100))
    path = tmp_path / "viel.xlsx"
    path.write_bytes(H.edit(H.valid_bytes(), "xl/worksheets/sheet1.xml", "</sheetData>",
                            rows + "</sheetData>"))
    child = (
        "import resource, sys\n"
        "from pipeline.spec import load_programme\n"
        "from pipeline.xlsx import XlsxError, read_xlsx\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "vm = int(open('/proc/self/statm').read().split()[0]) * resource.getpagesize()\n"
        "resource.setrlimit(resource.RLIMIT_AS, (vm + 100 * 2**20, vm + 100 * 2**20))\n"
        "try:\n    read_xlsx(data, load_programme().limits)\n    print('gelesen')\n"
        "except XlsxError as err:\n    print(err.code)\n"
    )
    done = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["too_many_cells"]


# --- values ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["NaN", "sNaN", "Infinity", "-inf", "1E30", "1E999999999",
                                  "-1E+999999999", "1000000000000000"])
@pytest.mark.parametrize("type_", ["int", "money", "decimal", "date", "text"])
def test_numbers_beyond_reason_are_no_numbers(text: str, type_: str) -> None:
    value = coerce(RawCell("H5", 5, 8, "n", text), "Belege", "H5", type_, False)
    if type_ == "text":
        assert value.problem is None
    else:
        assert value.problem == "type" and value.value is None


def test_typed_numbers_beyond_reason_are_no_numbers() -> None:
    value = coerce(RawCell("H5", 5, 8, "s", "9" * 5000), "Belege", "H5", "money", False)
    assert value.problem == "type"
    value = coerce(RawCell("H5", 5, 8, "s", "999.999.999.999,99"), "Belege", "H5", "money",
                   False)
    assert value.value == Decimal("999999999999.99")


def test_long_texts_are_quoted_shortened_and_shared() -> None:
    text = "Wort " * 10_000
    first = coerce(RawCell("F5", 5, 6, "s", text), "Belege", "F5", "text", False)
    second = coerce(RawCell("F6", 6, 6, "s", text), "Belege", "F6", "text", False)
    assert len(first.raw) == RAW_SHOWN + 1 and first.raw.endswith("…")
    assert first.value == text.strip() and first.value is second.value
    blank = coerce(RawCell("F7", 7, 6, "s", " " * 1000), "Belege", "F7", "text", False)
    assert blank.is_blank


# --- e-mail and archives ------------------------------------------------------------------------


def test_mail_nested_beyond_the_parser_is_unreadable_not_a_crash() -> None:
    head = b"From: a@b.example\r\nMIME-Version: 1.0\r\n"
    for i in range(3000):
        head += f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
    mail = read_mail(head)
    assert mail.attachments == [] and "verschachtelt" in mail.other_attachments[0]


@pytest.mark.parametrize("date_header", ["Fri, 31 Dec 9999 23:59:59 -2359", "gestern",
                                         "Mon, 20 Apr 99999 10:15:00 +0200", "1 1 1 1 1 1",
                                         "x" * 10_000])
def test_impossible_mail_dates_are_no_dates(date_header: str) -> None:
    mail = read_mail(H.mail([("a.xlsx", b"PK", H.XLSX_MIME)], date_header=date_header))
    assert mail.date is None and len(mail.attachments) == 1


def test_8bit_headers_and_file_names_become_valid_text() -> None:
    raw = (b"From: J\xfcrgen <j@x.example>\r\nSubject: Bericht \xe4\xf6\xfc\r\nMIME-Version: 1.0"
           b"\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nContent-Type: "
           b'application/octet-stream\r\nContent-Disposition: attachment; filename="B\xe4.xlsx"'
           b"\r\n\r\nPK\r\n--X--\r\n")
    mail = read_mail(raw)
    for text in (mail.sender, mail.subject, mail.attachments[0].name):
        text.encode("utf-8")  # strict
    assert utf8_text("Bericht \udce4\udcfc.xlsx") == "Bericht \ufffd\ufffd.xlsx"
    assert utf8_text("lone \ud800 half") == "lone ? half"


def test_a_zip_announcing_too_many_members_is_left_to_the_reader() -> None:
    crowded = H.zip_bytes({f"m{i}": b"" for i in range(LIMITS.max_members + 1)})
    assert not is_zip_archive(crowded, LIMITS)
    assert code_of(crowded) == "too_many_members"


def test_memory_limit_helper_is_available() -> None:
    # the heavy tests rely on RLIMIT_AS; fail loudly where it is missing
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    assert hard == resource.RLIM_INFINITY or hard >= 2**31
