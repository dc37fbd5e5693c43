"""read_xlsx: the only entry point; every way a file can be unreadable ends in XlsxError."""

from __future__ import annotations

import gc
import posixpath
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from pipeline.spec import Limits
from pipeline.xlsx.model import RawWorkbook, XlsxError
from pipeline.xlsx.package import Package, Relationship
from pipeline.xlsx.parts import read_date_styles, read_shared_strings, read_table, read_workbook
from pipeline.xlsx.safezip import load_bytes, open_zip
from pipeline.xlsx.sheet import SheetContext, read_sheet

_DEFAULT_WORKBOOK = "xl/workbook.xml"
T = TypeVar("T")


def read_xlsx(source: Path | bytes, limits: Limits, referenced_only: bool = False) -> RawWorkbook:
    """Read the sheets, cells, defined names and tables of an .xlsx/.xlsm file.

    `source` is a path or the file's bytes. Raises XlsxError (see its stable codes) for any
    file that is not a readable workbook or breaks `limits`; OSError only when a path cannot
    be read at all. `referenced_only`: read the cells only of sheets that a defined name
    points into or that hold a table (the others, e.g. the instructions, stay empty and are
    listed in `RawWorkbook.unread`); every part is still checked for a DOCTYPE.
    """
    data = load_bytes(source, limits)
    try:
        with open_zip(data, limits) as zf, _collector_paused():
            return _read_package(Package(zf, limits), referenced_only)
    except MemoryError:  # within the limits but not within this machine: refuse, go on
        raise XlsxError("too_many_cells", "mehr als der Arbeitsspeicher fasst") from None


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Cells are plain data without reference cycles; the cyclic garbage collector, run
    again and again while a million of them are created, only costs time (measured: half
    of the reading time of a 1M-cell sheet)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_package(pkg: Package, referenced_only: bool = False) -> RawWorkbook:
    if not pkg.has("[Content_Types].xml"):
        raise XlsxError("not_workbook", "no [Content_Types].xml")
    main = _workbook_part(pkg)
    part = pkg.cached(main, read_workbook)  # shared with other workbooks: copy, don't change
    rels = {rel.id: rel for rel in pkg.rels(main)}
    book = RawWorkbook(
        sheets=[name for name, _ in part.sheets],
        date1904=part.date1904,
        defined_names=dict(part.defined_names),
        has_macros=any(posixpath.basename(n).lower() == "vbaproject.bin" for n in pkg.names()),
        external_links=sum(rel.kind == "externalLink" for rel in rels.values()),
    )
    ctx = SheetContext(
        shared=_optional(pkg, rels, "sharedStrings", read_shared_strings, []),
        date_styles=_optional(pkg, rels, "styles", _date_styles, frozenset()),
        cells_left=pkg.limits.max_cells,
    )
    named = {dn.sheet for dn in part.defined_names.values() if dn.sheet is not None}
    for name, rel_id in part.sheets:
        _read_sheet(pkg, book, name, rels.get(rel_id), ctx,
                    skip_unless_table=referenced_only and name not in named)
    pkg.refuse_doctypes()  # the parts not parsed above (theme, docProps, unread sheets)
    return book


def _workbook_part(pkg: Package) -> str:
    for rel in pkg.rels(""):
        if rel.kind == "officeDocument" and pkg.has(rel.target):
            return rel.target
    if pkg.has(_DEFAULT_WORKBOOK):
        return _DEFAULT_WORKBOOK
    raise XlsxError("not_workbook", "no workbook part")


def _optional(
    pkg: Package,
    rels: dict[str, Relationship],
    kind: str,
    read: Callable[[Package, str], T],
    default: T,
) -> T:
    """The parsed part of relationship type `kind`, or `default` when the file has none."""
    for rel in rels.values():
        if rel.kind == kind and pkg.has(rel.target):
            return read(pkg, rel.target)
    return default


def _date_styles(pkg: Package, part: str) -> frozenset[str]:
    return pkg.cached(part, read_date_styles)


def _read_sheet(
    pkg: Package, book: RawWorkbook, name: str, rel: Relationship | None, ctx: SheetContext,
    skip_unless_table: bool = False,
) -> None:
    book.cells[name] = {}
    book.merged[name] = []
    if rel is None:
        raise XlsxError("corrupt", f"sheet {name!r} has no part")
    if rel.kind != "worksheet":  # chart and dialog sheets hold no cells
        return
    tables = [r.target for r in pkg.rels(rel.target) if r.kind == "table"]
    if skip_unless_table and not tables:
        book.unread.append(name)
        return
    data = read_sheet(pkg, rel.target, ctx)
    book.cells[name] = data.cells
    book.merged[name] = data.merged
    for target in tables:
        table = pkg.cached(target, read_table, name)
        book.tables[table.name] = table
