"""scripts/bench.py must not rot: its generator, one measurement and its tables run on three
workbooks. No timing assertions here; timings belong in the benchmark (make bench)."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

from pipeline.service import validate_files

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(SCRIPTS))
    spec = importlib.util.spec_from_file_location("kisi_bench", SCRIPTS / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_measurement_and_tables(bench: ModuleType, tmp_path: Path) -> None:
    inbox = bench.data.ensure_inbox("smoke", n_apps=1, n_files=3, base=tmp_path, workers=1,
                                    log=False)
    assert [f.name for f in inbox.files] == [
        "06431900_PJ1_Q1.xlsx", "06431900_PJ1_Q2.xlsx", "06431900_PJ1_Q3.xlsx"]
    assert inbox.extra is not None and inbox.extra.name == "06431900_PJ1_Q3_korrektur.xlsx"
    # Cached: a second call keeps the files (same inodes) instead of generating again.
    inodes = [f.stat().st_ino for f in inbox.files]
    again = bench.data.ensure_inbox("smoke", n_apps=1, n_files=3, base=tmp_path, workers=1,
                                    log=False)
    assert [f.stat().st_ino for f in again.files] == inodes

    # Valid workbooks of the promised size: no findings at all.
    checked = validate_files([*inbox.files, inbox.extra], inbox.registry)
    assert [f for c in checked for f in c.findings] == []
    sub = checked[0].submission
    assert len(sub.tables["tblBelege"]) == bench.data.RECEIPTS
    assert len(sub.tables["tblPersonal"]) == 9
    assert len(sub.tables["tblMassnahmen"]) == bench.data.MEASURES

    parts, inflated = bench.measure.floor_parse(inbox.files)
    assert parts >= 3 * 2 and inflated > 0
    timing = bench.measure.repeat(lambda: bench.measure.floor_parse(inbox.files), 2)
    assert len(timing.runs) == 2

    run = bench.measure.run_phases(inbox.inbox, tmp_path / "out", inbox.registry,
                                   date(2028, 12, 31))
    assert {"check_all", "write_outputs", "other", "total"} <= set(run.seconds)
    assert (run.files, run.used, run.errors) == (3, 3, 0)
    phases = {**run.seconds, "#files": run.files, "#used": run.used, "#errors": run.errors}
    assert run.seconds["write_outputs › write_feedback"] > 0  # rendered here, and timed

    # cold and warm through a running `kisi server`, as the bench measures them
    with bench.measure.Resident(tmp_path / "dienst") as server:
        colds, warms = bench.kisi_cold_warm(inbox, 1, runs_dir=tmp_path / "runs", env=server)
    assert [(r.errors, r.warnings) for r in colds + warms] == [(0, 0), (0, 0)]
    assert "3 Datei(en)" in colds[0].stdout and "4 Datei(en)" in warms[0].stdout

    # The tables and verdicts render from a results dict (synthetic numbers).
    def t(s: float, files: int = 3) -> dict[str, object]:
        return {"median_s": s, "runs_s": [s], "cpu_median_s": s, "files": files, "note": ""}

    def k(s: float, files: int = 3) -> dict[str, object]:
        return {**t(s, files), "peak_tree_bytes": 300_000_000,
                "peak_single_bytes": 200_000_000, "max_processes": 3}

    results = {"repeat": 1, "timings": {"floor": {**t(0.1), "parts": parts,
                                                  "inflated_bytes": inflated},
                                        "floor_parallel": {**t(0.1), "workers": 2},
                                        "naive": t(3.0), "big_floor": t(0.05, 1)},
               "kisi": {"cold": k(0.4), "warm": k(0.1, 4), "cold_4x": k(1.6, 12),
                        "big_cold": k(0.3, 1), "cold_server": k(0.3),
                        "warm_server": k(0.02, 4)},
               "phases": phases, "loadavg_start": (0.0, 0.0, 0.0)}
    results["targets"] = [x.as_dict() for x in bench.targets(results)]
    verdicts = {x["target"]: x["verdict"] for x in results["targets"]}
    assert verdicts["cold ≤ 5× the floor"] == "PASS"
    assert verdicts["warm ≤ 10 % of cold"] == "FAIL"
    assert verdicts["warm ≤ 10 % of cold, both with kisi server"] == "PASS"
    assert bench.sanity(results) == []
    assert "Targets" in bench.report(results) and "| --- |" in bench.report(results, True)
