"""Stream the rows of very long sheets into a package that xlsxwriter has framed.

xlsxwriter costs ≈ 9 µs of Python per cell. For a sheet of a million cells that is most of a
report run, so such a sheet is written in two steps: xlsxwriter writes the sheet's frame
(header row, column widths, frozen panes, autofilter over the final range, print setup, and
the formats, which thereby get their style index), the workbook goes to memory, and
`finish` copies the package member by member into the target file, inserting the data rows
before the frame's `</sheetData>` as XML text and fixing `<dimension>`.

Safety: every text is an inline string (`t="inlineStr"`) escaped by `xstring`: XML
metacharacters become entities, control characters the OOXML escape `_xHHHH_` (as Excel and
xlsxwriter write them), and a literal `_xHHHH_` in the data is protected as `_x005F_xHHHH_`,
so a reader gets back exactly the text. There is no `<f>` and no link: text stays text.

Determinism: members keep their order, names, timestamps and attributes from xlsxwriter's
in-memory package (fixed 1980-01-01), and the deflate level is fixed.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import xlsxwriter.workbook
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

MAX_ROWS = 1_048_576  # rows of an Excel sheet, header rows included
MAX_TEXT = 32_767  # characters of an Excel cell; xlsxwriter truncates longer text alike
# Deflate level of the streamed sheets: level 1 is ≈ 3× faster than the default 6 on this
# repetitive XML and the file ≈ 25 % larger (measured on the benchmark, docs/reports.md).
STREAM_LEVEL = 1
OTHER_LEVEL = 6
ZIP64_AT = zipfile.ZIP64_LIMIT  # bytes of one member beyond which it needs ZIP64
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_LITERAL_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_DIMENSION = re.compile(r'<dimension ref="[A-Z0-9:]*"/>')
_SHEET_DATA_END = "</sheetData>"


def xstring(text: str) -> str:
    """`text` as the content of a `<t>` element (ST_Xstring, then XML escapes)."""
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
    if "_x" in text:
        text = _LITERAL_ESCAPE.sub(r"_x005F\1", text)
    if _CONTROL.search(text):
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if '"' in text:
        text = text.replace('"', "&quot;")
    return text


def inline(text: str) -> str:
    """The `<is>` element of an inline string cell holding `text`."""
    body = xstring(text)
    if body[:1].isspace() or body[-1:].isspace():  # as xlsxwriter decides it
        return f'<is><t xml:space="preserve">{body}</t></is>'
    return f"<is><t>{body}</t></is>"


def number(value: float | int) -> str:
    """A number as xlsxwriter writes it (`%.16G`); Excel has no NaN or infinity."""
    text = f"{value:.16G}"
    if text in ("NAN", "INF", "-INF"):
        raise ValueError(f"{value!r} ist keine Zahl, die Excel speichern kann")
    return text


def style(fmt: Format) -> str:
    """` s="N"` for a cell in `fmt` ("" for the default style). Asking xlsxwriter for the
    index registers the format, so it is written to styles.xml at close."""
    index = fmt._get_xf_index()
    return f' s="{index}"' if index else ""


@contextmanager
def stored_frame() -> Iterator[None]:
    """While a frame workbook closes: its members are stored, not deflated. `finish`
    deflates every member anyway (its own levels, its own ZipInfo), so the frame's
    compression never reaches the target's bytes; storing saves deflating the members
    once and inflating them again (xlsxwriter takes the method from this module global;
    should that change, the frame is deflated as before)."""
    saved = xlsxwriter.workbook.ZIP_DEFLATED
    xlsxwriter.workbook.ZIP_DEFLATED = zipfile.ZIP_STORED  # type: ignore[attr-defined]
    try:
        yield
    finally:
        xlsxwriter.workbook.ZIP_DEFLATED = saved  # type: ignore[attr-defined]


@dataclass
class StreamedSheet:
    """Rows to insert into the frame of `sheet` (1-based `last_row`, 0-based `last_col`)."""

    sheet: Worksheet
    last_row: int
    last_col: int
    chunks: Callable[[], Iterable[str | bytes]]  # `<row>` elements (bytes: UTF-8), a few
    # thousand per item


def part_name(wb: Workbook, sheet: Worksheet) -> str:
    """xlsxwriter's package name of a worksheet: sheetN.xml, N counting worksheets only."""
    sheets = [s for s in wb.worksheets() if not s.is_chartsheet]
    return f"xl/worksheets/sheet{sheets.index(sheet) + 1}.xml"


def finish(frame: bytes, target: Path, wb: Workbook, streamed: list[StreamedSheet]) -> None:
    """Write the package `frame` (xlsxwriter, in memory) to `target` with the rows of
    `streamed` inserted into their sheets. A sheet part past 2 GiB needs ZIP64, which must
    be chosen before its first byte; Excel is strict about ZIP64, so it is used only then:
    the package is written once more with it."""
    by_part = {part_name(wb, s.sheet): s for s in streamed}
    try:
        _write(frame, target, by_part, zip64=False)
    except _NeedsZip64:
        _write(frame, target, by_part, zip64=True)


class _NeedsZip64(Exception):
    pass


def _write(frame: bytes, target: Path, by_part: dict[str, StreamedSheet], zip64: bool) -> None:
    left = dict(by_part)
    with (zipfile.ZipFile(io.BytesIO(frame)) as src,
          zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst):
        for info in src.infolist():
            out = _copy_info(info)
            data = src.read(info)
            sheet = left.pop(info.filename, None)
            if sheet is None:
                dst.writestr(out, data, compresslevel=OTHER_LEVEL)
            else:
                _stream(dst, out, data.decode("utf-8"), sheet, zip64)
    if left:
        raise RuntimeError(f"sheet parts not in the package: {sorted(left)}")


def _copy_info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    out = zipfile.ZipInfo(info.filename, info.date_time)
    out.compress_type = zipfile.ZIP_DEFLATED
    out.create_system = info.create_system
    out.external_attr = info.external_attr
    return out


def _stream(dst: zipfile.ZipFile, info: zipfile.ZipInfo, xml: str, sheet: StreamedSheet,
            zip64: bool) -> None:
    head, sep, tail = xml.partition(_SHEET_DATA_END)
    if not sep or _SHEET_DATA_END in tail:
        raise RuntimeError(f"{info.filename}: no single </sheetData> in the frame")
    last = f"{xl_col_to_name(sheet.last_col)}{sheet.last_row}"
    head, found = _DIMENSION.subn(f'<dimension ref="A1:{last}"/>', head, count=1)
    if not found:
        raise RuntimeError(f"{info.filename}: no <dimension> in the frame")
    _set_level(info, STREAM_LEVEL)
    size = 0
    with dst.open(info, "w", force_zip64=zip64) as fh:
        for text in _pieces(head, sheet, sep + tail):
            data = text if isinstance(text, bytes) else text.encode("utf-8")
            size += len(data)
            if size > ZIP64_AT and not zip64:
                raise _NeedsZip64
            fh.write(data)


def _pieces(head: str, sheet: StreamedSheet, tail: str) -> Iterator[str | bytes]:
    yield head
    yield from sheet.chunks()
    yield tail


def _set_level(info: zipfile.ZipInfo, level: int) -> None:
    # ZipFile.open(info, "w") takes the level from the ZipInfo: `compress_level` since
    # Python 3.13, `_compresslevel` before (no public setter in 3.11/3.12).
    if hasattr(info, "compress_level"):
        info.compress_level = level
    else:
        info._compresslevel = level

