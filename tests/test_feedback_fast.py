"""The fast paths of the feedback: the confirmation workbook from the pre-rendered package
and the e-mail draft without EmailMessage give the same bytes as the slow reference; what a
clerk and a mail program see is therefore unchanged."""

from __future__ import annotations

import email
import io
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone
from email.policy import default

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.feedback.confirm import confirmation_bytes, summary_bytes
from pipeline.feedback.mail import XLSX_TYPE, draft, email_package_draft
from pipeline.feedback.model import ReportInfo
from pipeline.feedback.sheet import TITLE
from pipeline.intake import TZ
from pipeline.spec import load_programme
from pipeline.xlsx import read_xlsx

# openpyxl refuses these in a cell (its ILLEGAL_CHARACTERS_RE); the fast path replaces them.
_OPENPYXL_ILLEGAL = "".join(chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32)])
TEXT = st.text(st.characters(blacklist_categories=("Cs",),
                             blacklist_characters=_OPENPYXL_ILLEGAL + "\ufffe\uffff"),
               max_size=40)
FORMULA_LIKE = st.sampled_from(["=1+2", '=HYPERLINK("http://x","klick")', "=SUM(A1)",
                                "+A1", "-1", "@x", " lead", "trail ", "a & b <c>", "",
                                "_x0041_", "a\nb", "a\r\nb"])
TEXTS = st.one_of(TEXT, FORMULA_LIKE)
MOMENTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))
ZONES = st.sampled_from([None, UTC, TZ, timezone(timedelta(hours=5, minutes=30)),
                         timezone(timedelta(hours=-3))])
STANDS = st.one_of(st.none(), st.builds(lambda d, z: d.replace(tzinfo=z), MOMENTS, ZONES))
INFOS = st.builds(
    ReportInfo, datei=TEXTS, sha256=st.sampled_from(["", "ab", "ebfac0f38069b7f0" * 4]),
    ags=TEXTS, name=TEXTS, zeitraum=TEXTS,
    eingang=st.one_of(st.none(), st.builds(lambda d: d.replace(tzinfo=TZ), MOMENTS)),
    ergebnis=TEXTS, frist=st.one_of(st.none(), st.dates()), stand=STANDS)
FIGURES = st.lists(st.tuples(TEXTS, TEXTS), max_size=10)


@settings(max_examples=150, deadline=None)
@given(info=INFOS, figures=FIGURES)
def test_confirmation_bytes_are_the_openpyxl_rendering(info, figures):
    assert confirmation_bytes(info, figures) == summary_bytes(info, (), figures)


def test_confirmation_reads_back_as_text(tmp_path):
    info = ReportInfo("=1+2.xlsx", "ab" * 32, "06431901", '=HYPERLINK("http://x")',
                      "PJ1 Q2 (01.01.2026–31.03.2026)", datetime(2026, 4, 20, 10, 12, tzinfo=TZ),
                      "Verwendbar: vollständig und ohne Befunde.", date(2026, 4, 30),
                      datetime(2026, 5, 15, 8, tzinfo=TZ))
    figures = [("Personalausgaben (gemeldet)", "17.131,08 €"), ("Neue Teilnehmende", "10")]
    data = confirmation_bytes(info, figures)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert "<f>" not in zf.read("xl/worksheets/sheet1.xml").decode()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Prüfbericht"]
    ws = wb["Prüfbericht"]
    assert ws["A1"].value == TITLE and ws["A1"].font.b and ws["A1"].font.sz == 14
    rows = {ws.cell(r, 1).value: ws.cell(r, 4).value for r in range(2, ws.max_row + 1)}
    assert rows["Projekt"] == '06431901 =HYPERLINK("http://x")'
    assert rows["Datei"] == "=1+2.xlsx" and rows["Abgabefrist"] == "30.04.2026"
    assert rows["Personalausgaben (gemeldet)"] == "17.131,08 €"
    assert all(ws.cell(r, 1).font.b for r in range(2, ws.max_row + 1))
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert wb.properties.modified == datetime(2026, 5, 15, 6, 0)  # UTC
    raw = read_xlsx(data, load_programme().limits)
    texts = {c.text for c in raw.cells["Prüfbericht"].values()}
    assert {"=1+2.xlsx", "17.131,08 €", "Neue Teilnehmende"} <= texts
    assert all(c.formula is None for c in raw.cells["Prüfbericht"].values())


