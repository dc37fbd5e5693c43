"""The "Anleitung" sheet: German instructions, generated from the template and programme
specs, so what the workbook tells a clerk and what the pipeline checks cannot drift apart."""

from __future__ import annotations

import math
from dataclasses import dataclass

from xlsxwriter.worksheet import Worksheet

from pipeline.periods import Period, deadline, german_date, quarter_end, quarter_start
from pipeline.spec import FieldSpec, TemplateSpec
from pipeline.template import german
from pipeline.template.model import BuildContext
from pipeline.template.styles import Styles

MONTHS = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)
COLUMN_WIDTHS = (16, 40, 16, 90)
CHARS_PER_LINE = 150  # of a paragraph spanning all columns, for the row height
LINE_HEIGHT = 15


@dataclass(frozen=True)
class Line:
    kind: str  # title | subtitle | heading | text
    text: str


def required_text(spec: FieldSpec) -> str:
    if spec.required:
        return "ja"
    if spec.required_in_quarters:
        return "im " + " und ".join(f"{q}." for q in spec.required_in_quarters) + " Quartal"
    return "nein"


def instruction_lines(ctx: BuildContext) -> list[Line]:
    spec, prog = ctx.spec, ctx.prog
    lines = [Line("title", spec.title), Line("subtitle", f"{prog.name} – {prog.ministry}")]
    lines += _report_lines(ctx)
    lines.append(Line("heading", "So füllen Sie die Vorlage aus"))
    lines += [Line("text", t) for t in _sheet_steps(ctx)]
    lines.append(Line("heading", "Was zählt"))
    lines += [Line("text", t) for t in _money_rules(ctx)]
    lines.append(Line("heading", "Prüfregeln"))
    lines += [Line("text", t) for t in _check_rules(spec)]
    lines.append(Line("heading", "Zeilen hinzufügen"))
    lines += [Line("text", t) for t in _adding_rows(spec)]
    lines.append(Line("heading", "Bericht zurücksenden"))
    lines.append(
        Line(
            "text",
            "Speichern Sie die Datei als Excel-Arbeitsmappe (.xlsx) und "
            "senden Sie sie per E-Mail an das Ministerium. Bitte keine Blätter, "
            "Tabellen oder Namen umbenennen, keine Spalten löschen oder verschieben "
            "und die Datei nicht in ein anderes Format (.ods, .xls, .pdf) umwandeln.",
        )
    )
    return lines


def _report_lines(ctx: BuildContext) -> list[Line]:
    prog, ident = ctx.prog, ctx.identity
    if ident is None:
        years = "; ".join(
            f"Projektjahr {pj}: {german_date(quarter_start(prog, Period(pj, 1)))} – "
            f"{german_date(quarter_end(prog, Period(pj, prog.quarters_per_year)))}"
            for pj in range(1, prog.project_years + 1)
        )
        quarters = ", ".join(
            f"Q{q} = {_months(ctx, Period(1, q))}" for q in range(1, prog.quarters_per_year + 1)
        )
        return [
            Line("heading", "Ihr Bericht"),
            Line(
                "text",
                "Diese Vorlage ist nicht vorausgefüllt. Bitte tragen Sie auf dem Blatt "
                "„Angaben“ Gemeindeschlüssel, Projekt, Projektjahr und Quartal ein.",
            ),
            Line("text", f"{years}. Quartale: {quarters}."),
            Line(
                "text",
                "Abgabefrist: letzter Tag des "
                f"{prog.deadline_months_after_quarter}. Monats nach Quartalsende.",
            ),
            _template_line(ctx),
        ]
    period = ident.period
    start, end = quarter_start(prog, period), quarter_end(prog, period)
    return [
        Line("heading", "Ihr Bericht"),
        Line("text", f"Projekt: {ident.name} (AGS {ident.ags})"),
        Line(
            "text",
            f"Berichtszeitraum: Projektjahr {period.projektjahr}, Quartal "
            f"{period.quartal}: {german_date(start)} – {german_date(end)}",
        ),
        Line("text", f"Abgabe bis spätestens {german_date(deadline(prog, period))}"),
        _template_line(ctx),
    ]


def _template_line(ctx: BuildContext) -> Line:
    return Line("text", f"Vorlage: {ctx.spec.id}, Version {ctx.spec.version}")


def _months(ctx: BuildContext, period: Period) -> str:
    start, end = quarter_start(ctx.prog, period), quarter_end(ctx.prog, period)
    return f"{MONTHS[start.month - 1]}–{MONTHS[end.month - 1]}"


