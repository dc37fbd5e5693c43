"""bericht_ministerium.xlsx: what the analyst (HMSI Referat V2) works with.

Sheets: Übersicht (key figures and the status matrix), Finanzen, Finanzen Landkreise,
Teilnehmende, Ehrenamt, Maßnahmen, Maßnahmenliste, Sachberichte, Befunde, Diagramme.
Exact values throughout (no suppression: the ministry is entitled to them). Written with
xlsxwriter via xlsxkit: municipal text stays text, the document date is the Stichtag.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.aggregate import TOTAL
from pipeline.money import ZERO
from pipeline.outputs import ministry_charts, ministry_finance, ministry_people, ministry_text
from pipeline.outputs.atomic import write_with
from pipeline.outputs.view import ReportView
from pipeline.outputs.xlsxkit import Book, autofilter, print_setup, put
from pipeline.periods import german_date
from pipeline.status import FAULTY_LABEL, MISSING, NOT_DUE, OVERDUE, RECEIVED

TITLE = "KISI – Bericht an das Ministerium"
STATUS_COLOURS = {RECEIVED: "#C6EFCE", FAULTY_LABEL: "#FFC7CE", OVERDUE: "#FFEB9C",
                  MISSING: "#FCE4D6", NOT_DUE: "#F2F2F2"}
KPI_ROW, LEGEND_ROW, MATRIX_ROW = 2, 4, 5
LABEL_COLS = ("AGS", "Projekt", "Landkreis")


def write_ministry_workbook(path: Path, view: ReportView) -> None:
    write_with(path, lambda tmp: build(tmp, view))


def build(path: Path, view: ReportView) -> None:
    book = Book(path, TITLE, view.created)
    overview(book, view)
    ministry_finance.finance_per_application(book, view)
    ministry_finance.finance_per_landkreis(book, view)
    ministry_people.participants(book, view)
    ministry_people.volunteers(book, view)
    measures = ministry_people.measures_of(view)
    ministry_people.measures_summary(book, view, measures)
    ministry_people.measures_list(book, view, measures)
    ministry_text.narrative_sheet(book, view)
    ministry_text.findings_sheet(book, view.result.findings)
    ministry_charts.charts_sheet(book, view)
    book.close()


def kpis(view: ReportView) -> list[tuple[str, object, str]]:
    """(label, value, format) of the key figures, in display order."""
    counts = view.status_counts()
    findings = view.result.findings
    funding = view.fig(TOTAL, None, None, "zuwendung")
    approval = view.total_approval()
    return [
        ("Anträge", len(view.apps), "int"),
        ("Quartalsberichte verwendet", counts.get(RECEIVED, 0), "int"),
        ("überfällig", counts.get(OVERDUE, 0), "int"),
        ("nur fehlerhaft eingereicht", counts.get(FAULTY_LABEL, 0), "int"),
        ("fehlt (Frist läuft)", counts.get(MISSING, 0), "int"),
        ("eingegangene Dateien", len(view.result.entries), "int"),
        ("Fehler", sum(1 for f in findings if f.is_error), "int"),
        ("Warnungen", sum(1 for f in findings if f.schwere.value == "Warnung"), "int"),
        ("förderfähige Ausgaben", view.fig(TOTAL, None, None, "foerderfaehig_gesamt"),
         "money"),
        ("Zuwendung bisher", funding, "money"),
        ("Bewilligung", approval, "money"),
        ("Ausschöpfung", funding / approval if approval else ZERO, "pct"),
        ("neue Teilnehmende", view.fig(TOTAL, None, None, "tn_gesamt"), "int"),
        ("Beratungskontakte", view.fig(TOTAL, None, None, "beratungen"), "int"),
        ("Maßnahmen", view.fig(TOTAL, None, None, "massnahmen"), "int"),
    ]


def overview(book: Book, view: ReportView) -> None:
    ws = book.wb.add_worksheet("Übersicht")
    periods = view.periods
    ws.set_column(0, 0, 11)
    ws.set_column(1, 1, 28)
    ws.set_column(2, 2, 20)
    ws.set_column(3, 2 + len(periods), 16)
    ws.set_row(KPI_ROW, 30)
    ws.write_string(0, 0, TITLE, book.f["title"])
    registry = view.result.registry_path
    ws.write_string(1, 0, f"Stichtag {german_date(view.stichtag)} · Projektverzeichnis: "
                    f"{registry.name if registry else 'keins (alle eingereichten AGS)'}",
                    book.f["subtitle"])
    head = book.fmt("head", align="center")
    for col, (label, value, fmt) in enumerate(kpis(view)):
        ws.write_string(KPI_ROW, col, label, head)
        put(ws, KPI_ROW + 1, col, value, book.fmt(fmt, bold=True, font_size=11, border=1))
    ws.write_string(LEGEND_ROW, 2, "Legende:", book.f["bold"])
    for col, (status, colour) in enumerate(STATUS_COLOURS.items(), start=3):
        ws.write_string(LEGEND_ROW, col, status, book.fmt("text", bg_color=colour, border=1))
    for col, text in enumerate([*LABEL_COLS, *(p.label for p in periods)]):
        ws.write_string(MATRIX_ROW, col, text, book.f["head"])
    coloured = {status: book.fmt("text", bg_color=colour, border=1)
                for status, colour in STATUS_COLOURS.items()}
    for row, app in enumerate(view.apps, start=MATRIX_ROW + 1):
        for col, text in enumerate((app.ags, app.name, app.landkreis)):
            ws.write_string(row, col, text)
        statuses = view.matrix[app.ags]
        for col, p in enumerate(periods, start=len(LABEL_COLS)):
            status = statuses[p]
            ws.write_string(row, col, status, coloured[status])
    ws.freeze_panes(MATRIX_ROW + 1, 2)
    autofilter(ws, MATRIX_ROW + len(view.apps), len(LABEL_COLS) + len(periods), MATRIX_ROW)
    print_setup(ws, TITLE, "Übersicht", MATRIX_ROW)
