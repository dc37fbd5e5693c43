"""A rerun on the same output folder (the warm run): reports whose inputs did not change are
left alone, herkunft.csv and the Herkunft sheets take the rows of unchanged submissions from
the previous run (the sheets: compressed, wherever the rows now are), and every file is byte
for byte what a fresh run writes."""

from __future__ import annotations

import marshal
import os
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from pipeline.intake import TZ
from pipeline.outputs import audit_lineage, lineage, write, xlsxstream
from pipeline.report import run_report
from pipeline.template import Identity, build_workbook
from pipeline.template.sample import valid_data

STICHTAG = date(2026, 11, 30)
REGISTRY = """ags;name;landkreis;einwohner;verbund_ags;bewilligung_eur;email
06431901;Musterstadt;Bergstraße;20000;;290657.90;a@musterstadt.example
06431902;Beispielheim;Bergstraße;15000;;290657.90;b@beispielheim.example
06431903;Leerdorf;Odenwald;12000;;290657.90;c@leerdorf.example
"""
APPS = [("06431901", "Musterstadt"), ("06431902", "Beispielheim"), ("06431903", "Leerdorf")]


def _workbook(box: Path, name: str, who: Identity, day: int, receipts: int | None = None,
              corrected: bool = False) -> Path:
    """A valid workbook; `receipts`: keep that many receipts; `corrected`: one more
    counselling contact than the sample (the same rows with another value)."""
    data = valid_data(who)
    if receipts is not None:
        data.rows["tblBelege"] = data.rows["tblBelege"][:receipts]
    if corrected:
        data.values["BERATUNGEN"] = int(data.values["BERATUNGEN"]) + 1
    path = build_workbook(box / name, who, data)
    stamp = datetime(2026, 3 * who.quartal + 1, day, 9, 0, tzinfo=TZ).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def make_inbox(tmp_path: Path) -> tuple[Path, Path]:
    """Two quarters of each of APPS, and the registry (also used by test_audit_splice)."""
    box = tmp_path / "eingang"
    box.mkdir()
    for day, (ags, name) in enumerate(APPS, start=1):
        for q in (1, 2):
            _workbook(box, f"{ags}_PJ1_Q{q}.xlsx", Identity(ags, name, 1, q), day)
    registry = tmp_path / "verzeichnis.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    return box, registry


@pytest.fixture
def inbox(tmp_path: Path) -> tuple[Path, Path]:
    return make_inbox(tmp_path)


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())
            if p.is_file() and not p.name.startswith(".")}


def _fresh(box: Path, registry: Path, tmp_path: Path, name: str) -> dict[str, bytes]:
    out = tmp_path / name
    run_report(box, out, registry, STICHTAG, use_cache=False)
    return _outputs(out)


@pytest.fixture
def rendered(monkeypatch) -> dict[str, int]:
    """How many lineage parts were rendered (not copied) for herkunft.csv and the sheets
    (in one process: a forked child would count for itself)."""
    monkeypatch.setenv("KISI_WORKERS", "1")
    counts = {"csv": 0, "xml": 0}
    csv_render, xml_chunks = lineage.CsvRows.render, audit_lineage._Rows.chunks

    def render(self, rows):
        counts["csv"] += 1
        return csv_render(self, rows)

    def chunks(self, rows, s):
        counts["xml"] += 1
        return xml_chunks(self, rows, s)

    monkeypatch.setattr(lineage.CsvRows, "render", render)
    monkeypatch.setattr(audit_lineage._Rows, "chunks", chunks)
    return counts


@pytest.mark.parametrize("rows_per_sheet", [None, 150])
def test_a_new_file_gives_the_bytes_of_a_fresh_run(inbox, tmp_path, monkeypatch, rendered,
                                                   rows_per_sheet):
    """A corrected first quarter of the first project with fewer receipts: every later part
    moves up on the Herkunft sheets (small sheets: parts run over a sheet's end)."""
    if rows_per_sheet:
        monkeypatch.setattr(audit_lineage, "ROWS_PER_SHEET", rows_per_sheet)
    box, registry = inbox
    out = tmp_path / "ausgabe"
    run_report(box, out, registry, STICHTAG)
    _workbook(box, "06431901_PJ1_Q1_korrektur.xlsx", Identity(*APPS[0], 1, 1), 20,
              receipts=1)
    rendered.update(csv=0, xml=0)
    run_report(box, out, registry, STICHTAG)
    assert rendered["csv"] == 1  # only the new submission's rows
    if rows_per_sheet:  # parts that now run over a sheet's end are rendered again
        assert rendered["xml"] >= 1
    else:  # the rows carry no numbers: the moved parts are copied, compressed
        assert rendered["xml"] == 1
    assert _outputs(out) == _fresh(box, registry, tmp_path, "frisch")


def test_unchanged_parts_at_the_same_place_are_copied(inbox, tmp_path, rendered):
    box, registry = inbox
    out = tmp_path / "ausgabe"
    run_report(box, out, registry, STICHTAG)
    # the last project's second quarter, corrected: nothing before it moves
    _workbook(box, "06431903_PJ1_Q2_korrektur.xlsx", Identity(*APPS[2], 1, 2), 25,
              corrected=True)
    rendered.update(csv=0, xml=0)
    run_report(box, out, registry, STICHTAG)
    assert rendered == {"csv": 1, "xml": 1}
    assert _outputs(out) == _fresh(box, registry, tmp_path, "frisch")


