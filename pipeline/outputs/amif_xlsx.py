"""bericht_amif.xlsx: what HMSI sends to the AMIF managing authority (published figures).

Sheets: Indikatoren (common indicators SO2, person counts suppressed), Finanzdaten
(cumulative at the CPR cut-off dates, EU / Land / municipal shares), Finanzen je GJ (per
EU accounting year), Hinweise (data basis, calendars, suppression). Programme totals only:
no application, no person name appears here.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.outputs import amif
from pipeline.outputs.atomic import write_with
from pipeline.outputs.tables import Col, Table, write_table
from pipeline.outputs.view import ReportView
from pipeline.outputs.xlsxkit import Book, print_setup
from pipeline.periods import german_date

TITLE = "KISI – Bericht an die AMIF-Verwaltungsbehörde"
KIND = {"output": "Output", "result": "Ergebnis"}
MONEY_HEAD = (("foerderfaehig_gesamt", "förderfähige Ausgaben"), ("eu_anteil", "EU (AMIF)"),
              ("land_anteil", "Land Hessen"), ("eigenanteil", "Kommunen (Eigenanteil)"),
              ("zuwendung", "Zuwendung (EU + Land)"))


def write_amif_workbook(path: Path, view: ReportView) -> None:
    write_with(path, lambda tmp: build(tmp, view))


def build(path: Path, view: ReportView) -> None:
    book = Book(path, TITLE, view.created)
    indicators_sheet(book, view)
    cutoffs_sheet(book, view)
    years_sheet(book, view)
    notes_sheet(book, view)
    book.close()


def indicators_sheet(book: Book, view: ReportView) -> None:
    cols = amif.columns(view)
    group = {"PJ": "Projektjahr (1.10.–30.9.)", "GJ": "EU-Geschäftsjahr (1.7.–30.6.)"}
    table = Table([Col("Code", 9), Col("Art", 9), Col("Indikator", 60, "wrap"),
                   Col("Einheit", 10), Col("Quelle (Kennzahl)", 22, "wrap"),
                   *(Col(c.label, 11, "count", group.get(c.key[:2], "bis Stichtag"))
                     for c in cols)])
    for ind, shown in amif.indicator_table(view):
        table.add([ind.code, KIND.get(ind.kind, ind.kind), ind.label, ind.unit,
                   ", ".join(ind.sources),
                   *(s.text if s.text is not None else s.value
                     for s in (shown[c.key] for c in cols))])
    write_table(book, "Indikatoren", table, freeze_cols=3, sealed=True)


def cutoffs_sheet(book: Book, view: ReportView) -> None:
    table = Table([Col("Übermittlung bis", 14, "date"), Col("enthaltene Quartale", 24),
                   *(Col(head, 17, "money") for _k, head in MONEY_HEAD),
                   Col("EU-Anteil an den Ausgaben", 12, "pct")])
    for day, periods, money in amif.cutoff_rows(view):
        span = ("keine" if not periods else periods[0].label if len(periods) == 1
                else f"{periods[0].label} – {periods[-1].label}")
        total = money["foerderfaehig_gesamt"]
        table.add([day, span, *(money[k] for k, _h in MONEY_HEAD),
                   money["eu_anteil"] / total if total else None])
    write_table(book, "Finanzdaten", table, freeze_cols=1, sealed=True)


def years_sheet(book: Book, view: ReportView) -> None:
    table = Table([Col("EU-Geschäftsjahr", 16), Col("Quartale", 30, "wrap"),
                   *(Col(head, 17, "money") for _k, head in MONEY_HEAD)])
    for col in amif.columns(view):
        if not col.key.startswith("GJ"):
            continue
        money = amif.money_at(view, list(col.periods))
        table.add([col.label, ", ".join(p.label for p in col.periods),
                   *(money[k] for k, _h in MONEY_HEAD)])
    write_table(book, "Finanzen je GJ", table, freeze_cols=1, sealed=True)


def notes(view: ReportView) -> list[str]:
    prog = view.prog
    return [
        TITLE,
        f"Programm: {prog.name} ({prog.id}), {prog.ministry}",
        f"Stichtag: {german_date(view.stichtag)}. Grundlage sind die bis dahin "
        "verwendeten Quartalsberichte (je Projekt und Quartal der neueste fehlerfreie).",
        "Indikatoren: gemeinsame Indikatoren nach Anhang VIII der Verordnung (EU) 2021/1147, "
        "spezifisches Ziel 2. Codes und Wortlaut vor jeder Übermittlung mit dem Amtsblatt "
        "abgleichen (Konfiguration: programm.toml).",
        "Teilnehmende werden einmal je Vorhaben gezählt: die Berichte erfassen je Quartal nur "
        "neue Teilnehmende, Quartale werden addiert.",
        "Projekte/Behörden: Anträge mit mindestens einem verwendeten Quartalsbericht im "
        "Zeitraum (ein Verbund zählt einmal).",
        f"Geheimhaltung: Personenzahlen von 1 bis {prog.suppress_below - 1} erscheinen als "
        f"„{prog.suppressed_label}“. Damit sie nicht aus Summen oder überlappenden Zeiträumen "
        f"errechnet werden können, sind weitere Felder mit „{prog.amif.secondary_label}“ "
        "gesperrt (sekundäre Geheimhaltung). Der Bericht an das Ministerium enthält die "
        "genauen Werte.",
        "Finanzdaten: kumuliert zu den Übermittlungsterminen nach Art. 42 der Verordnung (EU) "
        "2021/1060; ein Quartal zählt, wenn es bis zum Termin abgelaufen ist.",
        f"Anteile: EU {prog.money.eu_rate * 100:.0f} % der förderfähigen Ausgaben (höchstens die "
        f"Zuwendung), Land = Zuwendung − EU, Kommunen = förderfähige Ausgaben − Zuwendung.",
    ]


def notes_sheet(book: Book, view: ReportView) -> None:
    ws = book.wb.add_worksheet("Hinweise")
    print_setup(ws, book.title, "Hinweise")
    ws.set_column(0, 0, 120)
    for row, text in enumerate(notes(view)):
        ws.write_string(row, 0, text, book.f["title"] if row == 0 else book.f["wrap"])
