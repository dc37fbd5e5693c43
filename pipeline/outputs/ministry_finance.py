"""Ministry workbook: money per application and Projektjahr, and per Landkreis."""

from __future__ import annotations

from decimal import Decimal

from pipeline.aggregate import TOTAL
from pipeline.money import ZERO
from pipeline.outputs.tables import Col, Table, write_table
from pipeline.outputs.view import App, ReportView
from pipeline.outputs.xlsxkit import Book

REPORTED = ("personal_gemeldet", "honorar_gemeldet", "ehrenamt_gemeldet")
ELIGIBLE = ("personal_foerderfaehig", "honorar_foerderfaehig", "ehrenamt_foerderfaehig",
            "direkt_foerderfaehig", "restkostenpauschale", "foerderfaehig_gesamt")
FUNDING = ("zuwendung", "eu_anteil", "land_anteil", "eigenanteil")
HEAD = {
    "personal_gemeldet": "Personal", "honorar_gemeldet": "Honorare",
    "ehrenamt_gemeldet": "Ehrenamt", "gemeldet_gesamt": "gemeldet gesamt",
    "personal_foerderfaehig": "Personal", "honorar_foerderfaehig": "Honorare",
    "ehrenamt_foerderfaehig": "Ehrenamt", "direkt_foerderfaehig": "direkte Kosten",
    "restkostenpauschale": "Restkostenpauschale",
    "foerderfaehig_gesamt": "förderfähig gesamt",
    "zuwendung": "Zuwendung", "eu_anteil": "davon EU", "land_anteil": "davon Land",
    "eigenanteil": "Eigenanteil Kommune",
}
GROUPS = {"reported": "gemeldete Ausgaben", "eligible": "förderfähig nach Obergrenzen",
          "funding": "Finanzierung", "approval": "Bewilligung"}


def money_cols() -> list[Col]:
    cols = [Col(HEAD[k], 14, "money", GROUPS["reported"]) for k in REPORTED]
    cols.append(Col(HEAD["gemeldet_gesamt"], 14, "money", GROUPS["reported"]))
    cols += [Col(HEAD[k], 14, "money", GROUPS["eligible"]) for k in ELIGIBLE]
    cols += [Col(HEAD[k], 14, "money", GROUPS["funding"]) for k in FUNDING]
    cols += [Col("Bewilligung", 15, "money", GROUPS["approval"]),
             Col("Ausschöpfung (kumuliert)", 13, "pct", GROUPS["approval"])]
    return cols


def money_values(view: ReportView, members: list[str], pj: int | None) -> list[Decimal]:
    """Reported, eligible and funding figures of one or more applications (summed)."""
    names = [*REPORTED, *ELIGIBLE, *FUNDING]  # all money
    totals = [ZERO] * len(names)  # as sum(…, ZERO): the same Decimal, to the sign of a zero
    for ags in members:
        totals = [t + v for t, v in zip(totals, view.figs(ags, pj, None, names), strict=True)]
    reported = totals[:len(REPORTED)]
    return [*reported, sum(reported, ZERO), *totals[len(REPORTED):]]


def _approval(view: ReportView, apps: list[App], pj: int | None) -> list[object]:
    """Approval and the share of it used up to the end of this PJ (whole project: all)."""
    approval = sum((a.approval for a in apps if a.approval is not None), ZERO)
    if not approval:
        return [None, None]
    years = view.years if pj is None else range(1, pj + 1)
    used = sum((view.fig(a.ags, y, None, "zuwendung") for a in apps for y in years), ZERO)
    return [approval, used / approval]


def _pj_label(pj: int | None) -> str:
    return f"PJ{pj}" if pj else "gesamt"


def finance_per_application(book: Book, view: ReportView) -> None:
    table = Table([Col("AGS", 10), Col("Projekt", 28), Col("Landkreis", 20),
                   Col("Projektjahr", 9), *money_cols()])
    for app in view.apps:
        for pj in [*view.years, None]:
            table.add([app.ags, app.name, app.landkreis, _pj_label(pj),
                       *money_values(view, [app.ags], pj), *_approval(view, [app], pj)],
                      total=pj is None)
    for pj in [*view.years, None]:
        # GESAMT rows come from kennzahlen (the sums of all applications' quarter rows).
        table.add([TOTAL, "alle Projekte", "", _pj_label(pj),
                   *money_values(view, [TOTAL], pj), *_approval(view, view.apps, pj)],
                  total=True)
    write_table(book, "Finanzen", table, freeze_cols=2, sealed=True)


def finance_per_landkreis(book: Book, view: ReportView) -> None:
    table = Table([Col("Landkreis", 24), Col("Anträge", 8, "int"), Col("Projektjahr", 9),
                   *money_cols()])
    for landkreis, apps in view.landkreise.items():
        members = [a.ags for a in apps]
        for pj in [*view.years, None]:
            table.add([landkreis, len(apps), _pj_label(pj), *money_values(view, members, pj),
                       *_approval(view, apps, pj)], total=pj is None)
    write_table(book, "Finanzen Landkreise", table, freeze_cols=1, sealed=True)
