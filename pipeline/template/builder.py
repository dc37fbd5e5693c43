"""Build the quarterly workbook (template `KISI-Quartalsbericht`) with xlsxwriter.

Everything is derived from the template and programme specs: sheets, defined names,
tables, validations, help texts and instructions. The same inputs give byte-identical
files (fixed document dates; xlsxwriter's zip members carry a fixed timestamp).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from datetime import datetime, time
from pathlib import Path
from typing import Protocol

from xlsxwriter.utility import xl_cell_to_rowcol
from xlsxwriter.workbook import Workbook

from pipeline.spec import Programme, TemplateSpec, load_programme, load_template
from pipeline.template.instructions import write_instructions
from pipeline.template.layout import field_cells
from pipeline.template.model import BuildContext, Identity, WorkbookData
from pipeline.template.sheets import (
    write_fields_sheet,
    write_narrative_sheet,
    write_table_sheet,
    write_value,
)
from pipeline.template.styles import Styles

# Municipal text must never turn into a live formula or hyperlink.
WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "in_memory": True}
FILE_MODE = 0o644


class RegistryApp(Protocol):
    ags: str
    name: str


def template_filename(identity: Identity | None, spec: TemplateSpec | None = None) -> str:
    """`<ags>_PJ<N>_Q<Q>.xlsx`; a blank template is named after the template and version."""
    if identity is None:
        spec = spec or load_template()
        return f"{spec.id}_v{spec.version}_blanko.xlsx"
    return f"{identity.ags}_PJ{identity.projektjahr}_Q{identity.quartal}.xlsx"


def build_workbook(
    path: Path,
    identity: Identity | None,
    data: WorkbookData | None = None,
    spec: TemplateSpec | None = None,
    prog: Programme | None = None,
) -> Path:
    """Write the workbook to `path` atomically (temp file in the same folder, then rename).

    `identity=None` gives a blank template whose identity cells are empty and editable.
    """
    ctx = BuildContext(spec or load_template(), prog or load_programme(), identity)
    data = data or WorkbookData()
    _check_data(ctx.spec, data)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        workbook = Workbook(tmp_name, WORKBOOK_OPTIONS)
        _fill(workbook, ctx, data)
        workbook.close()
        tmp.chmod(FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def build_templates(
    registry_apps: Iterable[RegistryApp],
    projektjahr: int,
    quartal: int,
    out_dir: Path,
    spec: TemplateSpec | None = None,
    prog: Programme | None = None,
) -> list[Path]:
    """One prefilled workbook per application, named by `template_filename`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for app in registry_apps:
        identity = Identity(app.ags, app.name, projektjahr, quartal)
        path = out_dir / template_filename(identity)
        paths.append(build_workbook(path, identity, spec=spec, prog=prog))
    return paths


def _check_data(spec: TemplateSpec, data: WorkbookData) -> None:
    """Typos in test data should fail loudly, not produce a silently different workbook."""
    unknown = set(data.values) - {f.name for f in spec.fields}
    unknown |= set(data.rows) - {t.name for t in spec.tables}
    unknown |= {sheet for sheet, _ in data.cells} - {s.name for s in spec.sheets}
    for name, rows in data.rows.items():
        if name in {t.name for t in spec.tables}:
            columns = {c.name for c in spec.table(name).columns}
            unknown |= {f"{name}.{key}" for row in rows for key in row if key not in columns}
    if unknown:
        raise KeyError(f"not in template {spec.id} v{spec.version}: {sorted(unknown)}")


def _fill(workbook: Workbook, ctx: BuildContext, data: WorkbookData) -> None:
    styles = Styles(workbook)
    spec = ctx.spec
    for sheet in spec.sheets:
        ws = workbook.add_worksheet(sheet.name)
        if sheet.kind == "instructions":
            write_instructions(ws, styles, ctx)
        elif sheet.kind == "fields":
            write_fields_sheet(ws, styles, ctx, data.values)
        elif sheet.kind == "narrative":
            write_narrative_sheet(ws, styles, ctx, data.values)
        elif sheet.kind == "table":
            for table in spec.tables_on(sheet.name):
                write_table_sheet(ws, styles, ctx, table, data.rows.get(table.name, []))
        else:
            raise ValueError(f"unknown sheet kind in spec: {sheet.kind}")
    for name, cell in field_cells(spec).items():
        workbook.define_name(name, cell.defined_name_target)
    for (sheet, ref), value in data.cells.items():
        row, col = xl_cell_to_rowcol(ref)
        write_value(workbook.get_worksheet_by_name(sheet), row, col, value, None)
    _set_properties(workbook, ctx)


def _set_properties(workbook: Workbook, ctx: BuildContext) -> None:
    spec, prog, ident = ctx.spec, ctx.prog, ctx.identity
    title = spec.title if ident is None else f"{spec.title} {ident.period.label} – {ident.name}"
    workbook.set_properties(
        {
            "title": title,
            "subject": prog.name,
            "author": prog.ministry,
            "company": prog.ministry,
            "keywords": f"{spec.id}, Version {spec.version}",
            # Fixed, so that the same inputs give byte-identical files.
            "created": datetime.combine(prog.start, time()),
        }
    )
    workbook.set_custom_property("KISI_VORLAGE_ID", spec.id)
    workbook.set_custom_property("KISI_VORLAGE_VERSION", spec.version)
