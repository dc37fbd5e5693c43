"""The shortcuts of the feedback's cold run give exactly the bytes of the slow path: the
confirmation's zip built from prepared members (vs. zipfile), the Subject folded once per
shape (vs. the email package), base64 and line ends without the email package's loops,
and the files written without `write_bytes` (same bytes, mode and atomic replacement)."""

from __future__ import annotations

import base64
import os
import re
import stat
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from email.policy import SMTP
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.feedback import confirm, mail
from pipeline.feedback.model import ReportInfo
from pipeline.feedback.package import Prepacked, _escape, zip_members
from pipeline.intake import TZ
from pipeline.outputs import atomic
from pipeline.outputs.atomic import remove_stale_temp_files

NAMES = ["docProps/app.xml", "docProps/core.xml", "xl/worksheets/sheet1.xml",
         "xl/styles.xml", "[Content_Types].xml"]
BODIES = st.one_of(st.binary(max_size=3000),
                   st.text(max_size=2000).map(lambda t: t.encode("utf-8")),
                   st.sampled_from([b"", b"<x/>" * 2000, bytes(range(256)) * 20]))


# --------------------------------------------------------------------- prepared zip
@settings(max_examples=200, deadline=None)
@given(fixed=st.lists(BODIES, min_size=len(NAMES), max_size=len(NAMES)),
       variable=st.sets(st.sampled_from(NAMES), min_size=1),
       changed=st.dictionaries(st.sampled_from(NAMES), BODIES))
def test_prepacked_zip_is_what_zipfile_writes(fixed, variable, changed):
    members = list(zip(NAMES, fixed, strict=True))
    packed = Prepacked(members, variable, repeated=sorted(variable)[:1])
    assert packed.ok
    parts = {name: body for name, body in changed.items() if name in variable}
    expected = zip_members((name, parts.get(name, body)) for name, body in members)
    assert packed.build(parts) == expected
    assert packed.build(parts) == expected  # again, from the memo of repeated members
    assert packed.build({}) == zip_members(members)


def test_prepacked_zip_falls_back_to_zipfile_outside_its_shape():
    members = [("ä.xml", b"<a/>"), ("b.xml", b"<b/>")]  # a name zipfile flags as UTF-8
    packed = Prepacked(members, ["b.xml"])
    assert not packed.ok
    assert packed.build({"b.xml": b"<c/>"}) == zip_members([("ä.xml", b"<a/>"),
                                                            ("b.xml", b"<c/>")])
    normal = Prepacked([("a.xml", b"<a/>"), ("b.xml", b"<b/>")], ["b.xml"])
    assert normal.ok
    with pytest.raises(ValueError):
        Prepacked([("a.xml", b"1"), ("a.xml", b"2")], ["a.xml"])
    # a member that is not variable goes through zipfile (and is still right)
    assert normal.build({"a.xml": b"<z/>"}) == zip_members([("a.xml", b"<z/>"),
                                                            ("b.xml", b"<b/>")])


def test_confirmation_zip_reads_back_and_equals_the_zipfile_path():
    info = ReportInfo("=1+2.xlsx", "ab" * 32, "06431901", "Bad Übersee & <Nord>",
                      "PJ1 Q2 (01.01.2026–31.03.2026)", datetime(2026, 4, 20, 10, 12, tzinfo=TZ),
                      "Verwendbar: vollständig und ohne Befunde.", None,
                      datetime(2026, 5, 15, 8, tzinfo=TZ))
    figures = [("Personalausgaben (gemeldet)", "17.131,08 €"), ("Neue Teilnehmende", "10")]
    data = confirm.confirmation_bytes(info, figures)
    t = confirm.template()
    assert confirm._packed(t).ok
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as archive:
        assert archive.testzip() is None
        parts = {i.filename: archive.read(i.filename) for i in archive.infolist()}
    assert [name for name, _ in t.members] == list(parts)
    assert data == zip_members(parts.items())
    assert data == confirm.summary_bytes(info, (), figures)


# ------------------------------------------------------------------ e-mail headers
def _reference_fold(name: str, value: str) -> str:
    return SMTP.fold_binary(name, SMTP.header_store_parse(name, value)[1]).decode("ascii")


def _outcome(fold, name: str, value: str) -> str | type:
    try:
        return fold(name, value)
    except Exception as err:  # noqa: BLE001 - the email package fails on some odd lists
        return type(err)


WORD = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12)
DIGITS = st.integers(0, 10**9).map(str)
ODD = st.sampled_from(["–", "ä", "Übersee", "€", "„x“", "=?utf-8?q?x?=", "\t", "  "])


@settings(max_examples=500, deadline=None)
@given(start=st.lists(st.one_of(WORD, DIGITS, st.builds("PJ{} Q{}".format, DIGITS, DIGITS)),
                      max_size=12),
       rest=st.lists(st.one_of(WORD, DIGITS, ODD), max_size=12),
       spaces=st.sampled_from([" ", " ", "\t", "  "]))