def test_confirmation_with_characters_xml_cannot_hold_is_still_a_workbook():
    info = ReportInfo("bericht\x01\x1f\ufffe.xlsx", "ab", stand=datetime(2026, 5, 15))
    ws = openpyxl.load_workbook(io.BytesIO(confirmation_bytes(info)))["Prüfbericht"]
    assert ws["D4"].value == "bericht\ufffd\ufffd\ufffd.xlsx"


# ------------------------------------------------------------------ e-mail drafts
ADDRESSES = st.lists(st.sampled_from(["a@musterstadt.example", "integration@x.example",
                                      "müller@stadt.example", "very.long.name.of.someone@"
                                      "a-rather-long-domain-name.example"]),
                     max_size=6).map(", ".join)
HEADER_TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=120),
    st.sampled_from(["KISI-Quartalsbericht PJ1 Q2 – Musterstadt: 5 Fehler, 1 Warnung, "
                     "3 Hinweise", "Eingang bestätigt, vollständig", "=?utf-8?q?x?=", ""]))
BODIES = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=400),
    st.sampled_from(["From here\n.\n trailing  \nä=b\r\nx\ry\n", "x" * 300, "\n\n", "€\t \n"]))
ATTACHMENTS = st.one_of(st.none(), st.binary(max_size=300))
DATES = st.builds(lambda d, z: d.replace(tzinfo=z), MOMENTS,
                  st.sampled_from([UTC, TZ, timezone(timedelta(hours=5, minutes=30))]))


def _outcome(make, *args, **kwargs):
    try:
        return make(*args, **kwargs)
    except ValueError as err:  # e.g. a line separator in a header: both must refuse it
        return type(err)


@settings(max_examples=300, deadline=None)
@given(to=ADDRESSES, subject=HEADER_TEXT, body=BODIES, attachment=ATTACHMENTS,
       name=HEADER_TEXT, sender=st.sampled_from(["", "KISI <kisi@hmsi.example>"]),
       when=DATES, sha256=st.sampled_from(["ab" * 32, "0123456789abcdef" * 4, "ab"]),
       kind=st.sampled_from(["befunde", "bestaetigung", "abgelehnt", "rueckmeldung"]))
def test_draft_is_what_the_email_package_builds(to, subject, body, attachment, name, sender,
                                                when, sha256, kind):
    name = name or "06431901_PJ1_Q2_Prüfbericht.xlsx"
    args = (to, subject, body, attachment)
    kwargs = dict(date=when, sha256=sha256, attachment_name=name, sender=sender, kind=kind)
    fast = _outcome(draft, *args, **kwargs)
    assert fast == _outcome(email_package_draft, *args, **kwargs)
    if isinstance(fast, bytes):
        msg = email.message_from_bytes(fast, policy=default)
        assert msg["X-Unsent"] == "1" and msg["Date"].datetime == when.replace(microsecond=0)
        lines = body.encode("utf-8").splitlines()  # as EmailMessage.set_content splits
        text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
        assert text == (b"\n".join(lines) + b"\n").decode("utf-8")
        parts = list(msg.iter_attachments())
        if attachment is None:
            assert parts == []
        else:
            (part,) = parts
            assert part.get_content_type() == "/".join(XLSX_TYPE)
            assert part.get_content() == attachment


def test_draft_takes_the_attachment_as_path_or_bytes(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"PK\x03\x04 workbook bytes" * 50)
    when = datetime(2026, 5, 15, 8, tzinfo=TZ)
    by_path = draft("a@x.example", "Betreff", "Text\n", path, date=when, sha256="ab" * 32,
                    attachment_name="x_Prüfbericht.xlsx")
    by_bytes = draft("a@x.example", "Betreff", "Text\n", path.read_bytes(), date=when,
                     sha256="ab" * 32, attachment_name="x_Prüfbericht.xlsx")
    assert by_path == by_bytes
    unusual = draft("a@x.example", "Betreff", "Text\n", path, date=when, sha256="ab" * 32,
                    kind="mit leerzeichen")
    assert unusual == email_package_draft("a@x.example", "Betreff", "Text\n", path, date=when,
                                          sha256="ab" * 32, kind="mit leerzeichen")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
               max_size=90))
def test_attachment_disposition_fast_path_equals_the_email_package(stem: str) -> None:
    from pipeline.feedback.mail import _disposition, _disposition_by_email_package

    for name in (stem, f"06431900_PJ1_Q1_{stem}ä.xlsx"):
        assert _disposition(name) == _disposition_by_email_package(name)
