"""Ministry workbook: participants, volunteers and measures (exact values, no suppression)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.aggregate import TOTAL
from pipeline.outputs.tables import Col, Table, write_table
from pipeline.outputs.view import ReportView
from pipeline.outputs.xlsxkit import Book
from pipeline.periods import Period
from pipeline.rules.cells import canonical_choice
from pipeline.spec import FieldSpec

VOLUNTEER_PREFIX = "EA_"      # contract section 2: the volunteer fields
MEASURE_FORMAT = "Format"     # contract section 2: column of tblMassnahmen
MEASURE_DSA = "DavonDSA"


def _label_rows(view: ReportView) -> Iterator[tuple[list[object], str, int | None]]:
    """(label cells, ags, pj) for every application × PJ (+ total), then GESAMT."""
    for app in view.apps:
        for pj in [*view.years, None]:
            yield [app.ags, app.name, f"PJ{pj}" if pj else "gesamt"], app.ags, pj
    for pj in [*view.years, None]:
        yield [TOTAL, "alle Projekte", f"PJ{pj}" if pj else "gesamt"], TOTAL, pj


def _label_cols() -> list[Col]:
    return [Col("AGS", 10), Col("Projekt", 28), Col("Projektjahr", 9)]


def _count_sheet(book: Book, view: ReportView, name: str, fields: list[FieldSpec]) -> None:
    cols = _label_cols() + [
        Col(fs.label + (" (letzter Stand)" if fs.aggregate == "last" else ""), 13, "int",
            fs.section) for fs in fields]
    table = Table(cols)
    for labels, ags, pj in _label_rows(view):
        table.add([*labels, *(view.fig(ags, pj, None, fs.figure or "") for fs in fields)],
                  total=pj is None or ags == TOTAL)
    write_table(book, name, table, freeze_cols=2)


def count_fields(view: ReportView) -> tuple[list[FieldSpec], list[FieldSpec]]:
    """(participant fields, volunteer fields) of the template, in template order."""
    counted = [fs for fs in view.spec.fields if fs.figure]
    volunteers = [fs for fs in counted if fs.name.startswith(VOLUNTEER_PREFIX)]
    return [fs for fs in counted if fs not in volunteers], volunteers


def participants(book: Book, view: ReportView) -> None:
    _count_sheet(book, view, "Teilnehmende", count_fields(view)[0])


def volunteers(book: Book, view: ReportView) -> None:
    _count_sheet(book, view, "Ehrenamt", count_fields(view)[1])


@dataclass(frozen=True)
class Measure:
    ags: str
    period: Period
    values: dict[str, object]


def measures_of(view: ReportView) -> list[Measure]:
    """Every row of the measures table in the used submissions, by application and quarter."""
    table = view.spec.roles["measures_table"]
    shown = {a.ags for a in view.apps}
    found = []
    for ags, period in view.used_keys():
        sub = view.result.used[(ags, period)].checked.submission
        if ags not in shown or sub is None:
            continue
        for row in sub.tables.get(table, []):
            # v.value if v.ok else None, by index (value, problem)
            found.append(Measure(ags, period, {k: (v[3] if v[4] is None else None)
                                               for k, v in row.values.items()}))
    return found


def measures_summary(book: Book, view: ReportView, measures: list[Measure] | None = None
                     ) -> None:
    """`measures`: measures_of(view), if the caller has it already."""
    spec_table = view.spec.table(view.spec.roles["measures_table"])
    formats = list(spec_table.column(MEASURE_FORMAT).choices)
    people = view.spec.roles["measure_participants"]
    cols = _label_cols() + [
        Col("Maßnahmen", 11, "int", "insgesamt"), Col("Teilnehmende", 12, "int", "insgesamt"),
        Col("davon Drittstaatsangehörige", 14, "int", "insgesamt"),
        *(Col(f, 13, "int", "Anzahl nach Format") for f in formats)]
    # (format, third-country participants) of each measure, grouped once by table row (not
    # once per table row: that was quadratic)
    grouped: dict[tuple[str, int | None], list[tuple[str | None, int]]] = {}
    choices = tuple(formats)
    for m in measures_of(view) if measures is None else measures:
        kind = canonical_choice(str(m.values.get(MEASURE_FORMAT) or ""), choices)
        dsa = int(m.values.get(MEASURE_DSA) or 0) if m.values.get(people) is not None else 0
        for key in ((m.ags, m.period.projektjahr), (m.ags, None),
                    (TOTAL, m.period.projektjahr), (TOTAL, None)):
            grouped.setdefault(key, []).append((kind, dsa))
    table = Table(cols)
    for labels, ags, pj in _label_rows(view):
        rows = grouped.get((ags, pj), [])
        kinds = [kind for kind, _dsa in rows]
        by_format = [kinds.count(f) for f in formats]
        table.add([*labels, view.fig(ags, pj, None, "massnahmen"),
                   view.fig(ags, pj, None, "massnahmen_teilnehmende"),
                   sum(dsa for _kind, dsa in rows), *by_format],
                  total=pj is None or ags == TOTAL)
    write_table(book, "Maßnahmen", table, freeze_cols=2)


def measures_list(book: Book, view: ReportView, measures: list[Measure] | None = None
                  ) -> None:
    """`measures`: measures_of(view), if the caller has it already."""
    spec_table = view.spec.table(view.spec.roles["measures_table"])
    fmt = {"date": "date", "int": "int", "money": "money"}
    names = {a.ags: a.name for a in view.apps}
    cols = [Col("AGS", 10), Col("Projekt", 24), Col("PJ", 5, "int"), Col("Quartal", 7, "int"),
            *(Col(c.label, max(c.width, 12) if c.type != "text" else 40, fmt.get(c.type, "text"))
              for c in spec_table.columns)]
    table = Table(cols)
    for m in measures_of(view) if measures is None else measures:
        table.add([m.ags, names.get(m.ags, ""), m.period.projektjahr, m.period.quartal,
                   *(m.values.get(c.name) for c in spec_table.columns)])
    write_table(book, "Maßnahmenliste", table, freeze_cols=2)