def test_a_rerun_without_changes_leaves_the_reports_alone(inbox, tmp_path, rendered):
    box, registry = inbox
    out = tmp_path / "ausgabe"
    run_report(box, out, registry, STICHTAG)
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.iterdir()
              if p.is_file() and p.suffix in (".csv", ".xlsx", ".html")}
    rendered.update(csv=0, xml=0)
    run_report(box, out, registry, STICHTAG)
    after = {name: ((out / name).stat().st_ino, (out / name).stat().st_mtime_ns)
             for name in before}
    # ausnahmen_angewendet.csv is written by the report itself, every time
    assert {n for n in before if before[n] != after[n]} == {"ausnahmen_angewendet.csv"}
    assert rendered == {"csv": 0, "xml": 0}
    # another Stichtag is another input: everything is written again
    run_report(box, out, registry, date(2026, 12, 31))
    assert all((out / n).stat().st_ino != before[n][0] for n in before)
    fresh = tmp_path / "frisch2"
    run_report(box, fresh, registry, date(2026, 12, 31), use_cache=False)
    assert _outputs(out) == _outputs(fresh)


def test_a_report_someone_changed_is_written_again(inbox, tmp_path):
    box, registry = inbox
    out = tmp_path / "ausgabe"
    run_report(box, out, registry, STICHTAG)
    expected = _outputs(out)
    (out / "kennzahlen.csv").write_text("bearbeitet\n", encoding="utf-8")
    (out / "herkunft.csv").write_bytes(b"x" * len(expected["herkunft.csv"]))
    (out / "bericht_amif.xlsx").unlink()
    run_report(box, out, registry, STICHTAG)
    assert _outputs(out) == expected


def test_a_changed_herkunft_csv_is_not_a_source_of_rows(inbox, tmp_path):
    """The rows of the previous herkunft.csv are only taken while it is the file we wrote."""
    box, registry = inbox
    out = tmp_path / "ausgabe"
    run_report(box, out, registry, STICHTAG)
    path = out / "herkunft.csv"
    path.write_bytes(path.read_bytes().replace(b"06431902", b"06431999"))
    _workbook(box, "06431903_PJ1_Q2_korrektur.xlsx", Identity(*APPS[2], 1, 2), 25,
              corrected=True)
    run_report(box, out, registry, STICHTAG)
    assert _outputs(out) == _fresh(box, registry, tmp_path, "frisch")


@pytest.mark.parametrize("damage", ["records", "blob", "blob_short", "index"])
def test_damaged_state_only_costs_time(inbox, tmp_path, damage):
    box, registry = inbox
    store = tmp_path / "archiv"
    out = tmp_path / "ausgabe"
    run_report(box, out, registry, STICHTAG, store_dir=store)
    state = next((store / "cache").glob("berichte-*"))
    records, blob = state / write.STATE_FILE, state / write.LINEAGE_CHUNKS
    if damage == "records":
        records.write_bytes(b"{kein marshal")
    elif damage == "blob":  # same size, other bytes: the stat check notices the change
        blob.write_bytes(b"<" * blob.stat().st_size)
    elif damage == "blob_short":
        blob.write_bytes(b"")
    else:  # offsets past the end of the XML (the file itself is intact)
        data = marshal.loads(records.read_bytes())
        extra = data["files"][write.BACKGROUND][2]
        for span in extra["chunks"].values():
            span[0] += 10**9
        records.write_bytes(marshal.dumps(data))
    _workbook(box, "06431903_PJ1_Q2_korrektur.xlsx", Identity(*APPS[2], 1, 2), 25,
              corrected=True)
    run_report(box, out, registry, STICHTAG, store_dir=store)
    assert _outputs(out) == _fresh(box, registry, tmp_path, "frisch")


def test_parallel_and_in_process_warm_runs_agree(inbox, tmp_path, monkeypatch):
    """The audit workbook in a forked child (2 workers) or in the process (1 worker)."""
    box, registry = inbox
    results = {}
    for workers in ("1", "2"):
        monkeypatch.setenv("KISI_WORKERS", workers)
        copy = tmp_path / f"w{workers}" / "eingang"
        shutil.copytree(box, copy)
        out = tmp_path / f"w{workers}" / "ausgabe"
        run_report(copy, out, registry, STICHTAG)
        _workbook(copy, "06431901_PJ1_Q2_korrektur.xlsx", Identity(*APPS[0], 1, 2), 20,
                  receipts=2)
        run_report(copy, out, registry, STICHTAG)
        results[workers] = _outputs(out)
    assert results["1"] == results["2"]
    assert results["1"] == _fresh(tmp_path / "w1" / "eingang", registry, tmp_path, "frisch")


def test_the_kept_xml_survives_a_zip64_retry(inbox, tmp_path, monkeypatch, rendered):
    """A Herkunft sheet past the ZIP64 limit is streamed twice (here: the limit lies in the
    middle of the rows); the XML kept for the next run is that of the second pass."""
    monkeypatch.setattr(xlsxstream, "ZIP64_AT", 30_000)  # bytes; the sheet has ≈ 100 KB
    box, registry = inbox
    out = tmp_path / "ausgabe"
    run_report(box, out, registry, STICHTAG)
    for n, (who, day) in enumerate([(APPS[2], 25), (APPS[1], 26)]):
        _workbook(box, f"{who[0]}_PJ1_Q2_korrektur.xlsx", Identity(*who, 1, 2), day,
                  corrected=True)
        rendered.update(csv=0, xml=0)
        run_report(box, out, registry, STICHTAG)
        assert rendered["csv"] == 1
        assert _outputs(out) == _fresh(box, registry, tmp_path, f"frisch{n}")