def _sheet_steps(ctx: BuildContext) -> list[str]:
    spec, steps = ctx.spec, []
    low, high = ctx.date_range
    inputs = [s for s in spec.sheets if s.kind != "instructions"]
    for n, sheet in enumerate(inputs, start=1):
        if sheet.kind == "fields":
            text = (
                "Füllen Sie die gelb hinterlegten Felder aus. Grau hinterlegte Felder sind "
                "vorausgefüllt und gesperrt. Wenn Sie ein Feld auswählen, erscheint ein "
                "Hinweis."
            )
        elif sheet.kind == "table":
            table = spec.tables_on(sheet.name)[0]
            text = (
                f"{table.label}. {table.help} Alle Datumsangaben müssen zwischen "
                f"{german_date(low)} und {german_date(high)} liegen."
            )
        elif sheet.kind == "narrative":
            needed = {required_text(f) for f in spec.fields_on(sheet.name)}
            text = (
                "Schreiben Sie Ihren Text in die großen Felder (Pflicht: "
                f"{', '.join(sorted(needed))}). Neue Zeile in einer Zelle: Alt+Eingabe "
                "(Excel) bzw. Strg+Eingabe (LibreOffice)."
            )
        else:
            raise ValueError(f"unknown sheet kind in spec: {sheet.kind}")
        steps.append(f"{n}. Blatt „{sheet.name}“: {text}")
    return steps


def _money_rules(ctx: BuildContext) -> list[str]:
    money = ctx.prog.money
    return [
        "Es zählen nur bezahlte Ausgaben. Das Zahlungsdatum entscheidet, zu welchem Quartal "
        "eine Ausgabe gehört.",
        "Sonstige Kosten (z. B. Miete, Reisen, Material) sind mit der Restkostenpauschale von "
        f"{german.percent(money.flat_rate)} der förderfähigen Personal-, Honorar- und "
        "Ehrenamtsausgaben abgegolten. Sie werden nicht aufgeführt und nicht belegt.",
        f"Personalausgaben: höchstens {german.money(money.staff_cap_per_year)} je Projektjahr "
        f"(im Monat zusammen höchstens {german.number(money.max_fte_per_month)} Stelle).",
        f"Honorare: höchstens {german.money(money.fee_cap_total)} in der gesamten Laufzeit.",
        "Aufwendungen für Ehrenamtliche: höchstens "
        f"{german.money(money.volunteer_cap_total)} in der gesamten Laufzeit.",
        f"Die Zuwendung beträgt {german.percent(money.funding_rate)} der förderfähigen "
        "Ausgaben, höchstens den bewilligten Betrag.",
    ]


def _check_rules(spec: TemplateSpec) -> list[str]:
    def label(name: str) -> str:
        return f"„{spec.field(name).label}“"

    rules = [
        f"Nach {s.label}: {' + '.join(label(p) for p in s.parts)} = {label(s.total)}."
        for s in spec.sums
    ]
    rules += [
        f"{label(c.small)} darf nicht größer sein als {label(c.large)}." for c in spec.comparisons
    ]
    for table in spec.tables:
        for c in table.row_comparisons:
            is_date = table.column(c.small).type == "date"
            relation = f"nach „{c.large}“ liegen" if is_date else f"größer als „{c.large}“ sein"
            rules.append(f"Blatt „{table.sheet}“: „{c.small}“ darf in keiner Zeile {relation}.")
        rules += [f"Blatt „{table.sheet}“: „{u}“ darf nur einmal vorkommen." for u in table.unique]
    return rules


def _adding_rows(spec: TemplateSpec) -> list[str]:
    sheets = ", ".join(f"„{t.sheet}“" for t in spec.tables)
    return [
        f"Die Listen auf den Blättern {sheets} sind Tabellen, die mitwachsen.",
        "Excel: in die erste leere Zeile direkt unter der Tabelle schreiben oder in der "
        "letzten Zelle der Tabelle die Tab-Taste drücken.",
        "LibreOffice Calc: eine Zeile der Tabelle markieren, Rechtsklick auf die "
        "Zeilennummer, „Zeilen oberhalb einfügen“ – so wird die Tabelle größer.",
    ]


def field_list(spec: TemplateSpec) -> list[tuple[str, str, str, str]]:
    """Blatt, Feld, Pflicht, Hinweis: every field and table column of the spec."""
    rows = [(f.sheet, f.label, required_text(f), f.help) for f in spec.fields]
    for table in spec.tables:
        rows += [
            (table.sheet, c.label, "ja" if c.required else "nein", c.help) for c in table.columns
        ]
    return rows


def write_instructions(ws: Worksheet, styles: Styles, ctx: BuildContext) -> None:
    for col, width in enumerate(COLUMN_WIDTHS):
        ws.set_column(col, col, width)
    last = len(COLUMN_WIDTHS) - 1
    fmt = {
        "title": styles.title,
        "subtitle": styles.subtitle,
        "heading": styles.heading,
        "text": styles.paragraph,
    }
    row = 0
    for line in instruction_lines(ctx):
        if line.kind == "heading":
            row += 1
        ws.merge_range(row, 0, row, last, line.text, fmt[line.kind])
        if line.kind == "text":
            ws.set_row(row, LINE_HEIGHT * math.ceil(len(line.text) / CHARS_PER_LINE))
        row += 1
    row += 1
    ws.merge_range(row, 0, row, last, "Alle Felder", styles.heading)
    row += 1
    ws.write_row(row, 0, ("Blatt", "Feld", "Pflicht", "Hinweis"), styles.bold)
    for values in field_list(ctx.spec):
        row += 1
        ws.write_row(row, 0, values, styles.label)
    ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.set_paper(9)
