"""Text is data: municipal strings never become formulas, links or markup in any output."""

from __future__ import annotations

import csv
import re
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from pipeline.report import run_report
from pipeline.template import Identity, build_workbook
from pipeline.template.sample import MUSTERSTADT, valid_data

FORMULA = '=HYPERLINK("http://x","y")'
SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'
REGISTRY = f"""ags;name;landkreis;einwohner;verbund_ags;bewilligung_eur;email
06431901;{SCRIPT};=1+2;20000;;290657.90;a@musterstadt.example
06431902;{FORMULA.replace('"', "'")};Bergstraße;15000;;5000.00;b@beispielheim.example
"""
WORKBOOKS = ("bericht_ministerium.xlsx", "bericht_amif.xlsx", "pruefpfad.xlsx")


def _hostile(data) -> None:
    data.values.update(SB_ERGEBNISSE=FORMULA, SB_AUSBLICK=SCRIPT,
                       SB_HERAUSFORDERUNGEN="http://example.org/phish")
    data.rows["tblBelege"][0]["Empfaenger"] = FORMULA
    data.rows["tblMassnahmen"][0]["Titel"] = FORMULA
    data.rows["tblMassnahmen"][1]["Titel"] = SCRIPT


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    box = root / "input"
    box.mkdir()
    data = valid_data(MUSTERSTADT)
    _hostile(data)
    build_workbook(box / "=1+1.xlsx", MUSTERSTADT, data)
    broken = valid_data(Identity("06431902", "x", 1, 1))
    broken.values.update(TN_WEIBLICH=99)
    build_workbook(box / f"{IMG}.xlsx", Identity("06431902", "x", 1, 1), broken)
    registry = root / "r.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    result = run_report(box, root / "out", registry, date(2026, 5, 15))
    assert [e.status for e in result.entries if e.received.datei == "=1+1.xlsx"] == [
        "verwendet"]
    return root / "out"


@pytest.mark.parametrize("name", WORKBOOKS)
def test_workbooks_hold_no_formula_and_no_external_link(out, name):
    with zipfile.ZipFile(out / name) as z:
        for part in z.namelist():
            xml = z.read(part).decode("utf-8")
            if part.startswith("xl/worksheets/sheet"):
                assert "<f>" not in xml and "<f " not in xml, part
            assert 'TargetMode="External"' not in xml, part
    wb = openpyxl.load_workbook(out / name)
    texts = []
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (ws.title, cell.coordinate)
                    texts.append(cell.value)
                if cell.hyperlink is not None:
                    assert cell.hyperlink.location and not cell.hyperlink.target
    if name == "bericht_ministerium.xlsx":
        assert FORMULA in texts and SCRIPT in texts and "=1+2" in texts
        assert "http://example.org/phish" in texts


def test_html_escapes_everything(out):
    page = (out / "uebersicht.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=" in page
    assert not re.search(r'(src|href)="(https?:)?//', page), "no external assets"


def test_csv_outputs_neutralise_formulas(out):
    with (out / "herkunft.csv").open(encoding="utf-8", newline="") as fh:
        files = {r["datei"] for r in csv.DictReader(fh)}
    assert files == {"'=1+1.xlsx"}
