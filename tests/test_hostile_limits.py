"""The heavy hostile files, each checked by the real pipeline in a child process that may use
at most 1.5 GB of address space: it must finish cleanly, within the time budget, with the
expected status and finding.

Why a child: a reader that inflates a bomb or builds millions of cells would take the test
process (or the machine) down with it; RLIMIT_AS turns that into a clean MemoryError there,
and ru_maxrss tells how much memory the check really needed.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests import hostile as H
from tests.test_hostile import SECONDS_PER_FILE, ident

MEMORY_LIMIT = 1536 * 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent

# Runs run_report on one inbox file (or only check_bytes, the read-and-validate step);
# prints statuses, findings and the measured cost as JSON.
CHILD = r"""
import csv, json, resource, sys, time
from datetime import date
from pathlib import Path
mode, box, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
if mode == "check":
    from pipeline.spec import load_programme
    from pipeline.validate import check_bytes
    (path,) = box.iterdir()
    started = time.perf_counter()
    checked = check_bytes(path.read_bytes(), path.name, "0" * 64, load_programme())
    seconds = time.perf_counter() - started
    status = {path.name: "abgelehnt" if not checked.readable else
              "fehlerhaft" if checked.errors else "verwendet"}
    findings = [(f.datei, f.regel, f.meldung) for f in checked.findings]
else:
    from pipeline.report import run_report
    started = time.perf_counter()
    run_report(box, out, None, date(2026, 5, 15))
    seconds = time.perf_counter() - started
    with (out / "eingaenge.csv").open(encoding="utf-8") as fh:
        status = {r["datei"]: r["status"] for r in csv.DictReader(fh)}
    with (out / "befunde.csv").open(encoding="utf-8") as fh:
        findings = [(r["datei"], r["regel"], r["meldung"]) for r in csv.DictReader(fh)]
