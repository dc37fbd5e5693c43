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
so a reader gets back exactly the text. There is no `<f>`: text stays text; the only links
are the ones a caller passes as `hyperlinks` (locations inside the workbook).

Deflate chunks: a streamed sheet's member is one deflate stream made of chunks that each
end on a byte boundary (a sync flush): the frame's head, every `Deflated` piece as it comes
(rows compressed on their own by `deflate`, e.g. kept from the previous run), the text
between them, and the frame's tail, which ends the stream. The member's CRC-32 is combined
from the chunks' (`crc32.combine`), so a kept chunk is copied without reading its text.

Determinism: members keep their order, names, timestamps and attributes from xlsxwriter's
in-memory package (fixed 1980-01-01), the deflate level is fixed, and a chunk depends only
on its own text (a fresh compressor per `Deflated` piece).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import xlsxwriter.workbook
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from pipeline.outputs import crc32
from pipeline.outputs.xlsxkit import LARGE_LEVEL, member_level

MAX_ROWS = 1_048_576  # rows of an Excel sheet, header rows included
MAX_TEXT = 32_767  # characters of an Excel cell; xlsxwriter truncates longer text alike
# Deflate level of the streamed sheets: level 1 is ≈ 3× faster than the default 6 on this
# repetitive XML and the file ≈ 25 % larger (measured on the benchmark, docs/reports.md);
# the frame's other members as `Book.close` writes them (`xlsxkit.member_level`).
STREAM_LEVEL = LARGE_LEVEL
ZIP64_AT = zipfile.ZIP64_LIMIT  # bytes of one member beyond which it needs ZIP64
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_LITERAL_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_DIMENSION = re.compile(r'<dimension ref="[A-Z0-9:]*"/>')
_SHEET_DATA_END = "</sheetData>"
# What may follow <hyperlinks> in a worksheet (CT_Worksheet's sequence, ECMA-376 §18.3.1.99)
_AFTER_HYPERLINKS = re.compile(
    "<(printOptions|pageMargins|pageSetup|headerFooter|rowBreaks|colBreaks|customProperties"
    "|cellWatches|ignoredErrors|smartTags|drawing|legacyDrawing|legacyDrawingHF|picture"
    "|oleObjects|controls|webPublishItems|tableParts|extLst)[ />]|</worksheet>")


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


@dataclass(frozen=True)
class Deflated:
    """Text compressed on its own: raw deflate that ends on a byte boundary and not as the
    stream's last block (sync flush), so chunks can follow one another; `crc` (CRC-32) and
    `size` of the text."""

    data: bytes
    crc: int
    size: int


def deflate(pieces: Iterable[str | bytes]) -> Deflated:
    """`pieces` (str: as UTF-8) as one `Deflated` chunk, by a fresh compressor."""
    z = zlib.compressobj(STREAM_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    out: list[bytes] = []
    crc = size = 0
    for piece in pieces:
        data = piece if isinstance(piece, bytes) else piece.encode("utf-8")
        crc = zlib.crc32(data, crc)
        size += len(data)
        out.append(z.compress(data))
    out.append(z.flush(zlib.Z_SYNC_FLUSH))
    return Deflated(b"".join(out), crc, size)


@dataclass
class StreamedSheet:
    """Rows to insert into the frame of `sheet` (1-based `last_row`, 0-based `last_col`)."""

    sheet: Worksheet
    last_row: int
    last_col: int
    chunks: Callable[[], Iterable[str | bytes | Deflated]]  # `<row>` elements (bytes:
    # UTF-8), a few thousand per item, or already compressed
    hyperlinks: str = ""  # a `<hyperlinks>` element for the frame (internal links only)


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
                dst.writestr(out, data, compresslevel=member_level(len(data)))
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
    if sheet.hyperlinks:
        tail = _with_hyperlinks(info.filename, tail, sheet.hyperlinks)
    member = _RawMember(dst, info, zip64)
    member.text(head.encode("utf-8"))
    for piece in sheet.chunks():
        if isinstance(piece, Deflated):
            member.chunk(piece)
        else:
            member.text(piece if isinstance(piece, bytes) else piece.encode("utf-8"))
    member.text((sep + tail).encode("utf-8"))
    member.close()


def _with_hyperlinks(name: str, tail: str, hyperlinks: str) -> str:
    """The frame's part after `</sheetData>` with `hyperlinks` at its place."""
    if "<hyperlinks" in tail:
        raise RuntimeError(f"{name}: the frame has links of its own")
    at = _AFTER_HYPERLINKS.search(tail)
    if at is None:
        raise RuntimeError(f"{name}: no end of the worksheet in the frame")
    return tail[:at.start()] + hyperlinks + tail[at.start():]


class _RawMember:
    """A deflated member of `dst` written from chunks: text is compressed here, `Deflated`
    chunks are copied. As `ZipFile.open(info, "w")` on a seekable file: the local header
    first, then the data, then the header again with CRC and sizes, then the member is
    registered for the central directory (zipfile's own steps, `_ZipWriteFile.close`;
    pinned by tests that read the files back and check every CRC)."""

    def __init__(self, dst: zipfile.ZipFile, info: zipfile.ZipInfo, zip64: bool) -> None:
        if dst._writing:  # type: ignore[attr-defined]
            raise ValueError("another member is being written")
        self.dst, self.info, self.zip64 = dst, info, zip64
        info.compress_type = zipfile.ZIP_DEFLATED
        info.flag_bits = 0
        info.CRC = info.compress_size = info.file_size = 0
        dst._writecheck(info)  # type: ignore[attr-defined]
        dst._didModify = True  # type: ignore[attr-defined]
        self.fp = dst.fp
        assert self.fp is not None
        self.fp.seek(dst.start_dir)
        info.header_offset = self.fp.tell()
        self.fp.write(info.FileHeader(zip64))
        self.crc = self.size = self.compressed = 0
        self.z: zlib._Compress | None = None

    def _grow(self, size: int) -> None:
        self.size += size
        if self.size > ZIP64_AT and not self.zip64:
            raise _NeedsZip64

    def _out(self, data: bytes) -> None:
        if data:
            self.compressed += len(data)
            self.fp.write(data)

    def text(self, data: bytes) -> None:
        self._grow(len(data))
        self.crc = zlib.crc32(data, self.crc)
        if self.z is None:
            self.z = zlib.compressobj(STREAM_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._out(self.z.compress(data))

    def chunk(self, piece: Deflated) -> None:
        self._grow(piece.size)
        if self.z is not None:  # end the text before it on a byte boundary
            self._out(self.z.flush(zlib.Z_SYNC_FLUSH))
            self.z = None
        self.crc = crc32.combine(self.crc, piece.crc, piece.size)
        self._out(piece.data)

    def close(self) -> None:
        if self.z is None:
            self.z = zlib.compressobj(STREAM_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._out(self.z.flush(zlib.Z_FINISH))
        self.z = None
        if self.compressed > ZIP64_AT and not self.zip64:
            raise _NeedsZip64
        info, dst = self.info, self.dst
        info.CRC, info.compress_size, info.file_size = self.crc, self.compressed, self.size
        dst.start_dir = self.fp.tell()  # type: ignore[attr-defined]
        self.fp.seek(info.header_offset)
        self.fp.write(info.FileHeader(self.zip64))
        self.fp.seek(dst.start_dir)  # type: ignore[attr-defined]
        dst.filelist.append(info)
        dst.NameToInfo[info.filename] = info
