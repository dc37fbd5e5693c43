"""The main job end to end on a small inbox, with figures worked out by hand."""

from __future__ import annotations

import csv
import os
import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.intake import TZ
from pipeline.report import run_report
from pipeline.template import Identity, build_workbook
from pipeline.template.sample import MUSTERSTADT, valid_data

BEISPIELHEIM = Identity("06431902", "Beispielheim", 1, 1)
REGISTRY = """ags;name;landkreis;einwohner;verbund_ags;bewilligung_eur;email
06431901;Musterstadt;Bergstraße;20000;;290657.90;a@musterstadt.example
06431902;Beispielheim;Bergstraße;15000;;5000.00;b@beispielheim.example
06431903;Leerdorf;Bergstraße;12000;;290657.90;c@leerdorf.example
"""


def _at(path: Path, day: int) -> Path:
    stamp = datetime(2026, 4, day, 9, 0, tzinfo=TZ).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def _write(path: Path, identity: Identity, change=None, day: int = 1) -> Path:
    data = valid_data(identity)
    if change:
        change(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    return _at(build_workbook(path, identity, data), day)


def _half_time(data) -> None:
    for row in data.rows["tblPersonal"]:
        row["Arbeitgeberbrutto"] = Decimal("4000.00")
        row["Projektanteil"] = Decimal(50)


@pytest.fixture
def inbox(tmp_path: Path) -> tuple[Path, Path]:
    box = tmp_path / "input"
    first = _write(box / "a" / "06431901_PJ1_Q2.xlsx", MUSTERSTADT, day=1)
    _write(box / "b" / "06431901_PJ1_Q2_neu.xlsx", MUSTERSTADT, _half_time, day=5)
    _write(box / "c" / "06431901_PJ1_Q2_kaputt.xlsx", MUSTERSTADT,
           lambda d: d.values.update(TN_WEIBLICH=99), day=9)
    shutil.copy2(first, box / "Kopie.xlsx")
    _at(box / "Kopie.xlsx", 2)
    (box / "notiz.xlsx").write_text("kein Excel", encoding="utf-8")
    _write(box / "06431902_PJ1_Q1.xlsx", BEISPIELHEIM, day=3)
    registry = tmp_path / "verzeichnis.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    return box, registry


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _figure(rows, ags, pj, q, name) -> str:
    hits = [r["wert"] for r in rows if (r["projekt_ags"], r["projektjahr"], r["quartal"],
                                        r["kennzahl"]) == (ags, pj, q, name)]
    assert len(hits) == 1, (ags, pj, q, name, hits)
    return hits[0]


def test_statuses_follow_the_contract(inbox, tmp_path):
    box, registry = inbox
    run_report(box, tmp_path / "out", registry, date(2026, 5, 15))
    status = {r["datei"]: r["status"] for r in _csv(tmp_path / "out" / "eingaenge.csv")}
    assert status == {
        "a/06431901_PJ1_Q2.xlsx": "ersetzt",
        "b/06431901_PJ1_Q2_neu.xlsx": "verwendet",      # newest without errors
        "c/06431901_PJ1_Q2_kaputt.xlsx": "fehlerhaft",  # newer, but with errors
        "Kopie.xlsx": "doppelt",
        "notiz.xlsx": "abgelehnt",
        "06431902_PJ1_Q1.xlsx": "verwendet",
    }


def test_findings_name_file_and_cell(inbox, tmp_path):
    box, registry = inbox
    run_report(box, tmp_path / "out", registry, date(2026, 5, 15))
    rows = _csv(tmp_path / "out" / "befunde.csv")
    assert list(rows[0]) == ["datei", "sha256", "projekt_ags", "projektjahr", "quartal",
                             "blatt", "zelle", "regel", "schwere", "meldung"]
    broken = [r for r in rows if r["datei"] == "c/06431901_PJ1_Q2_kaputt.xlsx"]
    assert [(r["regel"], r["schwere"], r["blatt"]) for r in broken] == [
        ("SUMME", "Fehler", "Angaben")]
    assert broken[0]["zelle"] and broken[0]["projektjahr"] == "1"
    rejected = [r for r in rows if r["datei"] == "notiz.xlsx"]
    assert rejected[0]["regel"] == "DATEI_KEIN_EXCEL"


def test_figures_worked_out_by_hand(inbox, tmp_path):
    box, registry = inbox
    run_report(box, tmp_path / "out", registry, date(2026, 5, 15))
    rows = _csv(tmp_path / "out" / "kennzahlen.csv")
    m = "06431901"
    # Musterstadt PJ1 Q2, from the newest valid file: 3 months × 4.000,00 × 50 % = 6.000,00
    # staff; fees 480,00; volunteers 42,80 + 65,00 = 107,80 (sample receipts).
    assert _figure(rows, m, "1", "2", "personal_gemeldet") == "6000.00"
    assert _figure(rows, m, "1", "2", "honorar_foerderfaehig") == "480.00"
    assert _figure(rows, m, "1", "2", "ehrenamt_foerderfaehig") == "107.80"
    # direct 6.587,80; flat rate 40 % = 2.635,12; eligible 9.222,92
    assert _figure(rows, m, "1", "2", "restkostenpauschale") == "2635.12"
    assert _figure(rows, m, "1", "2", "foerderfaehig_gesamt") == "9222.92"
    # 92 % = 8.485,0864 -> 8.485,09; EU 90 % = 8.300,628 -> 8.300,63; Land 184,46; own 737,83
    assert _figure(rows, m, "1", "2", "zuwendung") == "8485.09"
    assert _figure(rows, m, "1", "2", "eu_anteil") == "8300.63"
    assert _figure(rows, m, "1", "2", "land_anteil") == "184.46"
    assert _figure(rows, m, "1", "2", "eigenanteil") == "737.83"
    assert _figure(rows, m, "1", "", "zuwendung") == "8485.09"
    assert _figure(rows, m, "", "", "tn_gesamt") == "12"
    # Beispielheim PJ1 Q1: staff 3 × 5.490,72 = 16.472,16 (sample), direct 17.059,96,
    # eligible 17.059,96 × 1,4 = 23.883,944 -> 23.883,94 (flat rate rounded: 6.823,98);
    # 92 % = 21.973,22 but the approval is 5.000,00: funding 5.000,00, EU = min(21.495,55,
    # 5.000,00) = 5.000,00, Land 0, own share 23.883,94 − 5.000,00 = 18.883,94
    b = "06431902"
    assert _figure(rows, b, "1", "1", "foerderfaehig_gesamt") == "23883.94"
    assert _figure(rows, b, "1", "1", "zuwendung") == "5000.00"
    assert _figure(rows, b, "1", "1", "eu_anteil") == "5000.00"
    assert _figure(rows, b, "1", "1", "land_anteil") == "0.00"
    assert _figure(rows, b, "1", "1", "eigenanteil") == "18883.94"
    # nothing received from Leerdorf: zeros, still listed
    assert _figure(rows, "06431903", "", "", "zuwendung") == "0.00"
    assert _figure(rows, "GESAMT", "", "", "zuwendung") == "13485.09"
    assert _figure(rows, "GESAMT", "1", "", "tn_gesamt") == "24"


def test_every_level_is_the_sum_of_its_quarters(inbox, tmp_path):
    box, registry = inbox
    run_report(box, tmp_path / "out", registry, date(2026, 5, 15))
    rows = _csv(tmp_path / "out" / "kennzahlen.csv")
    quarters = [r for r in rows if r["quartal"] and r["projekt_ags"] != "GESAMT"]
    for name in ("zuwendung", "foerderfaehig_gesamt", "tn_gesamt", "massnahmen"):
        total = sum(Decimal(r["wert"]) for r in quarters if r["kennzahl"] == name)
        assert Decimal(_figure(rows, "GESAMT", "", "", name)) == total
    apps, figures = 3, 13 + 25
    assert len(rows) == (apps + 1) * (12 + 3 + 1) * figures


def test_volunteers_active_is_the_latest_value_not_a_sum(tmp_path):
    box = tmp_path / "input"
    _write(box / "q1.xlsx", Identity("06431901", "Musterstadt", 1, 1),
           lambda d: d.values.update(EA_AKTIV=5))
    _write(box / "q2.xlsx", MUSTERSTADT, lambda d: d.values.update(EA_AKTIV=8))
    registry = tmp_path / "r.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    run_report(box, tmp_path / "out", registry, date(2026, 5, 15))
    rows = _csv(tmp_path / "out" / "kennzahlen.csv")
    assert _figure(rows, "06431901", "1", "", "ea_aktiv") == "8"
    assert _figure(rows, "06431901", "", "", "ea_aktiv") == "8"
    assert _figure(rows, "06431901", "1", "", "ea_neu") == str(2 * 3)  # flows add up


def test_receipt_number_reused_in_another_quarter_warns(tmp_path):
    box = tmp_path / "input"
    q1 = Identity("06431901", "Musterstadt", 1, 1)
    reused = valid_data(q1).rows["tblBelege"][0]["Belegnummer"]
    _write(box / "q1.xlsx", q1)
    _write(box / "q2.xlsx", MUSTERSTADT,
           lambda d: d.rows["tblBelege"][0].update(Belegnummer=reused))
    run_report(box, tmp_path / "out", None, date(2026, 5, 15))
    rows = [r for r in _csv(tmp_path / "out" / "befunde.csv")
            if r["regel"] == "BELEG_DOPPELT_PROJEKT"]
    assert len(rows) == 1 and rows[0]["datei"] == "q2.xlsx" and rows[0]["schwere"] == "Warnung"
    assert "PJ1 Q1" in rows[0]["meldung"] and reused in rows[0]["meldung"]


def test_two_runs_give_identical_bytes(inbox, tmp_path):
    box, registry = inbox
    for name in ("one", "two"):
        run_report(box, tmp_path / name, registry, date(2026, 5, 15))
    files = sorted(p.name for p in (tmp_path / "one").iterdir() if p.is_file())
    assert {"befunde.csv", "bericht_ministerium.xlsx", "eingaenge.csv",
            "kennzahlen.csv"} <= set(files)
    for name in files:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_cached_and_uncached_runs_give_identical_bytes(inbox, tmp_path):
    box, registry = inbox
    store = tmp_path / "store"
    run_report(box, tmp_path / "cold", registry, date(2026, 5, 15), store_dir=store)
    cached = list((store / "cache").rglob("*.pickle"))
    assert cached  # the cold run filled the cache
    run_report(box, tmp_path / "warm", registry, date(2026, 5, 15), store_dir=store)
    run_report(box, tmp_path / "plain", registry, date(2026, 5, 15), use_cache=False)
    for path in (tmp_path / "cold").iterdir():
        if path.is_file():
            assert path.read_bytes() == (tmp_path / "warm" / path.name).read_bytes(), path.name
            assert path.read_bytes() == (tmp_path / "plain" / path.name).read_bytes(), path.name


def test_parallel_and_sequential_checks_agree(inbox, tmp_path, monkeypatch):
    box, registry = inbox
    for n in range(8):  # enough files for the process pool
        _write(box / "mehr" / f"k{n}.xlsx", Identity("06431903", "Leerdorf", 1, 1 + n % 4),
               day=10 + n)
    monkeypatch.setenv("KISI_WORKERS", "2")
    run_report(box, tmp_path / "par", registry, date(2026, 5, 15), use_cache=False)
    monkeypatch.setenv("KISI_WORKERS", "1")
    run_report(box, tmp_path / "seq", registry, date(2026, 5, 15), use_cache=False)
    for path in (tmp_path / "par").iterdir():
        if path.is_file():
            assert path.read_bytes() == (tmp_path / "seq" / path.name).read_bytes(), path.name


def test_file_names_and_order_do_not_change_the_figures(inbox, tmp_path):
    """The same files under shuffled names and folders (so read in another order)."""
    import random

    box, registry = inbox
    run_report(box, tmp_path / "a", registry, date(2026, 5, 15))
    files = sorted(p for p in box.rglob("*") if p.is_file())
    shuffled = tmp_path / "shuffled"
    names = [f"{n:02d}" for n in range(len(files))]
    random.Random(3).shuffle(names)
    for path, name in zip(files, names, strict=True):
        target = shuffled / name[0] / f"{name}_{path.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    run_report(shuffled, tmp_path / "b", registry, date(2026, 5, 15))
    assert (tmp_path / "a" / "kennzahlen.csv").read_bytes() == (
        tmp_path / "b" / "kennzahlen.csv").read_bytes()


def test_the_result_cache_follows_the_program_source(monkeypatch) -> None:
    """A changed rule or reader must not be served stale results: the cache key covers the
    program's own source, not only its version number."""
    from pipeline import checkcache
    from pipeline.spec import load_programme

    prog = load_programme()
    before = checkcache.cache_key(prog, None)
    checkcache.code_digest.cache_clear()
    real = Path.read_bytes

    def edited(path: Path) -> bytes:
        data = real(path)
        return data + b"\n# edited" if path.name == "coerce.py" else data

    monkeypatch.setattr(Path, "read_bytes", edited)
    try:
        assert checkcache.cache_key(prog, None) != before
    finally:
        checkcache.code_digest.cache_clear()


def test_report_keeps_only_what_later_phases_use(inbox, tmp_path):
    """for_report: fields, measures and receipt numbers stay, the rest of the rows shrink
    to their row numbers; the facts were computed from the full rows before."""
    box, registry = inbox
    result = run_report(box, tmp_path / "out", registry, date(2026, 5, 15))
    used = next(iter(result.used.values())).checked
    sub = used.submission
    assert used.facts is not None and used.facts.sources
    assert all(set(r.values) <= {"Belegnummer"} for r in sub.tables["tblBelege"])
    assert all(r.values == {} for r in sub.tables["tblPersonal"])
    assert sub.tables["tblMassnahmen"] and all(len(r.values) > 1
                                               for r in sub.tables["tblMassnahmen"])
    assert sub.fields


def test_relaxed_gc_leaves_no_young_objects_to_walk_after_the_run():
    """The run's objects are moved to the oldest generation when the block ends, so the
    restored threshold does not make the next allocation walk them all (≈ 20 ms in a warm
    run, just before `kisi` exits)."""
    import gc

    from pipeline.report import relaxed_gc

    before = gc.get_threshold()
    collections: list[int] = []

    def seen(phase, info):
        if phase == "start":
            collections.append(info["generation"])

    with relaxed_gc():
        kept = [[i] for i in range(50_000)]  # containers alive after the block
        assert gc.get_count()[0] > 40_000  # young while the run goes on
        gc.callbacks.append(seen)
    try:
        after = [[i] for i in range(100)]  # the next allocations (fewer than 700)
    finally:
        gc.callbacks.remove(seen)
    assert gc.get_threshold() == before
    assert collections == [] and len(kept) == 50_000 and len(after) == 100