print(json.dumps({"status": status, "findings": findings[:50], "count": len(findings),
                  "longest": max((len(m) for _, _, m in findings), default=0),
                  "seconds": seconds,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_child(tmp_path: Path, name: str, data: bytes, timeout: float = 60,
              mode: str = "report") -> dict:
    box = tmp_path / "eingang"
    box.mkdir()
    (box / name).write_bytes(data)
    env = {**os.environ, "KISI_WORKERS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CHILD, mode, str(box), str(tmp_path / "aus")],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env,
                          preexec_fn=_limit_memory)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def assert_outcome(result: dict, datei: str, status: str, rule: str, fragment: str) -> None:
    assert result["status"] == {datei: status}, result
    assert any(d == datei and r == rule and fragment in m for d, r, m in result["findings"]), \
        result["findings"]
    # the report run (imports excluded) of a single file stays within the per-file budget
    assert result["seconds"] <= SECONDS_PER_FILE + 2, result["seconds"]


def test_real_zip_bomb_with_default_limits(tmp_path: Path) -> None:
    bomb = H.spaces_bomb(H.valid_bytes(), H.ANGABEN)  # 2 MB that inflate to 2 GiB
    assert len(bomb) < 3_000_000
    result = run_child(tmp_path, "bombe.xlsx", bomb)
    assert_outcome(result, "bombe.xlsx", "abgelehnt", "DATEI_ENTPACKT_ZU_GROSS",
                   "2147483648 Byte")
    assert result["max_rss_mb"] < 600


def test_bomb_behind_a_lying_header(tmp_path: Path) -> None:
    # the headers claim 20 kB; the stream inflates to 2 GiB: zipfile stops at the claim
    bomb = H.spaces_bomb(H.valid_bytes(), H.ANGABEN, declared=20_000)
    result = run_child(tmp_path, "luegt.xlsx", bomb)
    assert_outcome(result, "luegt.xlsx", "abgelehnt", "DATEI_BESCHAEDIGT", "CRC")
    assert result["max_rss_mb"] < 600


def test_bomb_inside_an_archive(tmp_path: Path) -> None:
    inner = H.spaces_bomb(H.valid_bytes(), H.ANGABEN)
    archive = H.spaces_bomb(H.zip_bytes({"bericht.xlsx": b"x", "bombe.xlsx": inner}),
                            "bericht.xlsx")
    result = run_child(tmp_path, "paket.zip", archive)
    assert_outcome(result, "paket.zip", "abgelehnt", "ARCHIV_UNLESBAR", "2147483648 Byte")


def test_bzip2_member_is_refused_before_inflating(tmp_path: Path) -> None:
    # 64 kB of bzip2 can inflate to gigabytes in one read(): refused by method, unread
    data = H.with_method(H.valid_bytes(), H.ANGABEN, 12, b" " * 20_000_000)
    result = run_child(tmp_path, "bz.xlsx", data)
    assert_outcome(result, "bz.xlsx", "abgelehnt", "DATEI_BESCHAEDIGT",
                   "Komprimierungsverfahren 12")
    assert result["max_rss_mb"] < 600


def long_text_everywhere(rows: int) -> bytes:
    """One 32,767-character shared string (about 32 kB in the file) referenced by every
    text cell of `rows` receipts: Kostenart, Empfaenger and Zweck all break a rule."""
    data = H.big_table(H.valid_bytes(ident(40)), rows)
    return H.edit(data, H.SHARED, "<si><t>Honorar</t></si>", f"<si><t>{'Ä' * 32_767}</t></si>")


def test_one_long_text_in_every_cell_of_a_table(tmp_path: Path) -> None:
    """Read once, quoted shortened, never multiplied: without the cap on quoted text and the
    shared normalised copy, each row held four copies of it (about 1 GB for 5,000 rows)."""
    result = run_child(tmp_path, "lang.xlsx", long_text_everywhere(5_000), mode="check")
    assert result["status"] == {"lang.xlsx": "fehlerhaft"}
    assert {r for _, r, _ in result["findings"]} >= {"LISTE", "TEXT_ZU_LANG"}
    # LISTE and TEXT_ZU_LANG in each of 5,000 rows, capped at 200 per rule, plus one
    # BEFUNDE_GEKUERZT note per capped rule: 2 × 200 + 2
    assert result["count"] == 2 * 200 + 2 and result["longest"] < 1000
    assert result["max_rss_mb"] < 1000
    assert result["seconds"] <= SECONDS_PER_FILE


def test_many_findings_in_one_file_are_reported_fast(tmp_path: Path) -> None:
    try:
        result = run_child(tmp_path, "lang.xlsx", long_text_everywhere(5_000),
                           timeout=SECONDS_PER_FILE + 2)
    except subprocess.TimeoutExpired:
        pytest.fail("took longer than the time budget")
    assert result["seconds"] <= SECONDS_PER_FILE


def test_long_tables_are_cut_short(tmp_path: Path) -> None:
    """100,000 filled rows; and a 27 kB file whose table range reaches row 1,048,576 with
    one cell there. Both must be decided within the budget of one file each."""
    box = tmp_path / "eingang"
    box.mkdir()
    (box / "zeilen.xlsx").write_bytes(H.big_table(H.valid_bytes(ident(41)), 100_000))
    far = H.edit(H.valid_bytes(ident(42)), H.TABLE_BELEGE, 'ref="A4:H24"', 'ref="A4:H1048576"')
    far = H.edit(far, H.BELEGE, "</sheetData>",
                 '<row r="1048576"><c r="H1048576"><v>1</v></c></row></sheetData>')
    (box / "weit.xlsx").write_bytes(far)
    env = {**os.environ, "KISI_WORKERS": "1", "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, "report", str(box),
                               str(tmp_path / "aus")], capture_output=True, text=True,
                              timeout=2 * SECONDS_PER_FILE + 2, cwd=ROOT, env=env,
                              preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail("took longer than the time budget")
    result = json.loads(done.stdout.splitlines()[-1])
    # 100,000 rows × 8 columns exceed max_cells (500,000): refused while parsing; the far
    # table range holds one cell only and is read without walking a million rows.
    assert result["status"] == {"zeilen.xlsx": "abgelehnt", "weit.xlsx": "fehlerhaft"}
    rules = {(d, r) for d, r, _ in result["findings"]}
    assert ("zeilen.xlsx", "DATEI_ZU_VIELE_ZELLEN") in rules
