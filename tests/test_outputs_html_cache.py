"""The compiled HTML template kept in the state folder gives the page a fresh one gives."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import jinja2
import pytest

from pipeline.outputs import html
from pipeline.outputs.view import ReportView
from pipeline.report import run_report
from pipeline.spec import load_programme
from pipeline.template import build_workbook
from pipeline.template.sample import MUSTERSTADT, valid_data

STICHTAG = date(2026, 5, 15)


@pytest.fixture(scope="module")
def view(tmp_path_factory) -> ReportView:
    root = tmp_path_factory.mktemp("html")
    (root / "in").mkdir()
    build_workbook(root / "in" / "a.xlsx", MUSTERSTADT, valid_data(MUSTERSTADT))
    result = run_report(root / "in", root / "out", None, STICHTAG)
    return ReportView(result, load_programme(), STICHTAG)


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("vorlage-*.jinja"))


def test_the_cached_template_renders_the_same_page(view, tmp_path, monkeypatch) -> None:
    fresh = html.render(view)
    assert html.render(view, tmp_path) == fresh  # compiles and keeps the code
    [entry] = _entries(tmp_path)
    compiled = []
    original = jinja2.Environment.compile
    monkeypatch.setattr(jinja2.Environment, "compile",
                        lambda self, *a, **k: compiled.append(1) or original(self, *a, **k))
    assert html.render(view, tmp_path) == fresh
    assert compiled == []  # loaded, not compiled
    assert _entries(tmp_path) == [entry]


@pytest.mark.parametrize("damage", [b"", b"garbage", None])
def test_a_damaged_or_foreign_entry_is_compiled_again(view, tmp_path, damage) -> None:
    fresh = html.render(view, tmp_path)
    [entry] = _entries(tmp_path)
    good = entry.read_bytes()
    if damage is None:  # another program version wrote it: other stamp
        entry.write_bytes(b"0" * 64 + good[64:])
    else:
        entry.write_bytes(good[:65] + damage)
    assert html.render(view, tmp_path) == fresh
    assert entry.read_bytes() == good  # rewritten


def test_a_folder_that_cannot_be_written_only_costs_the_compilation(view, tmp_path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert html.render(view, blocked) == html.render(view)
