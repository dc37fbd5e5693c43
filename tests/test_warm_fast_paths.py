"""The short cuts a warm run takes are exact: the fast worksheet writes xlsxwriter's bytes,
the kept confirmation gives openpyxl's bytes, the intake memo gives the archive check's
verdict, and the run does not import what it does not use."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from pipeline.feedback import confirm
from pipeline.feedback.model import ReportInfo
from pipeline.intake import Store, collect, iter_collect, statindex
from pipeline.intake.collect import Plain
from pipeline.outputs.xlsxkit import OPTIONS, FastSheet, put
from pipeline.spec import load_programme
from pipeline.template import Identity, build_workbook
from pipeline.template.sample import valid_data

PROG = load_programme()


def _book(worksheet_class) -> bytes:
    """A workbook with every kind of cell a report writes, and some it never does."""
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {**OPTIONS, "in_memory": True})
    wb.worksheet_class = worksheet_class
    bold, money = wb.add_format({"bold": True}), wb.add_format({"num_format": "0.00"})
    dated = wb.add_format({"num_format": "dd.mm.yyyy"})
    ws = wb.add_worksheet("Eins")
    ws.set_column(3, 3, 12, money)
    ws.set_row(5, 30, bold)
    for row in range(40):
        put(ws, row, 0, f"Text {row % 7} <&> \"x\"", bold)
        put(ws, row, 1, Decimal(row) / 3, money)
        put(ws, row, 2, row * 1e15 if row % 2 else -row, None)
        put(ws, row, 3, row)  # the column's format
        put(ws, row, 4, date(2026, 1, 1 + row % 28), dated)
        put(ws, row, 5, None, bold)
        put(ws, row, 6, row % 3 == 0, None)
    ws.write_string(5, 7, "in a formatted row")
    ws.write_formula(6, 7, "=SUM(B1:B3)", money, 12.5)
    ws.write_url(7, 7, "internal:'Zwei'!A1", string="Sprung")
    ws.write_rich_string(8, 7, "a ", bold, "fett", " b")
    ws.write_boolean(9, 7, True, bold)
    other = wb.add_worksheet("Zwei")
    other.write_number(0, 0, 1.5, money)
    other.write_string(1, 0, "Text 3 <&> \"x\"", dated)
    wb.set_properties({"created": datetime(2026, 1, 1)})
    wb.close()
    return buffer.getvalue()


def test_the_fast_worksheet_writes_xlsxwriters_bytes():
    assert _book(FastSheet) == _book(Worksheet)


def test_put_refuses_a_cell_outside_the_sheet():
    wb = xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True})
    ws = wb.add_worksheet()
    for value in ("text", 1, Decimal(1), 1.0):
        with pytest.raises(ValueError, match="außerhalb"):
            put(ws, 1_048_576, 0, value)


def _info() -> ReportInfo:
    return ReportInfo("a.xlsx", "ab" * 32, "06431901", "Musterstadt", "PJ1 Q1",
                      datetime(2026, 4, 1, 9), "Verwendbar.", date(2026, 4, 30),
                      datetime(2026, 5, 15, 8))


def test_a_kept_confirmation_gives_the_rendered_bytes(tmp_path, monkeypatch):
    figures = [("Neue Teilnehmende", "12")]
    expected = confirm.summary_bytes(_info(), (), figures)
    stored = tmp_path / "bestaetigung.json"
    assert confirm.confirmation_bytes(_info(), figures, stored, "env") == expected
    assert json.loads(stored.read_bytes())["environment"] == "env"
    # a later process: nothing rendered yet, the file is read instead of importing openpyxl
    monkeypatch.setattr(confirm, "_read", {})
    confirm._template.cache_clear()
    monkeypatch.setattr(confirm, "summary_bytes", lambda *a: pytest.fail("rendered again"))
    assert confirm.confirmation_bytes(_info(), figures, stored, "env") == expected


@pytest.mark.parametrize("damage", ["other environment", "not json", "wrong types"])
def test_a_damaged_kept_confirmation_is_rendered_again(tmp_path, monkeypatch, damage):
    expected = confirm.summary_bytes(_info(), (), ())
    stored = tmp_path / "bestaetigung.json"
    confirm.confirmation_bytes(_info(), (), stored, "env")
    data = json.loads(stored.read_bytes())
    if damage == "other environment":
        stored.write_bytes(json.dumps({**data, "environment": "alt"}).encode())
    elif damage == "not json":
        stored.write_bytes(stored.read_bytes()[:100])
    else:
        stored.write_bytes(json.dumps({**data, "head": 7}).encode())
    monkeypatch.setattr(confirm, "_read", {})
    confirm._template.cache_clear()
    assert confirm.confirmation_bytes(_info(), (), stored, "env") == expected


def test_the_intake_memo_keeps_the_archive_verdict(tmp_path):
    box = tmp_path / "eingang"
    who = Identity("06431901", "Musterstadt", 1, 1)
    build_workbook(box / "a.xlsx", who, valid_data(who))
    with zipfile.ZipFile(box / "paket.dat", "w") as zf:  # an archive not named .zip
        zf.write(box / "a.xlsx", "innen/a.xlsx")
    store = Store(tmp_path / "archiv")
    first = collect(box, store, PROG.limits)
    plain = Plain(store, PROG.limits)
    assert plain.known == {r.sha256 for r in first if r.datei == "a.xlsx"}
    again = collect(box, store, PROG.limits)
    assert [(r.datei, r.sha256) for r in again] == [(r.datei, r.sha256) for r in first]
    assert [r.datei for r in again] == ["a.xlsx", "paket.dat › innen/a.xlsx"]


def _reads(monkeypatch) -> list[str]:
    """Names of the inbox files the intake reads (the store's files are not counted)."""
    read: list[str] = []
    real = Path.read_bytes

    def counting(self: Path) -> bytes:
        if "eingang" in self.parts:
            read.append(self.name)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    return read


def test_an_unchanged_file_is_not_read_again_but_a_changed_one_is(tmp_path, monkeypatch):
    monkeypatch.setattr(statindex, "SETTLED_NS", 0)  # (files here are younger than 3 s)
    box = tmp_path / "eingang"
    who = Identity("06431901", "Musterstadt", 1, 1)
    build_workbook(box / "a.xlsx", who, valid_data(who))
    build_workbook(box / "b.xlsx", who, valid_data(who))
    store = Store(tmp_path / "archiv")
    first = collect(box, store, PROG.limits)
    read = _reads(monkeypatch)
    assert collect(box, store, PROG.limits) == first and read == []
    # Other bytes, same size and modification time: the change time tells.
    old = (box / "b.xlsx").stat()
    data = bytearray((box / "b.xlsx").read_bytes())
    data[-30] ^= 0xFF
    (box / "b.xlsx").write_bytes(bytes(data))
    os.utime(box / "b.xlsx", ns=(old.st_atime_ns, old.st_mtime_ns))
    read.clear()
    again = collect(box, store, PROG.limits)
    assert read == ["b.xlsx"]
    assert again[0] == first[0] and again[1].sha256 != first[1].sha256
    assert again[1].path.read_bytes() == bytes(data)


def test_the_stat_index_trusts_only_settled_files_and_survives_damage(tmp_path, monkeypatch):
    box = tmp_path / "eingang"
    who = Identity("06431901", "Musterstadt", 1, 1)
    build_workbook(box / "a.xlsx", who, valid_data(who))
    store = Store(tmp_path / "archiv")
    first = collect(box, store, PROG.limits)  # changed just now: not remembered
    read = _reads(monkeypatch)
    assert collect(box, store, PROG.limits) == first and read == ["a.xlsx"]
    monkeypatch.setattr(statindex, "SETTLED_NS", 0)
    collect(box, store, PROG.limits)
    [index] = (store.root / "cache").glob("eingang-stat-*.json")
    good = json.loads(index.read_bytes())
    stat = good["files"]["a.xlsx"][:5]  # the right stat with a hash that is no hash:
    odd = json.dumps({**good, "files": {"a.xlsx": [*stat, "../" + "0" * 61]}}).encode()
    for damage in (b"{", b"[]", b'{"format": 1, "files": {"a.xlsx": [1, 2]}}', odd):
        index.write_bytes(damage)
        read.clear()
        assert collect(box, store, PROG.limits) == first and read == ["a.xlsx"]
    read.clear()  # repaired by the last run; the report's uncached path reads all files
    assert collect(box, store, PROG.limits) == first and read == []
    assert list(iter_collect(box, store, PROG.limits, trust_stat=False)) == first
    assert read == ["a.xlsx"]
    # The store lost the bytes: read again and stored again.
    first[0].path.chmod(0o644)
    first[0].path.unlink()
    read.clear()
    assert collect(box, store, PROG.limits) == first and read == ["a.xlsx"]
    assert first[0].path.is_file()


HEAVY = ("openpyxl", "numpy", "pandas", "email.policy", "email.utils", "xml.sax.saxutils",
         "importlib.metadata", "concurrent.futures", "multiprocessing")


def test_start_up_does_not_import_what_a_run_may_not_need():
    """`kisi` and the rendering modules imported while the workers check: openpyxl (with
    numpy) is imported only to write a marked-up copy or to render the confirmation once,
    the email package only for an .eml or a draft (and by the feedback's process), the
    process pool only when files need checking."""
    code = ("import sys, pipeline.cli, pipeline.report as r; r.import_rendering(); "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, cwd=Path(__file__).parent)
    assert found.stdout.strip() == "[]"
