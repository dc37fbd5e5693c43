"""Ministry workbook: native Excel charts over a visible data block on sheet "Diagramme".

The charts reference cells of this sheet, so an analyst can check (and reuse) every
plotted number; all values are the GESAMT rows of kennzahlen or the per-application totals.
"""

from __future__ import annotations

from pipeline.aggregate import TOTAL
from pipeline.outputs.view import ReportView
from pipeline.outputs.xlsxkit import Book, print_setup, put

SHEET = "Diagramme"
QUARTER_SERIES = (("personal_foerderfaehig", "Personal förderfähig"),
                  ("honorar_foerderfaehig", "Honorare förderfähig"),
                  ("ehrenamt_foerderfaehig", "Ehrenamt förderfähig"),
                  ("restkostenpauschale", "Restkostenpauschale"),
                  ("zuwendung", "Zuwendung"),
                  ("tn_gesamt", "Neue Teilnehmende"))
CHART_COL = 9
PX_PER_APP = 22


def charts_sheet(book: Book, view: ReportView) -> None:
    ws = book.wb.add_worksheet(SHEET)
    print_setup(ws, book.title, SHEET)
    ws.set_column(0, 0, 28)
    ws.set_column(1, len(QUARTER_SERIES), 15)
    last_q = _quarter_block(book, ws, view)
    app_top = last_q + 3
    last_app = _approval_block(book, ws, view, app_top)
    _charts(book, ws, view, last_q, app_top, last_app)


def _quarter_block(book: Book, ws, view: ReportView) -> int:
    ws.write_string(0, 0, "Quartal (alle Projekte)", book.f["head"])
    for col, (_key, head) in enumerate(QUARTER_SERIES, start=1):
        ws.write_string(0, col, head, book.f["head"])
    row = 0
    for row, p in enumerate(view.shown_periods, start=1):
        ws.write_string(row, 0, p.label)
        for col, (key, _head) in enumerate(QUARTER_SERIES, start=1):
            fmt = book.f["int"] if key.startswith("tn_") else book.f["money"]
            put(ws, row, col, view.fig(TOTAL, p.projektjahr, p.quartal, key), fmt)
    return row


def _approval_block(book: Book, ws, view: ReportView, top: int) -> int:
    for col, head in enumerate(("Projekt", "Zuwendung bisher", "Bewilligung")):
        ws.write_string(top, col, head, book.f["head"])
    row = top
    for row, app in enumerate(view.apps, start=top + 1):
        ws.write_string(row, 0, app.name or app.ags)
        put(ws, row, 1, view.fig(app.ags, None, None, "zuwendung"), book.f["money"])
        put(ws, row, 2, app.approval, book.f["money"])
    return row


def _charts(book: Book, ws, view: ReportView, last_q: int, app_top: int,
            last_app: int) -> None:
    wb = book.wb
    spend = wb.add_chart({"type": "column", "subtype": "stacked"})
    for col in range(1, 5):
        spend.add_series({"name": [SHEET, 0, col], "categories": [SHEET, 1, 0, last_q, 0],
                          "values": [SHEET, 1, col, last_q, col]})
    spend.set_title({"name": "Förderfähige Ausgaben je Quartal (alle Projekte)"})
    spend.set_y_axis({"num_format": '#,##0 "€"'})
    spend.set_legend({"position": "bottom"})
    ws.insert_chart(0, CHART_COL, spend, {"x_scale": 1.4, "y_scale": 1.1})

    people = wb.add_chart({"type": "column"})
    tn = len(QUARTER_SERIES)
    people.add_series({"name": [SHEET, 0, tn], "categories": [SHEET, 1, 0, last_q, 0],
                       "values": [SHEET, 1, tn, last_q, tn], "fill": {"color": "#70AD47"}})
    people.set_title({"name": "Neue Teilnehmende je Quartal (alle Projekte)"})
    people.set_legend({"none": True})
    ws.insert_chart(18, CHART_COL, people, {"x_scale": 1.4, "y_scale": 1.1})

    if last_app <= app_top:
        return
    funding = wb.add_chart({"type": "bar"})
    for col, colour in ((1, "#2F5597"), (2, "#BDD7EE")):
        funding.add_series({"name": [SHEET, app_top, col],
                            "categories": [SHEET, app_top + 1, 0, last_app, 0],
                            "values": [SHEET, app_top + 1, col, last_app, col],
                            "fill": {"color": colour}})
    funding.set_title({"name": "Zuwendung bisher und Bewilligung je Projekt"})
    funding.set_x_axis({"num_format": '#,##0 "€"'})
    funding.set_y_axis({"reverse": True})
    funding.set_legend({"position": "bottom"})
    funding.set_size({"width": 720, "height": max(320, 90 + PX_PER_APP * len(view.apps))})
    ws.insert_chart(36, CHART_COL, funding)
