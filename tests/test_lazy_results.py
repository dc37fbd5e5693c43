"""Cached results keep long tables packed until read, and cross-quarter findings are
cached per application: the findings and reports stay those of a fresh run."""

from __future__ import annotations

import copy
import csv
import pickle
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import pipeline.report as report
from pipeline.packed import MIN_ITEMS, Packed
from pipeline.read.submission import Row
from pipeline.report import run_report
from pipeline.template import Identity, build_workbook
from pipeline.template.sample import valid_data
from tests.support import check

Q1 = Identity("06431901", "Musterstadt", 1, 1)
Q2 = Identity("06431901", "Musterstadt", 1, 2)
OTHER = Identity("06431902", "Beispielheim", 1, 1)
RECEIPTS = MIN_ITEMS + 8


def _many_receipts(identity: Identity, reuse: str | None = None):
    """The sample workbook's data with RECEIPTS receipts (enough to be packed); `reuse`
    replaces the number of receipt 35 (inside the packed table)."""
    data = valid_data(identity)
    first = data.rows["tblBelege"][0]
    rows = []
    for n in range(1, RECEIPTS + 1):
        row = copy.deepcopy(first)
        row.update(LfdNr=n, Belegnummer=f"{identity.ags}-Q{identity.quartal}-{n:03d}",
                   Betrag=Decimal("10.00"))
        rows.append(row)
    if reuse is not None:
        rows[34]["Belegnummer"] = reuse
    data.rows["tblBelege"] = rows
    return data


def _write(path: Path, identity: Identity, reuse: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return build_workbook(path, identity, _many_receipts(identity, reuse))


def test_packed_is_a_read_only_list_until_read():
    items = [("a", 1), ("b", 2), ("c", 3)]
    packed = Packed.of(items, len(items), list)
    assert len(packed) == 3 and not packed.loaded  # the length needs no unpickling
    again = pickle.loads(pickle.dumps(packed))
    assert isinstance(again, Packed) and not again.loaded
    assert again == items and list(again) == items and again[1] == ("b", 2)
    assert again[-1:] == [("c", 3)] and again.loaded
    assert pickle.loads(pickle.dumps(again)) == items  # read ones pickle as lists
    first = again[0]
    again.release()  # forgotten, read again from the same bytes when needed
    assert not again.loaded and len(again) == 3
    assert again[0] == first and again[0] is not first and list(again) == items
    assert packed != [("a", 1)] and packed == Packed.of(items, 3, list)
    with pytest.raises(TypeError):
        hash(packed)


def test_a_long_table_survives_the_cache_packed(tmp_path):
    checked = check(_write(tmp_path / "q1.xlsx", Q1))
    sub = checked.submission
    assert len(sub.tables["tblBelege"]) == RECEIPTS
    again = pickle.loads(pickle.dumps(checked, pickle.HIGHEST_PROTOCOL))
    sources = again.facts.sources  # the audit rows' cells: packed too
    assert isinstance(sources, Packed) and not sources.loaded
    assert len(sources) == len(checked.facts.sources) >= RECEIPTS
    assert again.facts == checked.facts and sources.loaded
    back = again.submission
    receipts = back.tables["tblBelege"]
    assert isinstance(receipts, Packed) and not receipts.loaded
    staff = back.tables["tblPersonal"]  # short tables too: read only where shown
    assert isinstance(staff, Packed) and not staff.loaded and staff == sub.tables["tblPersonal"]
    # Unread, it pickles to the same bytes (a cached result copied on is not re-encoded).
    assert pickle.loads(pickle.dumps(back)).tables["tblBelege"]._blob == receipts._blob
    assert receipts == sub.tables["tblBelege"] and isinstance(receipts[0], Row)
    assert receipts[34].values["Belegnummer"].value == "06431901-Q1-035"
    assert back.tables == sub.tables and back.fields == sub.fields


def _warnings(out: Path) -> list[dict[str, str]]:
    with (out / "befunde.csv").open(encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["regel"] == "BELEG_DOPPELT_PROJEKT"]


def test_cross_quarter_findings_are_cached_per_application(tmp_path, monkeypatch):
    box, store = tmp_path / "input", tmp_path / "store"
    _write(box / "q1.xlsx", Q1)
    _write(box / "q2.xlsx", Q2, reuse="06431901-Q1-007")
    _write(box / "other.xlsx", OTHER)
    calls: list[str] = []
    real = report.run_application_rules

    def counting(ctx):
        calls.append(ctx.ags)
        return real(ctx)

    monkeypatch.setattr(report, "run_application_rules", counting)
    cold_run = run_report(box, tmp_path / "cold", None, date(2026, 9, 30), store_dir=store)
    assert sorted(calls) == ["06431901", "06431902"]
    # The receipts were read by those rules and then let go (memory: a cold run would
    # otherwise keep every receipt until it ends); they read back the same.
    receipts = [e.checked.submission.tables["tblBelege"] for e in cold_run.used.values()]
    assert receipts and all(isinstance(t, Packed) and not t.loaded for t in receipts)
    assert sorted(len(t) for t in receipts) == sorted(
        len(_many_receipts(i).rows["tblBelege"]) for i in (Q1, Q2, OTHER))
    [cold] = _warnings(tmp_path / "cold")
    assert cold["datei"] == "q2.xlsx" and "06431901-Q1-007" in cold["meldung"]

    calls.clear()
    run_report(box, tmp_path / "warm", None, date(2026, 9, 30), store_dir=store)
    assert calls == []  # nothing changed: every application's findings from the cache
    for path in (tmp_path / "cold").glob("*.*"):
        assert path.read_bytes() == (tmp_path / "warm" / path.name).read_bytes(), path.name

    # A corrected Q2 (no reused number) changes that application's findings only.
    _write(box / "q2.xlsx", Q2)
    run_report(box, tmp_path / "fixed", None, date(2026, 9, 30), store_dir=store)
    assert calls == ["06431901"] and _warnings(tmp_path / "fixed") == []
    plain = tmp_path / "plain"
    run_report(box, plain, None, date(2026, 9, 30), use_cache=False)
    for path in plain.glob("*.*"):
        assert path.read_bytes() == (tmp_path / "fixed" / path.name).read_bytes(), path.name
