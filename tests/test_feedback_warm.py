"""The feedback's warm path: a rerun after one new file checks the other submissions
cheaply (who by key, figures by position, records as one stamp per submission) and
writes the new one without the email package (texts kept in the state, kept.py) and
without zipping the confirmation's constant parts again (kept in bestaetigung.json)."""

from __future__ import annotations

import json
import marshal
import os
import pickle
import re
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pipeline.feedback as feedback
from pipeline.feedback import FOLDER, confirm, kept, mail, sheet, write_feedback
from pipeline.feedback.package import Prepacked, zip_members
from pipeline.feedback.state import FILE, _openpyxl_version
from pipeline.outputs import records
from pipeline.select import USED
from pipeline.spec import load_programme
from tests import test_feedback_state as shared
from tests.test_feedback_state import REGISTRY, _files, _pair

PROG = load_programme()


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    """test_feedback_state's run: clean reports of two projects, one with a mistake, a file
    that is no workbook."""
    return shared.result.__wrapped__(tmp_path_factory)


@pytest.fixture
def writes(monkeypatch) -> list[str]:
    """Names of the feedback files written (not skipped) while the test runs."""
    return shared.writes.__wrapped__(monkeypatch)


def _reference_fold(name: str, value: str) -> str:
    return SMTP.fold_binary(name, SMTP.header_store_parse(name, value)[1]).decode("ascii")


# ------------------------------------------------------------ what a rerun compares
def test_who_by_key_is_who_by_the_workbooks_values(result, tmp_path):
    run = feedback._Run(result, tmp_path, PROG)
    assert run.index.quarters  # the registry projects with an address
    slow = feedback._Run(result, tmp_path, PROG)
    slow.index.quarters = {}  # (cached_property: the instance attribute wins)
    for e in result.entries:
        assert feedback._who(e, run.index, run.apps, PROG) == \
            feedback._who(e, slow.index, slow.apps, PROG)


def test_a_changed_registry_address_or_name_rewrites_that_projects_files(result, tmp_path,
                                                                        writes):
    out, state = tmp_path / "out", tmp_path / "state"
    paths = write_feedback(result, out, PROG, state=state)
    app = next(a for a in result.applications if a.email)
    mine = {p.name for e in result.entries
            if e.key and e.key[0] == app.ags for p in paths
            if p.stem.endswith(e.received.sha256[:8])}
    assert mine
    for changed in (replace(app, email="neu@musterstadt.example"),
                    replace(app, name="Musterstadt (neu)")):
        writes.clear()
        other = replace(result, applications=[changed if a is app else a
                                              for a in result.applications])
        assert write_feedback(other, out, PROG, state=state) == paths
        assert set(writes) == mine
    writes.clear()
    write_feedback(other, out, PROG, state=state)
    assert writes == []


def test_written_paths_cross_the_pipe_as_paths(result, tmp_path):
    paths = write_feedback(result, tmp_path / "out", PROG)
    back = pickle.loads(pickle.dumps(paths))
    assert type(back) is list and back == list(paths)
    assert all(isinstance(p, Path) and p.parent == tmp_path / "out" / FOLDER for p in back)


