"""write_feedback(..., state=folder): a rerun leaves unchanged feedback alone, rewrites exactly
what changed, and the files are always the ones a run without state writes."""

from __future__ import annotations

import email
import marshal
import os
import time
from dataclasses import replace
from datetime import date, datetime
from email.policy import default
from pathlib import Path

import pytest

import pipeline.feedback as feedback
from pipeline.feedback import FOLDER, write_feedback
from pipeline.feedback.state import FILE
from pipeline.findings import Finding, Severity
from pipeline.intake import TZ
from pipeline.outputs.records import FORMAT
from pipeline.report import run_report
from pipeline.select import USED
from pipeline.spec import load_programme
from pipeline.template import Identity, build_workbook
from pipeline.template.sample import valid_data

PROG = load_programme()
REGISTRY = """ags;name;landkreis;einwohner;verbund_ags;bewilligung_eur;email
06431901;Musterstadt;Bergstraße;20000;;290657.90;integration@musterstadt.example
06431902;Beispielheim;Bergstraße;15000;;290657.90;
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    """Clean reports of two projects, one with a mistake, and a file that is no workbook."""
    root = tmp_path_factory.mktemp("state")
    box = root / "eingang"
    box.mkdir()
    for day, (ags, name, q) in enumerate([("06431901", "Musterstadt", 1),
                                          ("06431901", "Musterstadt", 2),
                                          ("06431902", "Beispielheim", 1)], start=3):
        who = Identity(ags, name, 1, q)
        path = build_workbook(box / f"{ags}_PJ1_Q{q}.xlsx", who, valid_data(who))
        stamp = datetime(2026, 4, day, 9, 30, tzinfo=TZ).timestamp()
        os.utime(path, (stamp, stamp))
    q3 = Identity("06431901", "Musterstadt", 1, 3)
    data = valid_data(q3)
    data.values["TN_SPRACHKURS"] = 40  # a "davon" larger than its total
    build_workbook(box / "06431901_PJ1_Q3.xlsx", q3, data)
    (box / "Teilnehmer.csv").write_text("Name;Wert\nx;1\n", encoding="utf-8")
    registry = root / "verzeichnis.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    found = run_report(box, root / "lauf", registry, date(2026, 5, 15))
    kinds = {e.status for e in found.entries}
    assert USED in kinds and "abgelehnt" in kinds and found.findings
    return found


@pytest.fixture
def writes(monkeypatch) -> list[str]:
    """Names of the feedback files written (not skipped) while the test runs."""
    names: list[str] = []
    real = feedback.write_bytes

    def counting(target: Path, data: bytes, durable: bool = True) -> None:
        names.append(target.name)
        real(target, data, durable)

    monkeypatch.setattr(feedback, "write_bytes", counting)
    return names


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / FOLDER).iterdir())}


def _stamps(out: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_ino)
            for p in sorted((out / FOLDER).iterdir())}


def _pair(paths: list[Path], sha256: str) -> set[str]:
    return {p.name for p in paths if p.stem.endswith(sha256[:8])}


def test_unchanged_rerun_writes_nothing_and_matches_a_run_without_state(result, tmp_path,
                                                                        writes):
    out, state = tmp_path / "out", tmp_path / "state"
    first = write_feedback(result, out, PROG, state=state)
    assert len(writes) == len(first) > 0
    before = _stamps(out)
    writes.clear()
    second = write_feedback(result, out, PROG, state=state)
    assert writes == [] and second == first and _stamps(out) == before
    plain = write_feedback(result, tmp_path / "plain", PROG)  # the old way: always write
    assert plain == [tmp_path / "plain" / p.relative_to(out) for p in second]
    assert _files(out) == _files(tmp_path / "plain")
    assert set(marshal.loads((state / FILE).read_bytes())["files"]) == \
        {p.stem for p in second}


def test_a_changed_input_rewrites_exactly_its_files(result, tmp_path, writes):
    out, state = tmp_path / "out", tmp_path / "state"
    paths = write_feedback(result, out, PROG, state=state)
    clean = [e for e in result.entries if e.status == USED]
    one, other = clean[0], clean[1]

    # a key figure of one quarter
    key = one.key
    target = (key[0], key[1], key[2], "tn_gesamt")
    assert sum(1 for row in result.figures if row[:4] == target) == 1
    figures = [(*row[:4], 999) if row[:4] == target else row for row in result.figures]
    writes.clear()
    changed = replace(result, figures=figures)
    assert write_feedback(changed, out, PROG, state=state) == paths
    assert set(writes) == _pair(paths, one.received.sha256)
    (mail,) = [n for n in writes if n.endswith(".eml")]
    body = email.message_from_bytes((out / FOLDER / mail).read_bytes(), policy=default)
    assert "- Neue Teilnehmende: 999" in body.get_body(("plain",)).get_content()

    # a finding (e.g. a cross-quarter rule) located in another file
    finding = Finding("TEST", Severity.WARNING, "Bitte prüfen.", other.received.datei,
                      other.received.sha256, blatt="Angaben", zelle="B12")
    writes.clear()
    found = replace(changed, findings=[*changed.findings, finding])
    write_feedback(found, out, PROG, state=state)
    assert set(writes) == _pair(paths, other.received.sha256)

    # the Stichtag: every draft is dated by it
    writes.clear()
    later = replace(found, stichtag=date(2026, 6, 1))
    write_feedback(later, out, PROG, state=state)
    assert sorted(writes) == sorted(p.name for p in paths)
    writes.clear()
    write_feedback(later, out, PROG, state=state)
    assert writes == []
    assert _files(out) == _files_of(later, tmp_path / "fresh")


def _files_of(result, out: Path) -> dict[str, bytes]:
    write_feedback(result, out, PROG)
    return _files(out)


def test_deleted_or_edited_files_are_written_again(result, tmp_path, writes):
    out, state = tmp_path / "out", tmp_path / "state"
    paths = write_feedback(result, out, PROG, state=state)
    want = _files(out)
    xlsx = next(p for p in paths if p.suffix == ".xlsx")
    eml = next(p for p in paths if p.suffix == ".eml" and p.stem != xlsx.stem)
    xlsx.unlink()
    time.sleep(0.05)  # past the file system's clock tick of the run that wrote it
    # an edit of the same length with the old mtime put back: only the ctime tells
    stat = eml.stat()
    text = eml.read_bytes()
    eml.write_bytes(text.replace(b"Guten Tag", b"Hallo Tag"))
    os.utime(eml, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert eml.stat().st_size == stat.st_size and eml.read_bytes() != text
    writes.clear()
    assert write_feedback(result, out, PROG, state=state) == paths
    assert set(writes) == {xlsx.name, f"{xlsx.stem}.eml", eml.name,
                           f"{eml.stem}.xlsx"} & {p.name for p in paths}
    assert _files(out) == want


def test_superseded_submission_drops_its_files_and_record(result, tmp_path, writes):
    out, state = tmp_path / "out", tmp_path / "state"
    paths = write_feedback(result, out, PROG, state=state)
    gone = next(e for e in result.entries if e.status == USED)
    fewer = replace(result, entries=[e for e in result.entries if e is not gone])
    writes.clear()
    left = write_feedback(fewer, out, PROG, state=state)
    assert writes == []
    assert {p.name for p in left} == {p.name for p in paths} - _pair(paths, gone.received.sha256)
    assert sorted(p.name for p in left) == sorted(_files(out))
    assert set(marshal.loads((state / FILE).read_bytes())["files"]) == {p.stem for p in left}


@pytest.mark.parametrize("damage", [
    b"", b"{not marshal", marshal.dumps({"format": 1, "files": []}),
    marshal.dumps({"format": FORMAT, "files": {"x": 5}}), marshal.dumps([])])
def test_unreadable_state_means_write_everything(result, tmp_path, writes, damage):
    out, state = tmp_path / "out", tmp_path / "state"
    paths = write_feedback(result, out, PROG, state=state)
    (state / FILE).write_bytes(damage)
    writes.clear()
    assert write_feedback(result, out, PROG, state=state) == paths
    assert sorted(writes) == sorted(p.name for p in paths)
    writes.clear()
    write_feedback(result, out, PROG, state=state)
    assert writes == []


def test_interrupted_run_keeps_the_records_of_untouched_files(result, tmp_path, writes,
                                                              monkeypatch):
    out, state = tmp_path / "out", tmp_path / "state"
    paths = write_feedback(result, out, PROG, state=state)
    changed = replace(result, stichtag=date(2026, 6, 1))
    real = feedback.write_bytes
    calls = []

    def failing(target: Path, data: bytes, durable: bool = True) -> None:
        calls.append(target.name)
        if len(calls) == 3:
            raise OSError("Datenträger voll")
        real(target, data, durable)

    monkeypatch.setattr(feedback, "write_bytes", failing)
    with pytest.raises(OSError):
        write_feedback(changed, out, PROG, state=state)
    monkeypatch.setattr(feedback, "write_bytes", real)
    records = marshal.loads((state / FILE).read_bytes())["files"]
    assert set(records) == {p.stem for p in paths}  # nothing forgotten
    assert write_feedback(changed, out, PROG, state=state) == paths
    assert _files(out) == _files_of(changed, tmp_path / "fresh")
