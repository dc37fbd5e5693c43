"""Ministry workbook: participants, volunteers and measures (exact values, no suppression)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.aggregate import TOTAL
from pipeline.outputs.tables import Col, Table, write_table
from pipeline.outputs.view import ReportView
from pipeline.outputs.xlsxkit import Book
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
    names = [fs.figure or "" for fs in fields]
    for labels, ags, pj in _label_rows(view):
        table.add([*labels, *view.figs(ags, pj, None, names)],
                  total=pj is None or ags == TOTAL)
    write_table(book, name, table, freeze_cols=2, sealed=True)


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
class Measures:
    """Every row of the measures table in the used submissions, by application and quarter,
    as the rows of sheet Maßnahmenliste: AGS, project name, PJ, quarter, then the values in
    the order of `names` (None when blank or faulty)."""

    names: list[str]
    rows: list[list[object]]

    LABELS = 4  # AGS, project, PJ, quarter

    def column(self, name: str) -> int:
        return self.LABELS + self.names.index(name)


def measures_of(view: ReportView) -> Measures:
    table = view.spec.roles["measures_table"]
    names = [c.name for c in view.spec.table(table).columns]
    projects = {a.ags: a.name for a in view.apps}
    found = []
    for ags, period in view.used_keys():
        sub = view.result.used[(ags, period)].checked.submission
        if ags not in projects or sub is None:
            continue
        labels = [ags, projects[ags], period.projektjahr, period.quartal]
        for row in sub.tables.get(table, []):
            get = row.values.get
            # v.value if v.ok else None, by index (value, problem)
            found.append(labels + [None if (v := get(n)) is None or v[4] is not None
                                   else v[3] for n in names])
    return Measures(names, found)


def measures_summary(book: Book, view: ReportView, measures: Measures | None = None
                     ) -> None:
    """`measures`: measures_of(view), if the caller has it already."""
    spec_table = view.spec.table(view.spec.roles["measures_table"])
    formats = list(spec_table.column(MEASURE_FORMAT).choices)
    cols = _label_cols() + [
        Col("Maßnahmen", 11, "int", "insgesamt"), Col("Teilnehmende", 12, "int", "insgesamt"),
        Col("davon Drittstaatsangehörige", 14, "int", "insgesamt"),
        *(Col(f, 13, "int", "Anzahl nach Format") for f in formats)]
    counts = _measure_counts(view, measures_of(view) if measures is None else measures,
                             formats)
    table = Table(cols)
    empty = [0] * (len(formats) + 1)
    for labels, ags, pj in _label_rows(view):
        *by_format, dsa = counts.get((ags, pj), empty)
        table.add([*labels, view.fig(ags, pj, None, "massnahmen"),
                   view.fig(ags, pj, None, "massnahmen_teilnehmende"), dsa, *by_format],
                  total=pj is None or ags == TOTAL)
    write_table(book, "Maßnahmen", table, freeze_cols=2, sealed=True)


def _measure_counts(view: ReportView, measures: Measures, formats: list[str]
                    ) -> dict[tuple[str, int | None], list[int]]:
    """(ags or TOTAL, PJ or None) → [measures of each format …, third-country participants]."""
    choices = tuple(formats)
    kind_at, dsa_at = measures.column(MEASURE_FORMAT), measures.column(MEASURE_DSA)
    people_at = measures.column(view.spec.roles["measure_participants"])
    meant: dict[str, list[int]] = {}  # text → the columns of the format it means
    quarters: dict[tuple[str, int | None], list[int]] = {}  # (ags, PJ) → counts
    width = len(formats) + 1
    for values in measures.rows:
        text = str(values[kind_at] or "")
        slots = meant.get(text)
        if slots is None:
            kind = canonical_choice(text, choices)
            slots = meant[text] = [i for i, f in enumerate(formats) if f == kind]
        key = (values[0], values[2])
        row = quarters.get(key)
        if row is None:
            row = quarters[key] = [0] * width
        for at in slots:
            row[at] += 1
        if values[people_at] is not None:
            row[-1] += int(values[dsa_at] or 0)
    counts = dict(quarters)
    for (ags, pj), row in quarters.items():  # the PJ counts into the total levels
        for key in ((ags, None), (TOTAL, pj), (TOTAL, None)):
            into = counts.get(key)
            if into is None:
                counts[key] = list(row)
            else:
                for i, n in enumerate(row):
                    into[i] += n
    return counts


def measures_list(book: Book, view: ReportView, measures: Measures | None = None
                  ) -> None:
    """`measures`: measures_of(view), if the caller has it already."""
    spec_table = view.spec.table(view.spec.roles["measures_table"])
    fmt = {"date": "date", "int": "int", "money": "money"}
    cols = [Col("AGS", 10), Col("Projekt", 24), Col("PJ", 5, "int"), Col("Quartal", 7, "int"),
            *(Col(c.label, max(c.width, 12) if c.type != "text" else 40, fmt.get(c.type, "text"))
              for c in spec_table.columns)]
    table = Table(cols)
    table.extend((measures_of(view) if measures is None else measures).rows)
    write_table(book, "Maßnahmenliste", table, freeze_cols=2, sealed=True)
