"""pruefpfad.xlsx, sheet Herleitung: each money figure step by step.

Herleitung has one row per application and quarter with a used submission: reported →
cumulative → cap → eligible (staff per Projektjahr, fees and volunteer expenses over the
project), direct costs → flat rate → eligible total → funding before and after the
approval cap → EU / Land / own share. Each reported amount links to its first source row
on sheet Herkunft (`internal:'Herkunft'!A…`, or 'Herkunft 2', … when the rows fill more
than one sheet; see `audit_lineage`). Values are written as numbers, not formulas:
the pipeline's Decimal arithmetic is the reference, and a formula could round differently.

xlsxwriter writes only the frame (group and header rows, widths, panes, filter, print
setup); the data rows and the links are rendered here as sheet XML and streamed into it
(`xlsxstream`): ≈ 12,000 cells and 1,300 links through xlsxwriter, a cell at a time, took
half of writing the workbook's other sheets on a warm run. Texts are inline strings, as on
Herkunft.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from xlsxwriter.utility import xl_col_to_name

from pipeline.funding import FIGURES
from pipeline.money import ZERO, cents
from pipeline.outputs import audit_lineage
from pipeline.outputs.lineage import Lineage, Part
from pipeline.outputs.streamtable import Cells
from pipeline.outputs.tables import Col, table_frame
from pipeline.outputs.view import ReportView
from pipeline.outputs.xlsxkit import Book
from pipeline.outputs.xlsxstream import StreamedSheet, style
from pipeline.periods import Period

KINDS = (("personal", "Personal", "im PJ"), ("honorar", "Honorare", "im Projekt"),
         ("ehrenamt", "Ehrenamt", "im Projekt"))
FIRST_MONEY_COL = 4  # after AGS, PJ, Quartal, Datei
COLS_PER_KIND = 4
_NUMBERS = {Decimal, int, float}


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
    reported_names = [(kind, f"{kind}_gemeldet") for kind in caps]
    used: dict[str, dict[Period, object]] = {}
    for (ags, p), entry in view.result.used.items():
        used.setdefault(ags, {})[p] = entry
    for app in view.apps:
        ags, app_used = app.ags, used.get(app.ags, {})
        reported = dict.fromkeys(caps, ZERO)
        funding = ZERO
        for p in view.periods:
            pj, q = p.projektjahr, p.quartal
            if q == 1:
                reported["personal"] = ZERO  # the staff cap restarts with each PJ
            for kind, name in reported_names:
                reported[kind] += view.fig(ags, pj, q, name)
            funding += view.fig(ags, pj, q, "zuwendung")
            entry = app_used.get(p)
            if entry is None:
                continue
            f = dict(zip(FIGURES, view.figs(ags, pj, q, FIGURES), strict=True))
            values: list[object] = [ags, pj, q, entry.received.datei]  # type: ignore[attr-defined]
            for kind, _label, _scope in KINDS:
                values += [f[f"{kind}_gemeldet"], reported[kind], caps[kind],
                           f[f"{kind}_foerderfaehig"]]
            total = f["foerderfaehig_gesamt"]
            values += [f["direkt_foerderfaehig"], f["restkostenpauschale"], total,
                       cents(money.funding_rate * total), funding, app.approval,
                       f["zuwendung"], cents(money.eu_rate * total), f["eu_anteil"],
                       f["land_anteil"], f["eigenanteil"]]
            yield ags, p, values


def derivation_sheet(book: Book, view: ReportView, rows: list[Lineage] | list[Part]
                     ) -> StreamedSheet:
    """Frame sheet Herleitung in `book` and return its rows and links to stream into it."""
    cols = derivation_cols()
    data = list(derivation_rows(view))
    ws, head_row = table_frame(book, "Herleitung", cols, len(data), freeze_cols=4)
    styles = [style(book.fmt(c.fmt)) for c in cols]
    link = style(book.f["link"])
    reported = [f"{key}_gemeldet" for key, _label, _scope in KINDS]
    targets = audit_lineage.locations(rows, reported)
    linked = [FIRST_MONEY_COL + k * COLS_PER_KIND for k in range(len(KINDS))]
    names = [xl_col_to_name(col) for col in range(len(cols))]
    render = _Rows(styles, link, linked, Cells(ws))
    out: list[str] = []
    links: list[str] = []
    for i, (ags, p, values) in enumerate(data):
        excel_row = head_row + 2 + i  # 1-based, below the header row
        where = [targets.get((figure, ags, p.projektjahr, p.quartal)) for figure in reported]
        out.append(render.row(values, tuple(w is not None for w in where)))
        for col, target in zip(linked, where, strict=True):
            if target is not None:
                location = _attr(f"'{target[0]}'!A{target[1]}")
                links.append(f'<hyperlink ref="{names[col]}{excel_row}" '
                             f'location="{location}" tooltip="Quellzellen anzeigen" '
                             f'display="{location}"/>')
    block = "".join(out)
    after = f"<hyperlinks>{''.join(links)}</hyperlinks>" if links else ""
    return StreamedSheet(ws, head_row + 1 + len(data), len(cols) - 1, lambda: [block],
                         after)


class _Rows:
    """`<row>` elements of Herleitung rows as `streamtable.Cells` renders them. A row of
    texts and ints in the first `FIRST_MONEY_COL` columns and finite numbers after them
    is one %-format of a template per combination of linked columns (the same XML);
    any other row is rendered cell by cell."""

    def __init__(self, styles: list[str], link: str, linked: list[int], cells: Cells
                 ) -> None:
        self.styles, self.link, self.linked, self.cells = styles, link, linked, cells
        self.templates: dict[tuple[bool, ...], str] = {}

    def _styles(self, links: tuple[bool, ...]) -> list[str]:
        styles = list(self.styles)
        for col, on in zip(self.linked, links, strict=True):
            if on:
                styles[col] = self.link
        return styles

    def row(self, values: list[object], links: tuple[bool, ...]) -> str:
        head, numbers = values[:FIRST_MONEY_COL], values[FIRST_MONEY_COL:]
        try:  # float(None) raises (`None in numbers` would compare each Decimal: slow)
            floats = [*map(float, head[1:3]), *map(float, numbers)]  # type: ignore[arg-type]
        except TypeError:
            floats = None
        if floats is not None and type(head[0]) is str and type(head[3]) is str \
                and type(head[1]) is int and type(head[2]) is int \
                and {type(v) for v in numbers} <= _NUMBERS:
            total = sum(floats)
            if total - total == 0:  # no NaN, no infinity
                template = self.templates.get(links)
                if template is None:
                    template = self.templates[links] = self._template(links)
                text = self.cells.text
                return template % (text(head[0]), *floats[:2],  # type: ignore[arg-type]
                                   text(head[3]), *floats[2:])  # type: ignore[arg-type]
        return "<row>" + self.cells.row(values, self._styles(links)) + "</row>"

    def _template(self, links: tuple[bool, ...]) -> str:
        styles = [s.replace("%", "%%") for s in self._styles(links)]
        cells = [f'<c{styles[0]} t="inlineStr">%s</c>', f"<c{styles[1]}><v>%.16G</v></c>",
                 f"<c{styles[2]}><v>%.16G</v></c>", f'<c{styles[3]} t="inlineStr">%s</c>']
        cells += [f"<c{s}><v>%.16G</v></c>" for s in styles[FIRST_MONEY_COL:]]
        return "<row>" + "".join(cells) + "</row>"


def _attr(value: str) -> str:
    """`value` escaped for an XML attribute in double quotes."""
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))
