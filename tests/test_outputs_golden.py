"""Golden tests: report values read back cell by cell against figures worked out by hand.

Inbox (Stichtag 15.04.2026, registry: three applications in the Landkreis Bergstraße):
- Musterstadt 06431901, PJ1 Q2: staff 3 months × 4.000,00 × 50 % = 6.000,00; fees 480,00;
  volunteers 42,80 + 65,00 = 107,80 (sample receipts); approval 290.657,90.
- Beispielheim 06431902, PJ1 Q1: staff 3 × 5.490,72 = 16.472,16 (sample), same receipts;
  approval 5.000,00. Its PJ1 Q2 report has an error (gender breakdown ≠ total).
- Leerdorf 06431903: nothing received.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from pipeline.intake import TZ
from pipeline.report import run_report
from pipeline.template import Identity, build_workbook
from pipeline.template.sample import MUSTERSTADT, valid_data

STICHTAG = date(2026, 4, 15)
BEISPIELHEIM = Identity("06431902", "Beispielheim", 1, 1)
BEISPIELHEIM_Q2 = Identity("06431902", "Beispielheim", 1, 2)
REGISTRY = """ags;name;landkreis;einwohner;verbund_ags;bewilligung_eur;email
06431901;Musterstadt;Bergstraße;20000;;290657.90;a@musterstadt.example
06431902;Beispielheim;Bergstraße;15000;;5000.00;b@beispielheim.example
06431903;Leerdorf;Bergstraße;12000;;290657.90;c@leerdorf.example
"""
M, B, L = "06431901", "06431902", "06431903"
# Hand-worked figures (see test_report.py for the arithmetic).
MUSTER = {"personal": Decimal("6000.00"), "honorar": Decimal("480.00"),
          "ehrenamt": Decimal("107.80"), "direkt": Decimal("6587.80"),
          "pauschale": Decimal("2635.12"), "gesamt": Decimal("9222.92"),
          "zuwendung": Decimal("8485.09"), "eu": Decimal("8300.63"),
          "land": Decimal("184.46"), "eigen": Decimal("737.83")}
# Beispielheim: direct 17.059,96; flat rate 6.823,984 -> 6.823,98; eligible 23.883,94;
# 92 % = 21.973,2248 -> 21.973,22, capped at the approval 5.000,00; EU 90 % = 21.495,546 ->
# 21.495,55, at most the funding: 5.000,00; Land 0; own share 18.883,94.
BEISPIEL = {"personal": Decimal("16472.16"), "honorar": Decimal("480.00"),
            "ehrenamt": Decimal("107.80"), "direkt": Decimal("17059.96"),
            "pauschale": Decimal("6823.98"), "gesamt": Decimal("23883.94"),
            "zuwendung": Decimal("5000.00"), "eu": Decimal("5000.00"),
            "land": Decimal("0.00"), "eigen": Decimal("18883.94")}


def _build(path: Path, identity: Identity, change=None, day: int = 1) -> None:
    data = valid_data(identity)
    if change:
        change(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    build_workbook(path, identity, data)
    stamp = datetime(2026, 4, day, 9, 0, tzinfo=TZ).timestamp()
    os.utime(path, (stamp, stamp))


def _half_time(data) -> None:
    for row in data.rows["tblPersonal"]:
        row["Arbeitgeberbrutto"] = Decimal("4000.00")
        row["Projektanteil"] = Decimal(50)


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("golden")
    box = root / "input"
    _build(box / "06431901_PJ1_Q2.xlsx", MUSTERSTADT, _half_time)
    _build(box / "06431902_PJ1_Q1.xlsx", BEISPIELHEIM, day=2)
    _build(box / "06431902_PJ1_Q2.xlsx", BEISPIELHEIM_Q2,
           lambda d: d.values.update(TN_WEIBLICH=99), day=3)
    registry = root / "verzeichnis.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    run_report(box, root / "out", registry, STICHTAG)
    return root / "out"


def rows_of(ws, header_row: int) -> list[dict[str, object]]:
    """Data rows as dicts keyed by 'group/header' (group row above, if any)."""
    heads = [c.value for c in ws[header_row]]
    groups: list[object] = [None] * len(heads)
    if header_row == 2:
        current = None
        for i, c in enumerate(ws[1]):
            current = c.value if c.value is not None else (current if i else None)
            groups[i] = current
    keys = [f"{g}/{h}" if g else str(h) for g, h in zip(groups, heads, strict=True)]
    return [dict(zip(keys, (c.value for c in row), strict=True))
            for row in ws.iter_rows(min_row=header_row + 1)]


def pick(rows: list[dict], **where: object) -> dict:
    hits = [r for r in rows if all(r.get(k) == v for k, v in where.items())]
    assert len(hits) == 1, (where, len(hits))
    return hits[0]


def money(value: object) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def assert_money(row: dict, expected: dict[str, Decimal]) -> None:
    assert {k: money(row[k]) for k in expected} == expected


def finance_expectation(f: dict[str, Decimal]) -> dict[str, Decimal]:
    return {
        "gemeldete Ausgaben/Personal": f["personal"],
        "gemeldete Ausgaben/Honorare": f["honorar"],
        "gemeldete Ausgaben/Ehrenamt": f["ehrenamt"],
        "gemeldete Ausgaben/gemeldet gesamt": f["personal"] + f["honorar"] + f["ehrenamt"],
        "förderfähig nach Obergrenzen/Personal": f["personal"],
        "förderfähig nach Obergrenzen/direkte Kosten": f["direkt"],
        "förderfähig nach Obergrenzen/Restkostenpauschale": f["pauschale"],
        "förderfähig nach Obergrenzen/förderfähig gesamt": f["gesamt"],
        "Finanzierung/Zuwendung": f["zuwendung"], "Finanzierung/davon EU": f["eu"],
        "Finanzierung/davon Land": f["land"], "Finanzierung/Eigenanteil Kommune": f["eigen"],
    }


def test_ministry_overview_status_matrix_and_kpis(out):
    ws = openpyxl.load_workbook(out / "bericht_ministerium.xlsx")["Übersicht"]
    kpi = {ws.cell(3, c).value: ws.cell(4, c).value for c in range(1, ws.max_column + 1)}
    assert kpi["Anträge"] == 3 and kpi["Quartalsberichte verwendet"] == 2
    assert kpi["überfällig"] == 2            # Musterstadt Q1, Leerdorf Q1
    assert kpi["nur fehlerhaft eingereicht"] == 1
    assert kpi["fehlt (Frist läuft)"] == 1   # Leerdorf Q2: ended 31.03., due 30.04.
    assert money(kpi["Zuwendung bisher"]) == Decimal("13485.09")
    assert money(kpi["Bewilligung"]) == Decimal("586315.80")
    assert kpi["neue Teilnehmende"] == 24
    matrix = rows_of(ws, 6)
    assert [r["AGS"] for r in matrix] == [M, B, L]
    assert [(r["PJ1 Q1"], r["PJ1 Q2"], r["PJ1 Q3"]) for r in matrix] == [
        ("überfällig", "verwendet", "noch nicht fällig"),
        ("verwendet", "fehlerhaft", "noch nicht fällig"),
        ("überfällig", "fehlt", "noch nicht fällig")]
    assert ws.freeze_panes == "C7" and ws.auto_filter.ref.startswith("A6")


def test_ministry_finance_per_application(out):
    wb = openpyxl.load_workbook(out / "bericht_ministerium.xlsx")
    ws = wb["Finanzen"]
    rows = rows_of(ws, 2)
    assert_money(pick(rows, AGS=M, Projektjahr="PJ1"), finance_expectation(MUSTER))
    assert_money(pick(rows, AGS=B, Projektjahr="gesamt"), finance_expectation(BEISPIEL))
    zero = pick(rows, AGS=L, Projektjahr="gesamt")
    assert money(zero["Finanzierung/Zuwendung"]) == 0
    muster = pick(rows, AGS=M, Projektjahr="gesamt")
    assert muster["Bewilligung/Ausschöpfung (kumuliert)"] == pytest.approx(
        8485.09 / 290657.90)
    assert pick(rows, AGS=B, Projektjahr="PJ1")["Bewilligung/Ausschöpfung (kumuliert)"] == 1
    total = pick(rows, AGS="GESAMT", Projektjahr="gesamt")
    assert money(total["Finanzierung/Zuwendung"]) == Decimal("13485.09")
    assert money(total["Bewilligung/Bewilligung"]) == Decimal("586315.80")
    assert ws.freeze_panes == "C3" and ws.auto_filter.ref == f"A2:T{ws.max_row}"
    assert ws.cell(3, 5).number_format == '#,##0.00 "€"'


def test_ministry_finance_per_landkreis(out):
    rows = rows_of(openpyxl.load_workbook(out / "bericht_ministerium.xlsx")
                   ["Finanzen Landkreise"], 2)
    both = {k: MUSTER[k] + BEISPIEL[k] for k in MUSTER}
    row = pick(rows, Landkreis="Bergstraße", Projektjahr="PJ1")
    assert row["Anträge"] == 3
    assert_money(row, finance_expectation(both))
    assert money(both["eigen"]) == Decimal("19621.77")
    assert row["Bewilligung/Ausschöpfung (kumuliert)"] == pytest.approx(13485.09 / 586315.80)


def test_ministry_people_and_narratives(out):
    wb = openpyxl.load_workbook(out / "bericht_ministerium.xlsx")
    people = rows_of(wb["Teilnehmende"], 2)
    muster = pick(people, AGS=M, Projektjahr="PJ1")
    assert muster["Teilnehmende (neu in diesem Quartal)/Neue Teilnehmende insgesamt"] == 12
    assert muster["nach Geschlecht/weiblich"] == 5
    assert muster["davon vermittelt in/einen Sprachkurs"] == 4
    total = pick(people, AGS="GESAMT", Projektjahr="PJ1")
    assert total["Teilnehmende (neu in diesem Quartal)/Neue Teilnehmende insgesamt"] == 24
    volunteers = pick(rows_of(wb["Ehrenamt"], 2), AGS=M, Projektjahr="gesamt")
    assert volunteers["Ehrenamtliche/aktiv am Quartalsende (letzter Stand)"] == 9
    measures = pick(rows_of(wb["Maßnahmen"], 2), AGS="GESAMT", Projektjahr="PJ1")
    assert measures["insgesamt/Maßnahmen"] == 4 and measures["insgesamt/Teilnehmende"] == 48
    assert measures["Anzahl nach Format/Informationsveranstaltung"] == 2
    listed = rows_of(wb["Maßnahmenliste"], 1)
    assert len(listed) == 4 and listed[0]["Titel"].startswith("Infoabend")
    narratives = rows_of(wb["Sachberichte"], 1)
    assert [(r["AGS"], r["PJ"], r["Quartal"]) for r in narratives] == [(M, 1, 2), (B, 1, 1)]
    assert narratives[0]["Ausblick"].startswith("Ausbau der Schulungen")
    assert wb.sheetnames == ["Übersicht", "Finanzen", "Finanzen Landkreise", "Teilnehmende",
                             "Ehrenamt", "Maßnahmen", "Maßnahmenliste", "Sachberichte",
                             "Befunde", "Diagramme"]


def test_ministry_has_native_charts(out):
    import zipfile
    with zipfile.ZipFile(out / "bericht_ministerium.xlsx") as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 3


def test_amif_indicators_and_suppression(out):
    wb = openpyxl.load_workbook(out / "bericht_amif.xlsx")
    rows = {r["Code"]: r for r in rows_of(wb["Indikatoren"], 2)}
    pj, gj = "Projektjahr (1.10.–30.9.)", "EU-Geschäftsjahr (1.7.–30.6.)"
    assert rows["O.2.2"][f"{pj}/PJ1"] == 24 and rows["O.2.2"]["bis Stichtag/kumuliert"] == 24
    assert rows["O.2.2"][f"{gj}/GJ 2025/26"] == 24 and rows["O.2.2"][f"{gj}/GJ 2026/27"] == 0
    assert rows["O.2.2.1"][f"{pj}/PJ1"] == 8
    assert rows["O.2.3"][f"{pj}/PJ1"] == 2 and rows["O.2.6"]["bis Stichtag/kumuliert"] == 2
    assert rows["O.2.3"][f"{pj}/PJ2"] == 0
    assert rows["R.2.8"][f"{pj}/PJ1"] == 14
    # 1 + 1 persons applied for recognition: published as "<3" wherever the 2 shows; the
    # other cells are 0, so nothing else reveals it (PJ1 = GJ 2025/26 = total ∈ {1, 2}).
    r29 = rows["R.2.9"]
    assert [r29[f"{pj}/PJ1"], r29[f"{gj}/GJ 2025/26"], r29["bis Stichtag/kumuliert"]] == [
        "<3", "<3", "<3"]
    assert r29[f"{pj}/PJ2"] == 0


def test_amif_financial_data_at_cutoffs(out):
    wb = openpyxl.load_workbook(out / "bericht_amif.xlsx")
    rows = rows_of(wb["Finanzdaten"], 1)
    assert [r["Übermittlung bis"].date() for r in rows] == [date(2025, 11, 30),
                                                          date(2026, 1, 31)]
    assert rows[0]["enthaltene Quartale"] == "keine"
    jan = rows[1]  # only PJ1 Q1 (Beispielheim) had ended by 31.01.2026
    assert jan["enthaltene Quartale"] == "PJ1 Q1"
    assert [money(jan[k]) for k in ("förderfähige Ausgaben", "EU (AMIF)", "Land Hessen",
                                    "Kommunen (Eigenanteil)", "Zuwendung (EU + Land)")] == [
        BEISPIEL["gesamt"], BEISPIEL["eu"], BEISPIEL["land"], BEISPIEL["eigen"],
        BEISPIEL["zuwendung"]]
    year = pick(rows_of(wb["Finanzen je GJ"], 1), **{"EU-Geschäftsjahr": "GJ 2025/26"})
    assert money(year["EU (AMIF)"]) == Decimal("13300.63")
    assert money(year["Land Hessen"]) == Decimal("184.46")
    assert money(year["Kommunen (Eigenanteil)"]) == Decimal("19621.77")


def test_audit_derivation_and_links(out):
    wb = openpyxl.load_workbook(out / "pruefpfad.xlsx")
    ws = wb["Herleitung"]
    rows = rows_of(ws, 2)
    assert [(r["AGS"], r["PJ"], r["Quartal"]) for r in rows] == [(M, 1, 2), (B, 1, 1)]
    b = rows[1]
    assert money(b["Personal/gemeldet"]) == BEISPIEL["personal"]
    assert money(b["Personal/Obergrenze"]) == Decimal("65888.69")
    assert money(b["Pauschale und Zuwendung/Zuwendung rechnerisch"]) == Decimal("21973.22")
    assert money(b["Pauschale und Zuwendung/Bewilligung"]) == Decimal("5000.00")
    assert money(b["Pauschale und Zuwendung/Zuwendung"]) == Decimal("5000.00")
    assert money(b["Finanzierungsanteile/EU rechnerisch"]) == Decimal("21495.55")
    assert money(b["Finanzierungsanteile/Eigenanteil"]) == BEISPIEL["eigen"]
    lineage = wb["Herkunft"]
    for col, kennzahl in ((5, "personal_gemeldet"), (9, "honorar_gemeldet"),
                          (13, "ehrenamt_gemeldet")):
        link = ws.cell(3, col).hyperlink
        assert link is not None and link.location.startswith("'Herkunft'!A")
        target = int(link.location.split("!A")[1])
        assert [lineage.cell(target, c).value for c in range(1, 5)] == [kennzahl, M, 1, 2]
    staff = [r for r in rows_of(lineage, 1) if r["Kennzahl"] == "personal_gemeldet"
             and r["AGS"] == M]
    assert [(r["Zelle"], money(r["Wert"])) for r in staff] == [
        (r["Zelle"], Decimal("2000.00")) for r in staff] and len(staff) == 3


def test_audit_manifest_register_and_rules(out):
    import pipeline
    from pipeline.rules import RULES
    from pipeline.spec import load_programme
    wb = openpyxl.load_workbook(out / "pruefpfad.xlsx")
    manifest = {r["Angabe / Datei"]: r["Wert / SHA-256"] for r in rows_of(wb["Lauf"], 1)}
    assert manifest["Programmversion (KISI-Berichtswesen)"] == pipeline.__version__
    assert manifest["Programmspezifikation programm.toml, SHA-256"] == load_programme().digest
    assert manifest["Stichtag"] == "15.04.2026"
    assert len(manifest["Projektverzeichnis, SHA-256"]) == 64
    assert len(manifest["06431902_PJ1_Q2.xlsx"]) == 64
    register = {r["Datei"]: r["Status"] for r in rows_of(wb["Eingänge"], 1)}
    assert register == {"06431901_PJ1_Q2.xlsx": "verwendet",
                        "06431902_PJ1_Q1.xlsx": "verwendet",
                        "06431902_PJ1_Q2.xlsx": "fehlerhaft"}
    assert {r["Regel"] for r in rows_of(wb["Regeln"], 1)} == set(RULES)
    assert any(r["Regel"] == "SUMME" for r in rows_of(wb["Befunde"], 1))


def test_lineage_sums_reproduce_kennzahlen(out):
    check_lineage(out)


def check_lineage(out: Path) -> int:
    """Σ herkunft.csv per key == the kennzahlen.csv quarter row, for every traced figure."""
    with (out / "herkunft.csv").open(encoding="utf-8", newline="") as fh:
        lineage = list(csv.DictReader(fh))
    with (out / "kennzahlen.csv").open(encoding="utf-8", newline="") as fh:
        figures = list(csv.DictReader(fh))
    traced = {r["kennzahl"] for r in lineage}
    assert {"personal_gemeldet", "honorar_gemeldet", "ehrenamt_gemeldet", "tn_gesamt",
            "massnahmen_teilnehmende"} <= traced
    sums: dict[tuple, Decimal] = defaultdict(Decimal)
    for r in lineage:
        sums[(r["kennzahl"], r["projekt_ags"], r["projektjahr"], r["quartal"])] += Decimal(
            r["wert"])
    checked = 0
    for f in figures:
        if f["quartal"] and f["projekt_ags"] != "GESAMT" and f["kennzahl"] in traced:
            key = (f["kennzahl"], f["projekt_ags"], f["projektjahr"], f["quartal"])
            assert sums.pop(key, Decimal(0)) == Decimal(f["wert"]), key
            checked += 1
    assert not sums, f"lineage rows without a kennzahlen row: {sorted(sums)[:3]}"
    return checked


@pytest.mark.parametrize("name", ["bericht_ministerium.xlsx", "bericht_amif.xlsx",
                                  "pruefpfad.xlsx"])
def test_every_table_sheet_is_frozen_filtered_and_printable(out, name):
    wb = openpyxl.load_workbook(out / name)
    assert wb.properties.created == datetime(2026, 4, 15)
    for ws in wb:
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
        assert ws.oddFooter.right.text == "Seite &P von &N"
        if ws.title in ("Diagramme", "Hinweise"):
            continue
        assert ws.freeze_panes, ws.title
        assert ws.auto_filter.ref, ws.title
        assert ws.print_title_rows, ws.title


def test_without_registry_the_reports_cover_every_reporting_ags(tmp_path):
    box = tmp_path / "input"
    _build(box / "06431901_PJ1_Q2.xlsx", MUSTERSTADT, _half_time)
    run_report(box, tmp_path / "out", None, STICHTAG)
    wb = openpyxl.load_workbook(tmp_path / "out" / "bericht_ministerium.xlsx")
    row = pick(rows_of(wb["Finanzen"], 2), AGS=M, Projektjahr="gesamt")
    assert money(row["Finanzierung/Zuwendung"]) == MUSTER["zuwendung"]
    assert row["Landkreis"] == "ohne Landkreis" and row["Bewilligung/Bewilligung"] is None
    page = (tmp_path / "out" / "uebersicht.html").read_text(encoding="utf-8")
    assert page.count("<tr><td class=\"t\">") == 1
