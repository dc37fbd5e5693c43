"""bericht_ministerium.xlsx: status, money per PJ and participants per application.

Written with xlsxwriter; municipal text is always written as a string (never a formula or
link), and the document date is fixed so that equal inputs give identical bytes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import xlsxwriter

from pipeline.aggregate import TOTAL
from pipeline.funding import FIGURES
from pipeline.outputs.atomic import write_with
from pipeline.periods import all_periods, german_date
from pipeline.spec import Programme, load_template
from pipeline.status import status_matrix

FIXED_DATE = datetime(2025, 10, 1)
OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False,
           "strings_to_numbers": False}
MONEY_HEAD = {
    "personal_gemeldet": "Personal gemeldet", "personal_foerderfaehig": "Personal förderfähig",
    "honorar_gemeldet": "Honorare gemeldet", "honorar_foerderfaehig": "Honorare förderfähig",
    "ehrenamt_gemeldet": "Ehrenamt gemeldet", "ehrenamt_foerderfaehig": "Ehrenamt förderfähig",
    "direkt_foerderfaehig": "Direkte Kosten förderfähig",
    "restkostenpauschale": "Restkostenpauschale", "foerderfaehig_gesamt": "Förderfähig gesamt",
    "zuwendung": "Zuwendung", "eigenanteil": "Eigenanteil", "eu_anteil": "EU-Anteil",
    "land_anteil": "Landesanteil",
}
STATUS_COLOURS = {"verwendet": "#C6EFCE", "fehlerhaft": "#FFC7CE", "überfällig": "#FFEB9C",
                  "fehlt": "#FCE4D6", "noch nicht fällig": "#F2F2F2"}


def write_ministry_workbook(path: Path, result, prog: Programme, stichtag: date) -> None:
    write_with(path, lambda tmp: _build(tmp, result, prog, stichtag))


def _figures(result) -> dict[tuple, object]:
    return {(r.projekt_ags, _key(r.projektjahr), _key(r.quartal), r.kennzahl): r.wert
            for r in result.figures.itertuples(index=False)}


def _key(value) -> int | None:
    try:
        return None if value is None or value != value else int(value)
    except (TypeError, ValueError):
        return None


def _build(path: Path, result, prog: Programme, stichtag: date) -> None:
    wb = xlsxwriter.Workbook(str(path), OPTIONS)
    wb.set_properties({"title": "KISI – Bericht an das Ministerium", "author": "KISI-Pipeline",
                       "created": FIXED_DATE})
    f = {
        "title": wb.add_format({"bold": True, "font_size": 14}),
        "head": wb.add_format({"bold": True, "bg_color": "#DDEBF7", "text_wrap": True,
                               "valign": "top", "border": 1}),
        "money": wb.add_format({"num_format": '#,##0.00 "€"'}),
        "int": wb.add_format({"num_format": "0"}),
        "pct": wb.add_format({"num_format": "0.0 %"}),
        "text": wb.add_format({"text_wrap": False}),
    }
    figures = _figures(result)
    names = {a.ags: a.name for a in result.applications}
    ags_list = sorted({k[0] for k in figures if k[0] != TOTAL})
    _overview(wb, f, result, prog, stichtag, ags_list, names)
    _finance(wb, f, prog, figures, ags_list, names, result)
    _participants(wb, f, prog, figures, ags_list, names)
    _findings(wb, f, result)
    wb.close()


def _sheet(wb, name: str, headers: list[str], f, widths: list[int]):
    ws = wb.add_worksheet(name)
    for col, (text, width) in enumerate(zip(headers, widths, strict=True)):
        ws.write_string(0, col, text, f["head"])
        ws.set_column(col, col, width)
    ws.freeze_panes(1, 0)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    return ws


def _overview(wb, f, result, prog, stichtag, ags_list, names) -> None:
    periods = all_periods(prog)
    headers = ["AGS", "Projekt"] + [p.label for p in periods]
    ws = _sheet(wb, "Status", headers, f, [11, 30] + [13] * len(periods))
    matrix = status_matrix(prog, ags_list, result.entries, stichtag)
    colours = {k: wb.add_format({"bg_color": v, "border": 1}) for k, v in
               STATUS_COLOURS.items()}
    for row, ags in enumerate(ags_list, start=1):
        ws.write_string(row, 0, ags)
        ws.write_string(row, 1, names.get(ags, ""))
        for col, p in enumerate(periods, start=2):
            status = matrix[ags][p]
            ws.write_string(row, col, status, colours[status])
    ws.autofilter(0, 0, max(len(ags_list), 1), len(headers) - 1)
    ws.set_header(f"&LKISI – Abgabestatus zum Stichtag {german_date(stichtag)}&RSeite &P")


def _finance(wb, f, prog, figures, ags_list, names, result) -> None:
    approvals = {a.ags: a.bewilligung_eur for a in result.applications}
    headers = (["AGS", "Projekt", "Projektjahr"] + [MONEY_HEAD[k] for k in FIGURES]
               + ["Bewilligung", "Ausschöpfung"])
    ws = _sheet(wb, "Finanzen", headers, f, [11, 30, 12] + [15] * (len(FIGURES) + 2))
    row = 1
    for ags in [*ags_list, TOTAL]:
        for pj in [*range(1, prog.project_years + 1), None]:
            ws.write_string(row, 0, ags)
            ws.write_string(row, 1, names.get(ags, "alle Projekte" if ags == TOTAL else ""))
            ws.write_string(row, 2, f"PJ{pj}" if pj else "gesamt")
            for col, name in enumerate(FIGURES, start=3):
                ws.write_number(row, col, float(figures.get((ags, pj, None, name), 0)),
                                f["money"])
            approval = (sum(approvals.values(), Decimal(0)) if ags == TOTAL
                        else approvals.get(ags))
            if approval and pj is None:
                col = 3 + len(FIGURES)
                ws.write_number(row, col, float(approval), f["money"])
                used = figures.get((ags, None, None, "zuwendung"), Decimal(0))
                ws.write_number(row, col + 1, float(used / approval), f["pct"])
            row += 1
    ws.autofilter(0, 0, row - 1, len(headers) - 1)


def _participants(wb, f, prog, figures, ags_list, names) -> None:
    spec = load_template()
    counted = [fs for fs in spec.fields if fs.figure]
    headers = ["AGS", "Projekt", "Projektjahr"] + [fs.label for fs in counted] + [
        "Maßnahmen", "Teilnehmende an Maßnahmen"]
    keys = [fs.figure for fs in counted] + ["massnahmen", "massnahmen_teilnehmende"]
    ws = _sheet(wb, "Teilnehmende", headers, f, [11, 30, 12] + [14] * len(keys))
    row = 1
    for ags in [*ags_list, TOTAL]:
        for pj in [*range(1, prog.project_years + 1), None]:
            ws.write_string(row, 0, ags)
            ws.write_string(row, 1, names.get(ags, "alle Projekte" if ags == TOTAL else ""))
            ws.write_string(row, 2, f"PJ{pj}" if pj else "gesamt")
            for col, key in enumerate(keys, start=3):
                ws.write_number(row, col, int(figures.get((ags, pj, None, key), 0)), f["int"])
            row += 1
    ws.autofilter(0, 0, row - 1, len(headers) - 1)


def _findings(wb, f, result) -> None:
    headers = ["Datei", "AGS", "PJ", "Q", "Blatt", "Zelle", "Regel", "Schwere", "Meldung"]
    ws = _sheet(wb, "Befunde", headers, f, [34, 11, 5, 5, 14, 8, 22, 10, 100])
    for row, x in enumerate(result.findings, start=1):
        values = [x.datei, x.projekt_ags, x.projektjahr, x.quartal, x.blatt, x.zelle, x.regel,
                  x.schwere.value, x.meldung]
        for col, value in enumerate(values):
            if isinstance(value, int):
                ws.write_number(row, col, value)
            elif value is not None:
                ws.write_string(row, col, value)
    ws.autofilter(0, 0, max(len(result.findings), 1), len(headers) - 1)
