"""Writers for the three kinds of input sheets: fields, narrative, table.

Protection: the "fields" and "narrative" sheets are protected (no password, it only guards
against accidents) with the input cells unlocked, so prefilled identity cells and labels
cannot be overwritten by mistake. Table sheets are deliberately NOT protected: on a
protected sheet Excel cannot grow a table (typing below it or Tab in its last cell), and
clerks must be able to add rows. Their headers are guarded by the reader instead, which
checks table names and header texts.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from pipeline.spec import TableSpec
from pipeline.template.instructions import required_text
from pipeline.template.layout import (
    FIELDS_HEADER_ROW,
    HELP_COL,
    INPUT_COL,
    LABEL_COL,
    TABLE_COLUMN_HELP_ROW,
    TABLE_HEADER_ROW,
    TABLE_HELP_ROW,
    TABLE_TITLE_ROW,
    fields_rows,
    narrative_blocks,
    table_layout,
)
from pipeline.template.model import BuildContext, Formula
from pipeline.template.styles import TABLE_STYLE, Styles
from pipeline.template.validation import validation

FIELDS_WIDTHS = {LABEL_COL: 46, INPUT_COL: 34, HELP_COL: 90}
NARRATIVE_WIDTH = 120
NARRATIVE_HEIGHT = 260  # points; Excel's maximum is 409
HELP_LINE_HEIGHT = 12
# Clerks may still resize rows and columns of a protected sheet.
PROTECT_OPTIONS = {"format_columns": True, "format_rows": True}
A4 = 9


def write_value(ws: Worksheet, row: int, col: int, value: object, fmt: Format | None) -> None:
    """Write `value` raw, keeping its Python type: no string ever becomes a number/formula."""
    if value is None:
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, Formula):
        # xlsxwriter writes an empty <v></v> for "": a formula nobody has calculated yet.
        cached = "" if value.cached is None else value.cached
        ws.write_formula(row, col, value.text, fmt, cached)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, int | float | Decimal):
        # Only fixtures and the demo write numbers here; the pipeline never reads them back
        # as floats (its reader works on the stored text).
        ws.write_number(row, col, float(value) if isinstance(value, Decimal) else value, fmt)
    elif isinstance(value, date | datetime):
        ws.write_datetime(row, col, value, fmt)
    elif isinstance(value, str):
        ws.write_string(row, col, value, fmt)
    else:
        raise TypeError(f"cannot write {type(value).__name__} into a cell")


def page_setup(ws: Worksheet, ctx: BuildContext, landscape: bool, header_row: int | None) -> None:
    ident = ctx.identity
    project = ident.name if ident else ctx.spec.title
    period = ident.period.label if ident else ""
    ws.set_header(f"&L{project.replace('&', '&&')}&C{period}&R&A")
    ws.set_footer(f"&L{ctx.spec.id} Version {ctx.spec.version}&RSeite &P von &N")
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.set_paper(A4)
    ws.fit_to_pages(1, 0)
    if header_row is not None:
        ws.repeat_rows(header_row)


def write_fields_sheet(
    ws: Worksheet, styles: Styles, ctx: BuildContext, values: dict[str, object]
) -> None:
    for col, width in FIELDS_WIDTHS.items():
        ws.set_column(col, col, width)
    ws.write_string(0, 0, f"{ctx.spec.title} – {ws.name}", styles.title)
    ws.write_string(
        1,
        0,
        "Bitte füllen Sie die gelb hinterlegten Felder aus. Grau "
        "hinterlegte Felder sind vorausgefüllt und gesperrt.",
        styles.subtitle,
    )
    ws.write_row(FIELDS_HEADER_ROW, 0, ("Angabe", "Eintrag", "Hinweis"), styles.bold)
    for r in fields_rows(ctx.spec.fields_on(ws.name)):
        if r.field is None:
            ws.write_string(r.row, LABEL_COL, r.section, styles.heading)
            for col in (INPUT_COL, HELP_COL):
                ws.write_blank(r.row, col, None, styles.heading)
            continue
        spec = r.field
        prefilled = ctx.prefill(spec.prefill)
        fmt = styles.input(spec.type, spec.max, locked=spec.locked and prefilled is not None)
        ws.write_string(r.row, LABEL_COL, spec.label, styles.label)
        write_value(ws, r.row, INPUT_COL, values.get(spec.name, prefilled), fmt)
        ws.write_string(r.row, HELP_COL, spec.help, styles.help)
        ref = xl_rowcol_to_cell(r.row, INPUT_COL)
        ws.data_validation(r.row, INPUT_COL, r.row, INPUT_COL, validation(spec, ctx, ref))
    ws.freeze_panes(FIELDS_HEADER_ROW + 1, 0)
    ws.protect("", PROTECT_OPTIONS)
    page_setup(ws, ctx, landscape=False, header_row=FIELDS_HEADER_ROW)


def write_narrative_sheet(
    ws: Worksheet, styles: Styles, ctx: BuildContext, values: dict[str, object]
) -> None:
    ws.set_column(0, 0, NARRATIVE_WIDTH)
    ws.write_string(0, 0, f"{ctx.spec.title} – {ws.name}", styles.title)
    ws.write_string(
        1,
        0,
        "Bitte schreiben Sie in die gelb hinterlegten Felder. Neue Zeile "
        "in einer Zelle: Alt+Eingabe (Excel) bzw. Strg+Eingabe (LibreOffice).",
        styles.subtitle,
    )
    for b in narrative_blocks(ctx.spec.fields_on(ws.name)):
        spec = b.field
        ws.write_string(
            b.label_row, 0, f"{spec.label} (Pflicht: {required_text(spec)})", styles.bold
        )
        ws.write_string(b.help_row, 0, spec.help, styles.help)
        write_value(ws, b.input_row, 0, values.get(spec.name), styles.narrative())
        ws.set_row(b.input_row, NARRATIVE_HEIGHT)
        ref = xl_rowcol_to_cell(b.input_row, 0)
        ws.data_validation(b.input_row, 0, b.input_row, 0, validation(spec, ctx, ref))
    ws.protect("", PROTECT_OPTIONS)
    page_setup(ws, ctx, landscape=False, header_row=None)


def write_table_sheet(
    ws: Worksheet,
    styles: Styles,
    ctx: BuildContext,
    table: TableSpec,
    rows: list[dict[str, object]],
) -> None:
    lay = table_layout(table, len(rows))
    formats = [styles.column(c.type, c.max) for c in table.columns]
    for i, (col, fmt) in enumerate(zip(table.columns, formats, strict=True)):
        ws.set_column(i, i, col.width, fmt)
    total_width = sum(c.width for c in table.columns)
    ws.write_string(TABLE_TITLE_ROW, 0, table.label, styles.title)
    ws.merge_range(TABLE_HELP_ROW, 0, TABLE_HELP_ROW, lay.last_col, table.help, styles.paragraph)
    ws.set_row(TABLE_HELP_ROW, 15 * math.ceil(len(table.help) * 1.1 / total_width))
    for i, col in enumerate(table.columns):
        ws.write_string(TABLE_COLUMN_HELP_ROW, i, col.help, styles.small_help)
    lines = max(math.ceil(len(c.help) * 1.1 / c.width) for c in table.columns)
    ws.set_row(TABLE_COLUMN_HELP_ROW, HELP_LINE_HEIGHT * lines)
    ws.add_table(
        TABLE_HEADER_ROW,
        0,
        lay.last_body_row,
        lay.last_col,
        {
            "name": table.name,
            "style": TABLE_STYLE,
            "columns": [
                {"header": c.name, "format": f} for c, f in zip(table.columns, formats, strict=True)
            ],
        },
    )
    for n in range(lay.body_rows):
        row = rows[n] if n < len(rows) else {}
        for i, (col, fmt) in enumerate(zip(table.columns, formats, strict=True)):
            write_value(ws, lay.first_body_row + n, i, row.get(col.name), fmt)
    for i, col in enumerate(table.columns):
        anchor = xl_rowcol_to_cell(lay.first_body_row, i)
        ws.data_validation(
            lay.first_body_row, i, lay.last_formatted_row, i, validation(col, ctx, anchor)
        )
    ws.freeze_panes(TABLE_HEADER_ROW + 1, 0)
    page_setup(ws, ctx, landscape=True, header_row=TABLE_HEADER_ROW)
