"""No municipal text is ever live in what we write: every CSV, workbook and HTML page under
the output folder is scanned for formulas, links and markup made of the texts we received.

The texts arrive as file names (a cell of eingaenge.csv/befunde.csv that starts with them),
as cell values quoted in findings (the `Wert` column of the findings sheets) and as narrative
and receipt texts that the reports copy.
"""

from __future__ import annotations

import csv
import os
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from pipeline.intake import TZ
from pipeline.outputs.csvs import neutralise
from pipeline.report import run_report
from pipeline.template.sample import valid_data
from tests import hostile as H
from tests.test_hostile import ident

HOSTILE = ['=HYPERLINK("http://evil.example/x","klick")', "+1+1", "-2+3", "@SUM(A1)", "\t=1",
           "\r=2+2", "<script>alert('kisi')</script>"]
FILE_NAMES = ["=1+1.xlsx", "+1+1.xlsx", "-2+3.xlsx", "@SUM(A1).xlsx", "\t=1.xlsx"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?")
STORE = "eingangsarchiv"


def _workbook(n: int, text: str, broken: bool) -> bytes:
    who = ident(n)
    data = valid_data(who)
    rows = data.rows["tblBelege"]
    rows[0]["Empfaenger"], rows[1]["Zweck"] = text, text
    if broken:  # quoted back in a finding: LISTE shows the value in `Wert`
        rows[2]["Kostenart"] = text
    values = {"SB_ERGEBNISSE": text, "SB_HERAUSFORDERUNGEN": text + " und mehr",
              "SB_AUSBLICK": text, "ANSPRECHPERSON": text}
    return H.workbook_bytes(who, values=values, rows=data.rows)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("injection")
    box = root / "eingang"
    box.mkdir()
    stamp = datetime(2026, 4, 3, 10, 0, tzinfo=TZ).timestamp()
    for n, text in enumerate(HOSTILE):
        name = FILE_NAMES[n] if n < len(FILE_NAMES) else f"bericht_{n}.xlsx"
        for broken in (False, True):
            path = box / ("fehler" if broken else "gut") / name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(_workbook(50 + n + 10 * broken, text, broken))
            os.utime(path, (stamp, stamp))
    for name in FILE_NAMES:  # the names at the top of the inbox: `datei` starts with them
        (box / name).write_bytes(b"kein Excel")
    result = run_report(box, root / "ausgabe", None, date(2026, 5, 15))
    used = [e for e in result.entries if e.status == "verwendet"]
    assert len(used) == len(HOSTILE), [(e.received.datei, e.status) for e in result.entries]
    return root / "ausgabe"


def _outputs(out: Path, suffix: str) -> list[Path]:
    return sorted(p for p in out.rglob(f"*{suffix}") if STORE not in p.relative_to(out).parts)


def _cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def _is_number(text: str) -> bool:
    if not NUMBER.fullmatch(text):
        return False
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def test_no_csv_cell_starts_like_a_formula(out: Path) -> None:
    files = _outputs(out, ".csv")
    assert {"befunde.csv", "eingaenge.csv", "kennzahlen.csv"} <= {p.name for p in files}
    for path in files:
        for cell in _cells(path):
            assert not cell.startswith(TRIGGERS) or _is_number(cell), (path.name, cell)


def test_hostile_file_names_are_neutralised_in_csv(out: Path) -> None:
    cells = set(_cells(out / "eingaenge.csv")) | set(_cells(out / "befunde.csv"))
    for name in FILE_NAMES:
        assert "'" + name in cells, name
        assert name not in cells


def test_numbers_are_never_neutralised(out: Path) -> None:
    for path in _outputs(out, ".csv"):
        for cell in _cells(path):
            assert not (cell.startswith("'") and _is_number(cell[1:])), (path.name, cell)
    figures = list(csv.DictReader((out / "kennzahlen.csv").open(encoding="utf-8")))
    assert figures and all(_is_number(r["wert"]) for r in figures)
    assert neutralise("-12.50") == "'-12.50"  # text is text; numbers never reach neutralise


def _sheet_xml(path: Path) -> list[tuple[str, str]]:
    with zipfile.ZipFile(path) as zf:
        return [(n, zf.read(n).decode("utf-8")) for n in zf.namelist()
                if n.endswith(".xml") or n.endswith(".rels")]


def test_no_workbook_holds_a_formula_or_link_made_of_received_text(out: Path) -> None:
    books = _outputs(out, ".xlsx")
    assert any(p.name == "bericht_ministerium.xlsx" for p in books)
    fragments = ("HYPERLINK", "evil.example", "SUM(A1)", "1+1", "2+3", "alert")
    seen_texts = 0
    for path in books:
        for part, xml in _sheet_xml(path):
            for formula in re.findall(r"<f[^>]*>([^<]*)</f>", xml):
                assert not any(f in formula for f in fragments), (path.name, part, formula)
            for target in re.findall(r'Target="([^"]+)"[^>]*TargetMode="External"', xml):
                assert "evil" not in target, (path.name, part, target)
            for link in re.findall(r"<hyperlink [^>]*>", xml):
                assert "evil" not in link and "location=" in link, (path.name, part, link)
            seen_texts += xml.count("evil.example")
    assert seen_texts, "the hostile texts should appear in the reports, as plain text"


def test_workbook_text_cells_keep_the_text_exactly(out: Path) -> None:
    import openpyxl

    book = openpyxl.load_workbook(out / "bericht_ministerium.xlsx")
    found = set()
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value in HOSTILE:
                    assert cell.data_type == "s", (ws.title, cell.coordinate, cell.value)
                    found.add(cell.value)
    assert found, "the narratives of used submissions are copied as text"


def test_html_escapes_markup(out: Path) -> None:
    pages = _outputs(out, ".html")
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "<script>alert" not in html, page.name
        assert 'href="http://evil' not in html, page.name
