"""pruefpfad.xlsx, sheet Herleitung: each money figure step by step.

Herleitung has one row per application and quarter with a used submission: reported →
cumulative → cap → eligible (staff per Projektjahr, fees and volunteer expenses over the
project), direct costs → flat rate → eligible total → funding before and after the
approval cap → EU / Land / own share. Each reported amount links to its first source row
on sheet Herkunft (`internal:'Herkunft'!A…`, or 'Herkunft 2', … when the rows fill more
than one sheet; see `audit_lineage`). Values are written as numbers, not formulas:
the pipeline's Decimal arithmetic is the reference, and a formula could round differently.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from pipeline.funding import FIGURES
from pipeline.money import ZERO, cents
from pipeline.outputs import audit_lineage
from pipeline.outputs.lineage import Lineage, Part
from pipeline.outputs.tables import Col, Table, write_table
from pipeline.outputs.view import ReportView
from pipeline.outputs.xlsxkit import Book
from pipeline.periods import Period

KINDS = (("personal", "Personal", "im PJ"), ("honorar", "Honorare", "im Projekt"),
         ("ehrenamt", "Ehrenamt", "im Projekt"))
FIRST_MONEY_COL = 4  # after AGS, PJ, Quartal, Datei
COLS_PER_KIND = 4


@dataclass
class _Running:
    """Cumulative reported amounts and funding of one application."""

    reported: dict[str, Decimal]
    funding: Decimal = ZERO


def derivation_cols() -> list[Col]:
    cols = [Col("AGS", 10), Col("PJ", 5, "int"), Col("Quartal", 7, "int"), Col("Datei", 26)]
    for _key, label, scope in KINDS:
        cols += [Col("gemeldet", 13, "money", label), Col(f"kumuliert {scope}", 13, "money", label),
                 Col("Obergrenze", 13, "money", label), Col("förderfähig", 13, "money", label)]
    step = "Pauschale und Zuwendung"
    cols += [Col("direkte Kosten förderfähig", 14, "money", step),
             Col("Restkostenpauschale", 14, "money", step),
             Col("förderfähig gesamt", 14, "money", step),
             Col("Zuwendung rechnerisch", 14, "money", step),
             Col("Zuwendung kumuliert", 14, "money", step),
             Col("Bewilligung", 14, "money", step), Col("Zuwendung", 14, "money", step)]
    share = "Finanzierungsanteile"
    cols += [Col("EU rechnerisch", 13, "money", share), Col("EU-Anteil", 13, "money", share),
             Col("Landesanteil", 13, "money", share), Col("Eigenanteil", 13, "money", share)]
    return cols


def _caps(view: ReportView) -> dict[str, Decimal]:
    m = view.prog.money
    return {"personal": m.staff_cap_per_year, "honorar": m.fee_cap_total,
            "ehrenamt": m.volunteer_cap_total}


def derivation_rows(view: ReportView) -> Iterator[tuple[str, Period, list[object]]]:
    """(ags, period, values) for every used quarter, in application and period order."""
    caps, money = _caps(view), view.prog.money
    for app in view.apps:
        used = {p for (ags, p) in view.result.used if ags == app.ags}
        run = _Running(dict.fromkeys(caps, ZERO))
        for p in view.periods:
            if p.quartal == 1:
                run.reported["personal"] = ZERO  # the staff cap restarts with each PJ
            f = {k: view.fig(app.ags, p.projektjahr, p.quartal, k) for k in FIGURES}
            values: list[object] = []
            for key, _label, _scope in KINDS:
                run.reported[key] += f[f"{key}_gemeldet"]
                values += [f[f"{key}_gemeldet"], run.reported[key], caps[key],
                           f[f"{key}_foerderfaehig"]]
            run.funding += f["zuwendung"]
            total = f["foerderfaehig_gesamt"]
            values += [f["direkt_foerderfaehig"], f["restkostenpauschale"], total,
                       cents(money.funding_rate * total), run.funding, app.approval,
                       f["zuwendung"], cents(money.eu_rate * total), f["eu_anteil"],
                       f["land_anteil"], f["eigenanteil"]]
            if p in used:
                datei = view.result.used[(app.ags, p)].received.datei
                yield app.ags, p, [app.ags, p.projektjahr, p.quartal, datei, *values]


def derivation_sheet(book: Book, view: ReportView, rows: list[Lineage] | list[Part]) -> None:
    table = Table(derivation_cols())
    keys = []
    for ags, period, values in derivation_rows(view):
        table.add(values)
        keys.append((ags, period))
    ws = write_table(book, "Herleitung", table, freeze_cols=4)
    targets = audit_lineage.locations(rows)
    link = book.f["link"]
    for i, (ags, p) in enumerate(keys):
        excel_row = 2 + i  # below the group row and the header row (0-based)
        for k, (key, _label, _scope) in enumerate(KINDS):
            target = targets.get((f"{key}_gemeldet", ags, p.projektjahr, p.quartal))
            if target is None:
                continue
            sheet, row = target
            col = FIRST_MONEY_COL + k * COLS_PER_KIND
            ws.write_url(excel_row, col, f"internal:'{sheet}'!A{row}", link,
                         tip="Quellzellen anzeigen")
            ws.write_number(excel_row, col, float(table.rows[i][col]), link)
