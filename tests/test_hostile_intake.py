"""Intake under hostile conditions, through run_report: files and attachments above the size
limits (with small limits, so that the test files stay small), links in the inbox, and a
file that kills the process checking it."""

from __future__ import annotations

import csv
import dataclasses
import os
from datetime import date
from pathlib import Path

import pytest

from pipeline import report
from pipeline.intake import Received
from pipeline.report import run_report
from pipeline.spec import Programme, load_programme
from pipeline.validate import Checked
from tests import hostile as H
from tests.test_hostile import ident

SMALL = dataclasses.replace(load_programme().limits, max_file_bytes=200_000,
                            max_container_bytes=1_000_000)


def _small_programme() -> Programme:
    prog = load_programme()
    return dataclasses.replace(prog, limits=SMALL)


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _run(box: Path, out: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    run_report(box, out, None, date(2026, 5, 15))
    status = {r["datei"]: r["status"] for r in _csv(out / "eingaenge.csv")}
    return status, _csv(out / "befunde.csv")


def test_files_and_attachments_above_the_limits(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "load_programme", _small_programme)
    box = tmp_path / "eingang"
    box.mkdir()
    (box / "gross.xlsx").write_bytes(os.urandom(300_000))  # above the workbook limit
    (box / "riesig.eml").write_bytes(b"x" * 1_000_001)  # above the container limit
    (box / "anhang.eml").write_bytes(H.mail([("Bericht.xlsx", os.urandom(300_000), H.XLSX_MIME),
                                             ("ok.xlsx", H.valid_bytes(ident(70)), H.XLSX_MIME)]))
    (box / "archiv.zip").write_bytes(H.zip_bytes({"innen.xlsx": os.urandom(300_000)}, method=0))
    status, findings = _run(box, tmp_path / "aus")
    assert status == {"gross.xlsx": "abgelehnt", "riesig.eml": "abgelehnt",
                      "anhang.eml › Bericht.xlsx": "abgelehnt",
                      "anhang.eml › ok.xlsx": "verwendet",
                      "archiv.zip › innen.xlsx": "abgelehnt"}
    by_file = {f["datei"]: (f["regel"], f["meldung"]) for f in findings if f["schwere"] == "Fehler"}
    assert by_file["gross.xlsx"] == ("DATEI_ZU_GROSS", by_file["gross.xlsx"][1])
    assert "0.3 MB groß; erlaubt sind höchstens 0 MB" in by_file["gross.xlsx"][1]
    assert by_file["riesig.eml"][0] == "DATEI_ZU_GROSS"
    assert by_file["anhang.eml › Bericht.xlsx"][0] == "DATEI_ZU_GROSS"
    assert by_file["archiv.zip › innen.xlsx"][0] == "ARCHIV_UNLESBAR"
    # the oversized e-mail was streamed into the store, never parsed, and kept
    objects = [p for p in (tmp_path / "aus" / "eingangsarchiv" / "objects").rglob("*")
               if p.is_file()]
    assert any(p.stat().st_size == 1_000_001 for p in objects)


def test_links_in_the_inbox_are_not_followed(tmp_path: Path) -> None:
    box = tmp_path / "eingang"
    (box / "unter").mkdir(parents=True)
    outside = tmp_path / "geheim.xlsx"
    outside.write_bytes(H.valid_bytes(ident(71)))
    (box / "link.xlsx").symlink_to(outside)
    (box / "unter" / "oben").symlink_to(box, target_is_directory=True)
    (box / "unter" / "wurzel").symlink_to("/", target_is_directory=True)
    (box / "echt.xlsx").write_bytes(H.valid_bytes(ident(72)))
    status, _ = _run(box, tmp_path / "aus")
    assert status == {"echt.xlsx": "verwendet"}


def dying_check(received: Received, prog: Programme, known: frozenset[str] | None) -> Checked:
    """Stands in for a reader bug that kills the process (a segfault in a C library)."""
    if "absturz" in received.datei:
        os._exit(70)
    return _REAL_CHECK(received, prog, known)


_REAL_CHECK = report.check_received


def test_a_file_that_kills_its_process_does_not_take_the_others_down(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "check_received", dying_check)
    monkeypatch.setenv("KISI_WORKERS", "2")
    box = tmp_path / "eingang"
    box.mkdir()
    for n in range(8):
        (box / f"notiz{n}.xlsx").write_bytes(f"kein Excel {n}".encode())
    (box / "absturz.xlsx").write_bytes(b"PK")
    (box / "gut.xlsx").write_bytes(H.valid_bytes(ident(73)))
    status, findings = _run(box, tmp_path / "aus")
    assert status["absturz.xlsx"] == "abgelehnt" and status["gut.xlsx"] == "verwendet"
    assert all(status[f"notiz{n}.xlsx"] == "abgelehnt" for n in range(8))
    crash = [f for f in findings if f["datei"] == "absturz.xlsx"]
    assert [f["regel"] for f in crash] == ["DATEI_ABSTURZ"]
    assert "Prüfprozess abgebrochen" in crash[0]["meldung"]