def test_subject_folding_per_shape_equals_the_email_package(start, rest, spaces):
    value = spaces.join(start + rest)
    assert mail._fold("Subject", value) == _reference_fold("Subject", value)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.from_regex(mail._PLAIN_ADDRESS, fullmatch=True),
                          st.sampled_from(["a..b@x.example", ".a@x.example", "a@x",
                                           "Name <a@x.example>", "ä@x.example", "a@[1.2.3.4]",
                                           '"a b"@x.example', "a@x.example (c)"])),
                min_size=1, max_size=4),
       st.sampled_from([", ", ",", "; ", " , "]))
def test_plain_recipients_are_written_as_the_email_package_writes_them(addresses, sep):
    value = sep.join(addresses)
    assert _outcome(mail._fold, "To", value) == _outcome(_reference_fold, "To", value)


def test_subject_shapes_of_real_subjects():
    for project in ["Buchenborn", "Bad Übersee-Nord", "Landkreis Waldeck-Frankenberg " * 3,
                    "x" * 70, "06431900", "=?utf-8?q?abc?="]:
        for counts in ["Eingang bestätigt, vollständig", "5 Fehler, 1 Warnung, 3 Hinweise",
                       "1 Fehler"]:
            for period in ["PJ1 Q1", "PJ12 Q4", "PJ3 Q2"]:
                value = f"KISI-Quartalsbericht {period} – {project}: {counts}"
                assert mail._fold("Subject", value) == _reference_fold("Subject", value)
                assert mail._fold("To", "a@b.example") == _reference_fold("To", "a@b.example")


def test_draft_dates_keep_their_zone():
    """The Date header is cached by local time and offset, not by the instant (aware
    datetimes of different zones compare equal)."""
    moments = [datetime(2026, 5, 15, 8, tzinfo=TZ), datetime(2026, 5, 15, 6, tzinfo=UTC),
               datetime(2026, 5, 15, 11, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))]
    assert len({m.astimezone(UTC) for m in moments}) == 1
    from email.utils import format_datetime

    for moment in moments * 2:
        assert mail._date(moment) == format_datetime(moment)


# ------------------------------------------------------------------ body encodings
@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=600),
                 st.integers(0, 6).map(lambda n: bytes(range(57)) * n)))
def test_base64_lines_equal_encodebytes(data):
    assert mail._base64(data) == base64.encodebytes(data).decode("ascii")


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("ab=\r\n \t"), max_size=40))
def test_line_ends_equal_the_generator(payload):
    lines = mail._NLCRE.split(payload)
    assert mail._lines(payload) == "".join(line + "\r\n" for line in lines[:-1]) + lines[-1]


@given(st.text(max_size=60))
def test_escape_is_saxutils_escape(text):
    assert _escape(text) == escape(text)


# --------------------------------------------------------------------------- files
def write_file(folder: str, name: str, data: bytes) -> None:
    atomic.write_bytes(Path(folder, name), data, durable=False)


def test_write_file_replaces_atomically_with_mode_644(tmp_path: Path):
    old = os.umask(0o077)
    try:
        write_file(str(tmp_path), "a.eml", b"first")
        write_file(str(tmp_path), "a.eml", b"second" * 10_000)
    finally:
        os.umask(old)
    target = tmp_path / "a.eml"
    assert target.read_bytes() == b"second" * 10_000
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["a.eml"]


def test_write_file_leaves_no_temp_file_when_it_fails(tmp_path: Path):
    (tmp_path / "b.xlsx").mkdir()  # cannot be replaced by a file
    (tmp_path / "b.xlsx" / "x").write_text("x")
    with pytest.raises(OSError):
        write_file(str(tmp_path), "b.xlsx", b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.xlsx"]
    write_file(str(tmp_path / "missing" / "deeper"), "c.eml", b"data")  # folders made
    assert (tmp_path / "missing" / "deeper" / "c.eml").read_bytes() == b"data"
    with pytest.raises(FileNotFoundError):
        atomic._replace_file(str(tmp_path / "absent"), "c.eml", b"data")


def test_write_file_temp_names_are_cleared_as_stale(tmp_path: Path, monkeypatch):
    """A killed run's temp file matches what `remove_stale_temp_files` clears, and a
    name taken by such a leftover is skipped."""
    files = atomic

    def killed(fd, data):
        raise KeyboardInterrupt

    names = []
    real_open = os.open

    def remember(path, *args, **kwargs):
        names.append(os.path.basename(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", remember)
    monkeypatch.setattr(files.os, "write", killed)
    with pytest.raises(KeyboardInterrupt):
        write_file(str(tmp_path), "d.eml", b"data")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
    assert re.fullmatch(r"\.d\.eml\.[0-9]+-[0-9]+\.tmp", names[0])
    (tmp_path / names[0]).write_bytes(b"left over")
    serial = int(names[0].split("-")[1].split(".")[0])
    monkeypatch.setattr(files, "_serial", iter(range(serial, serial + 5)))
    write_file(str(tmp_path), "d.eml", b"data")
    assert (tmp_path / "d.eml").read_bytes() == b"data"
    remove_stale_temp_files(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["d.eml"]
