"""Killed runs and concurrent runs never corrupt outputs, store or ledger."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from pipeline.lock import run_lock
from pipeline.report import ConfigError, run_report
from pipeline.template import Identity
from tests.test_report import REGISTRY, _write

RUN = ("import sys; from pathlib import Path; from datetime import date;"
       "from pipeline.report import run_report;"
       "run_report(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), date(2026, 5, 15))")


def _inbox(root: Path, n: int) -> Path:
    box = root / "in"
    for i in range(n):
        ags = ("06431901", "06431902", "06431903")[i % 3]
        _write(box / f"f{i:02d}.xlsx", Identity(ags, "X", 1 + (i // 12) % 3, 1 + i % 4),
               lambda d, i=i: d.values.update(TELEFON=f"0611 {i}"), day=1 + i % 20)
    return box


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()
            and not p.name.startswith(".")}


def test_second_concurrent_run_stops_with_a_german_message(tmp_path):
    registry = tmp_path / "r.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    (tmp_path / "in").mkdir()
    with run_lock(tmp_path / "out"), pytest.raises(ConfigError, match="anderer Berichtslauf"):
        run_report(tmp_path / "in", tmp_path / "out", registry, date(2026, 5, 15))
    run_report(tmp_path / "in", tmp_path / "out", registry, date(2026, 5, 15))  # free again


def test_sigkill_at_random_moments_leaves_previous_outputs_intact(tmp_path):
    registry = tmp_path / "r.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    box = _inbox(tmp_path, 24)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    cmd = [sys.executable, "-c", RUN, str(box), str(out), str(registry)]
    subprocess.run(cmd, check=True, env=env)
    before = _outputs(out)
    _write(box / "neu.xlsx", Identity("06431902", "X", 2, 2), day=28)  # a new file arrives
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", RUN, str(box), str(tmp_path / "ref"), str(registry)],
                   check=True, env=env)
    duration = time.monotonic() - started
    reference = _outputs(tmp_path / "ref")
    rng = random.Random(7)
    for _ in range(4):
        proc = subprocess.Popen(cmd, env=env, start_new_session=True)
        time.sleep(rng.uniform(0.05, duration))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for name, data in _outputs(out).items():
            # every output file is whole: the previous run's or the new complete one
            assert data in (before.get(name), reference.get(name)), name
        con = sqlite3.connect(out / "eingangsarchiv" / "ledger.sqlite")
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
    subprocess.run(cmd, check=True, env=env)
    assert _outputs(out) == reference
    assert not list(out.glob(".*.tmp"))  # leftovers of killed runs are cleaned up