def test_a_warm_run_writes_its_one_draft_without_the_email_package(tmp_path):
    """Two processes, as two runs: the second rewrites one deleted confirmation and its
    draft, byte for byte, and imports neither the email package (beyond quoprimime) nor
    importlib.metadata; the state keeps the email package's texts."""
    from pipeline.template import Identity, build_workbook
    from pipeline.template.sample import valid_data

    box = tmp_path / "eingang"
    box.mkdir()
    for q in (1, 2):
        who = Identity("06431901", "Musterstadt", 1, q)
        build_workbook(box / f"06431901_PJ1_Q{q}.xlsx", who, valid_data(who))
    registry = tmp_path / "verzeichnis.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    code = textwrap.dedent(f"""
        import sys
        from datetime import date
        from pathlib import Path
        from pipeline.report import run_report
        run_report(Path({str(box)!r}), Path({str(tmp_path / "aus")!r}),
                   Path({str(registry)!r}), date(2026, 5, 15))
        heavy = ["email.utils", "email.policy", "email.message", "importlib.metadata"]
        print([m for m in heavy if m in sys.modules])
    """)
    env = {**os.environ, "KISI_WORKERS": "1"}

    def run() -> str:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=env, check=True, cwd=Path(__file__).parent.parent)
        return done.stdout.strip().splitlines()[-1]

    run()
    folder = tmp_path / "aus" / FOLDER
    before = _files(tmp_path / "aus")
    target = next(p for p in sorted(folder.iterdir()) if p.suffix == ".xlsx")
    target.unlink()
    (state,) = (tmp_path / "aus").glob(f"*/cache/feedback-*/{FILE}")
    memo = marshal.loads(state.read_bytes())["memo"]
    assert {key.split("\n")[0] for key in memo} >= {"addresses", "fold", "to"}
    assert run() == "[]"
    assert _files(tmp_path / "aus") == before


# ------------------------------------------------------------ kept texts (kept.py)
def test_kept_texts_come_back_and_stay_bounded(monkeypatch):
    monkeypatch.setattr(kept, "_texts", {})
    monkeypatch.setattr(kept, "_used", set())
    made = []
    kept.begin({"a": "A", "b": ["x", "y"], "bad": 5, "worse": [1], 7: "x"})
    assert kept.text("a", lambda: made.append("a") or "no") == "A"
    assert kept.text("c", lambda: made.append("c") or "C") == "C"
    assert made == ["c"]
    saved = kept.end({"a": "A", "b": ["x", "y"], "bad": 5})
    assert saved == {"a": "A", "b": ["x", "y"], "c": "C"}
    monkeypatch.setattr(kept, "LIMIT", 2)
    kept.begin(saved)
    kept.text("d", lambda: "D")
    assert kept.end(saved) == {"d": "D"}  # over the limit: only what this run used


# ------------------------------------------------------------ mail without the email package
@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1800, 1, 1), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-11, minutes=-30)),
                                               timezone(timedelta(hours=14)), feedback.TZ,
                                               timezone(timedelta(seconds=3601))])))
def test_date_line_is_the_email_packages(moment):
    assert mail._date(moment) == format_datetime(moment)
    assert mail._date_line(moment) == _reference_fold("Date", format_datetime(moment))


@given(st.text(st.sampled_from("aZ09_-. /ä\n"), max_size=12))
def test_token_check_is_the_pattern(text):
    assert mail._is_token(text) == bool(re.fullmatch(r"[0-9A-Za-z_-]+", text))


@given(st.text(max_size=40))
def test_safe_text_is_the_pattern(text):
    assert sheet.safe_text(text) == re.sub(sheet.ILLEGAL, "\ufffd", text)


def test_openpyxl_version_without_importlib_metadata(monkeypatch):
    """Read from openpyxl's own `_constants.py`; the metadata fallback must not be needed
    (it is made to fail here) and would give the same version."""
    import importlib.metadata

    expected = importlib.metadata.version("openpyxl")

    def refuse(name):
        raise AssertionError("importlib.metadata used")

    monkeypatch.setattr(importlib.metadata, "version", refuse)
    assert _openpyxl_version.__wrapped__() == expected  # not the cached value


# ------------------------------------------------------------ the confirmation's zip
def test_prepacked_from_kept_pieces_zips_the_same(tmp_path):
    members = [("a.xml", b"<a/>" * 50), ("b.xml", b"<b/>"), ("c.xml", bytes(range(256)))]
    packed = Prepacked(members, ["b.xml"])
    again = Prepacked(members, ["b.xml"], kept=json.loads(json.dumps(packed.kept())))
    parts = {"b.xml": b"<neu/>" * 30}
    assert again.ok and again.build(parts) == packed.build(parts) == zip_members(
        [("a.xml", b"<a/>" * 50), ("b.xml", b"<neu/>" * 30), ("c.xml", bytes(range(256)))])
    for broken in ({"pieces": []}, {"pieces": [["a.xml", "!", "", ""]], "end": ""}, "x", None):
        fallback = Prepacked(members, ["b.xml"], kept=broken)
        assert fallback.build(parts) == packed.build(parts)


def test_confirmation_from_a_stored_template_is_the_openpyxl_one(tmp_path, monkeypatch):
    info = feedback.ReportInfo("x.xlsx", "ab" * 32, "06431901", "Bad Übersee",
                               "PJ1 Q2 (01.01.2026–31.03.2026)",
                               datetime(2026, 4, 20, 10, 12, tzinfo=feedback.TZ),
                               "Verwendbar: vollständig und ohne Befunde.", None,
                               datetime(2026, 5, 15, 8, tzinfo=feedback.TZ))
    figures = [("Neue Teilnehmende", "10")]
    stored = tmp_path / "bestaetigung.json"
    first = confirm.confirmation_bytes(info, figures, stored, "env")
    assert json.loads(stored.read_bytes())["packed"]["pieces"]
    monkeypatch.setattr(confirm, "_read", {})  # as a new process
    monkeypatch.setattr(confirm, "_prepacked", {})
    monkeypatch.setattr(sys.modules["pipeline.feedback.package"], "zip_members",
                        lambda members: pytest.fail("zipped"))
    assert confirm.confirmation_bytes(info, figures, stored, "env") == first
    monkeypatch.undo()
    assert first == confirm.summary_bytes(info, (), figures)


# ------------------------------------------------------------ records as one stamp
def test_record_stamps_notice_every_change(tmp_path):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.eml"
    a.write_bytes(b"1")
    b.write_bytes(b"2")
    path = tmp_path / "state.marshal"
    rec = records.Records(path, "env")
    rec.record("x", "d1", [a, str(b)])
    rec.save(complete=True)
    assert marshal.loads(path.read_bytes())["format"] == records.FORMAT
    again = records.Records(path, "env")
    assert again.unchanged("x", "d1", [str(b), a])  # any order, Path or str
    assert not records.Records(path, "env").unchanged("x", "d2", [a, b])
    assert not records.Records(path, "env").unchanged("x", "d1", [a])
    assert not records.Records(path, "env").unchanged("x", "d1", [a, b, tmp_path / "c"])
    assert not records.Records(path, "other").unchanged("x", "d1", [a, b])
    stat = b.stat()
    b.write_bytes(b"3")  # same size, mtime put back: the ctime tells
    os.utime(b, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert not records.Records(path, "env").unchanged("x", "d1", [a, b])
    old = marshal.loads(path.read_bytes())
    old["format"] = 3
    path.write_bytes(marshal.dumps(old))
    assert records.Records(path, "env").old == {}


def test_a_rerun_of_a_used_submission_with_its_files_moved_back_is_written(result, tmp_path,
                                                                          writes):
    out, state = tmp_path / "out", tmp_path / "state"
    paths = write_feedback(result, out, PROG, state=state)
    clean = next(e for e in result.entries if e.status == USED)
    pair = _pair(paths, clean.received.sha256)
    xlsx = out / FOLDER / next(n for n in pair if n.endswith(".xlsx"))
    data = xlsx.read_bytes()
    xlsx.unlink()
    xlsx.write_bytes(data)  # the same bytes, another inode: not the file we wrote
    writes.clear()
    write_feedback(result, out, PROG, state=state)
    assert set(writes) == pair


@pytest.mark.parametrize("day", [date(2026, 5, 15), date(2027, 1, 4)])
def test_drafts_do_not_depend_on_kept_texts(result, tmp_path, day, monkeypatch):
    """The same files with the texts kept by a run before and without any."""
    later = replace(result, stichtag=day)
    write_feedback(later, tmp_path / "a", PROG, state=tmp_path / "state")
    monkeypatch.setattr(kept, "_texts", {})
    write_feedback(later, tmp_path / "b", PROG, state=tmp_path / "state")  # texts kept
    monkeypatch.setattr(kept, "_texts", {})
    write_feedback(later, tmp_path / "c", PROG)
    assert _files(tmp_path / "a") == _files(tmp_path / "b") == _files(tmp_path / "c")
