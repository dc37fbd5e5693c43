"""Ministry workbook: narratives (Sachbericht) of the used submissions, and the findings."""

from __future__ import annotations

from pipeline.findings import Finding
from pipeline.outputs.tables import Col, Table, write_table
from pipeline.outputs.view import ReportView
from pipeline.outputs.xlsxkit import Book
from pipeline.spec import FieldSpec

EXCEL_TEXT_LIMIT = 32_767  # characters per cell


def narrative_fields(view: ReportView) -> list[FieldSpec]:
    """The text fields on the template's narrative sheets (SB_ERGEBNISSE, …)."""
    sheets = {s.name for s in view.spec.sheets if s.kind == "narrative"}
    return [fs for fs in view.spec.fields if fs.sheet in sheets and fs.type == "text"]


def narratives(view: ReportView) -> list[tuple[str, int, int, str, list[str]]]:
    """(ags, pj, quartal, datei, texts) per used submission with any narrative text,
    ordered by application, PJ and quarter."""
    fields = narrative_fields(view)
    shown = {a.ags for a in view.apps}
    found = []
    for ags, period in view.used_keys():
        entry = view.result.used[(ags, period)]
        sub = entry.checked.submission
        if ags not in shown or sub is None:
            continue
        texts = [_text(sub.get(fs.name)) for fs in fields]
        if any(texts):
            found.append((ags, period.projektjahr, period.quartal, entry.received.datei, texts))
    return found


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()[:EXCEL_TEXT_LIMIT]


def narrative_sheet(book: Book, view: ReportView) -> None:
    names = {a.ags: a.name for a in view.apps}
    fields = narrative_fields(view)
    table = Table([Col("AGS", 10), Col("Projekt", 22), Col("PJ", 5, "int"),
                   Col("Quartal", 7, "int"), Col("Datei", 24, "wrap"),
                   *(Col(fs.label, 60, "wrap") for fs in fields)])
    for ags, pj, q, datei, texts in narratives(view):
        table.add([ags, names.get(ags, ""), pj, q, datei, *texts])
    write_table(book, "Sachberichte", table, freeze_cols=2, sealed=True)


def findings_sheet(book: Book, findings: list[Finding], name: str = "Befunde",
                   with_hash: bool = False) -> None:
    cols = [Col("Datei", 30), Col("AGS", 10), Col("PJ", 5, "int"), Col("Quartal", 7, "int"),
            Col("Blatt", 14), Col("Zelle", 7), Col("Regel", 22), Col("Schwere", 9),
            Col("Wert", 16), Col("Meldung", 90, "wrap")]
    if with_hash:
        cols.insert(1, Col("SHA-256", 20, "mono"))
    table = Table(cols)
    for f in findings:
        values: list[object] = [f.datei, f.projekt_ags, f.projektjahr, f.quartal, f.blatt,
                                f.zelle, f.regel, f.schwere.value, f.wert, f.meldung]
        if with_hash:
            values.insert(1, f.sha256)
        table.add(values)
    write_table(book, name, table, sealed=True)
