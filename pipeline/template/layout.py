"""Where everything sits in the workbook: derived from the spec, shared by all writers.

Rows and columns are 0-based (xlsxwriter's convention); `Cell.ref` gives the A1 address.
"""

from __future__ import annotations

from dataclasses import dataclass

from xlsxwriter.utility import quote_sheetname, xl_rowcol_to_cell

from pipeline.spec import FieldSpec, TableSpec, TemplateSpec

# "fields" sheets: title, help line, column headings, then sections of label | input | help.
LABEL_COL, INPUT_COL, HELP_COL = 0, 1, 2
FIELDS_HEADER_ROW = 2
# "narrative" sheets: title, help line, then per field a label row, a help row, a big cell.
NARRATIVE_FIRST_ROW = 3
NARRATIVE_STRIDE = 4
# "table" sheets: title, help line, per-column help, header, body.
TABLE_TITLE_ROW, TABLE_HELP_ROW, TABLE_COLUMN_HELP_ROW, TABLE_HEADER_ROW = 0, 1, 2, 3
# Validations and formats reach this far below the table body, so rows the user adds
# (the table grows) inherit them.
TABLE_SPARE_ROWS = 200


@dataclass(frozen=True)
class Cell:
    sheet: str
    row: int
    col: int

    @property
    def ref(self) -> str:
        return xl_rowcol_to_cell(self.row, self.col)

    @property
    def defined_name_target(self) -> str:
        """`=Angaben!$B$7` form, the sheet name quoted when needed."""
        absolute = xl_rowcol_to_cell(self.row, self.col, row_abs=True, col_abs=True)
        return f"={quote_sheetname(self.sheet)}!{absolute}"


@dataclass(frozen=True)
class FieldRow:
    """One row of a fields sheet: a section heading (field None) or a field."""

    row: int
    section: str
    field: FieldSpec | None = None


def fields_rows(fields: list[FieldSpec]) -> list[FieldRow]:
    rows: list[FieldRow] = []
    row, section = FIELDS_HEADER_ROW + 1, None
    for spec in fields:
        if spec.section != section:
            section = spec.section
            rows.append(FieldRow(row, section))
            row += 1
        rows.append(FieldRow(row, section, spec))
        row += 1
    return rows


@dataclass(frozen=True)
class NarrativeBlock:
    field: FieldSpec
    label_row: int
    help_row: int
    input_row: int


def narrative_blocks(fields: list[FieldSpec]) -> list[NarrativeBlock]:
    blocks = []
    for i, spec in enumerate(fields):
        first = NARRATIVE_FIRST_ROW + i * NARRATIVE_STRIDE
        blocks.append(NarrativeBlock(spec, first, first + 1, first + 2))
    return blocks


def field_cells(spec: TemplateSpec) -> dict[str, Cell]:
    """Defined name -> its cell, for every field of the spec."""
    cells: dict[str, Cell] = {}
    for sheet in spec.sheets:
        fields = spec.fields_on(sheet.name)
        if sheet.kind == "fields":
            for r in fields_rows(fields):
                if r.field is not None:
                    cells[r.field.name] = Cell(sheet.name, r.row, INPUT_COL)
        elif sheet.kind == "narrative":
            for b in narrative_blocks(fields):
                cells[b.field.name] = Cell(sheet.name, b.input_row, 0)
        elif fields:
            raise ValueError(f"sheet {sheet.name!r} ({sheet.kind}) cannot hold fields")
    missing = {f.name for f in spec.fields} - cells.keys()
    if missing:
        raise ValueError(f"fields on sheets the spec does not declare: {sorted(missing)}")
    return cells


@dataclass(frozen=True)
class TableLayout:
    table: TableSpec
    body_rows: int

    @property
    def first_body_row(self) -> int:
        return TABLE_HEADER_ROW + 1

    @property
    def last_body_row(self) -> int:
        return TABLE_HEADER_ROW + self.body_rows

    @property
    def last_col(self) -> int:
        return len(self.table.columns) - 1

    @property
    def last_formatted_row(self) -> int:
        return self.last_body_row + TABLE_SPARE_ROWS


def table_layout(table: TableSpec, data_rows: int = 0) -> TableLayout:
    """The table is as long as the spec says, or longer when more rows are filled in."""
    return TableLayout(table, max(table.rows, data_rows, 1))
