"""Turn an openpyxl workbook into reproducible .xlsx bytes.

openpyxl stamps the save time into the zip members and docProps/core.xml, and it drops the
cached results of formulas. Both are fixed here: members get a fixed timestamp, the document
date is set by the caller, and cached values read from the original file are written back,
so a formula the clerk typed keeps the value our reader accepted (rule FORMEL_WERT).
"""

from __future__ import annotations

import binascii
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pipeline.xlsx.model import RawWorkbook

if TYPE_CHECKING:  # openpyxl: imported to write a workbook, not to zip a stored one
    from openpyxl import Workbook

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FIXED_STAMP = datetime(1980, 1, 1)
# Cell kind of our reader -> `t` attribute of a formula cell with a cached result.
CACHED_TYPE = {"n": "", "s": "str", "b": "b", "e": "e", "d": "d"}

Cached = dict[str, tuple[str, str]]  # "B16" -> (kind, text)


def cached_formula_values(raw: RawWorkbook) -> dict[str, Cached]:
    """Sheet name -> cell -> cached result, for every formula cell that has one."""
    found: dict[str, Cached] = {}
    for sheet, cells in raw.cells.items():
        for cell in cells.values():
            if cell.formula is not None and cell.has_value and cell.kind in CACHED_TYPE:
                found.setdefault(sheet, {})[cell.ref] = (cell.kind, cell.text)
    return found


def workbook_bytes(wb: Workbook, stamp: datetime | None,
                   cached: Mapping[str, Cached] | None = None, keep_created: bool = False
                   ) -> bytes:
    """Serialise `wb` without the current time; put cached formula results back.

    `stamp` becomes the document's modified date (and its created date, unless
    `keep_created` says the loaded file had one: openpyxl puts "now" where it had none).
    """
    from openpyxl.writer.excel import ExcelWriter

    stamp = core_stamp(stamp)
    wb.properties.modified = stamp
    if not keep_created:
        wb.properties.created = stamp
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()  # unlike wb.save(), does not set modified = now
    parts = {ws.path.lstrip("/"): (cached or {}).get(ws.title, {}) for ws in wb.worksheets}
    return _normalised(buffer.getvalue(), parts)


def has_created_date(original: bytes) -> bool:
    """Whether the original's docProps/core.xml states when it was created."""
    try:
        with zipfile.ZipFile(io.BytesIO(original)) as archive:
            return b"dcterms:created" in archive.read("docProps/core.xml")
    except (KeyError, zipfile.BadZipFile, OSError):
        return False


def _normalised(data: bytes, cached_by_part: dict[str, Cached]) -> bytes:
    members = []
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename in cached_by_part:
                xml = _with_empty_strings(body.decode("utf-8"))
                body = _with_cached(xml, cached_by_part[info.filename]).encode("utf-8")
            members.append((info.filename, body))
    return zip_members(members)


def zip_members(members: Iterable[tuple[str, bytes]]) -> bytes:
    """A zip of `members` in this order, without the current time: the same bytes for the
    same members."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, body in members:
            member = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            dst.writestr(member, body)
    return out.getvalue()


class Prepacked:
    """`zip_members(members)` for a fixed list of members of which only a few (`variable`)
    change from one zip to the next: the other members' local headers and compressed
    bytes are taken once from zipfile's own output and copied, only the changed members
    are compressed (as zipfile does: one `compressobj` at the default level), and the
    offsets, CRCs and sizes in the local headers, the central directory and the end record
    are set to what zipfile would write.

    The result is checked once against `zip_members` (every variable member changed);
    if it differs (another zipfile or zlib), `build` just calls `zip_members`."""

    def __init__(self, members: Iterable[tuple[str, bytes]], variable: Collection[str],
                 repeated: Collection[str] = (), kept: object = None) -> None:
        """`kept`: what `kept()` returned for the same members in a process with the same
        zipfile and zlib (then nothing is zipped here); not usable: zipped again."""
        self.members = tuple(members)
        names = [name for name, _ in self.members]
        if len(set(names)) != len(names) or not set(variable) <= set(names):
            raise ValueError("members must have unique names, variable ones among them")
        self.variable = frozenset(variable)
        self.repeated = frozenset(repeated)  # variable members often given the same bytes
        self._memo: dict[tuple[str, bytes], bytes] = {}
        if self._restore(kept, names):
            return
        try:
            self._pieces, self._end = self._split(zip_members(self.members))
            changed = {name: body + b" <!-- -->" for name, body in self.members
                       if name in self.variable}
            self.ok = self._build(changed) == zip_members(
                (name, changed.get(name, body)) for name, body in self.members)
        except (struct.error, ValueError, zipfile.BadZipFile):  # pragma: no cover
            self.ok = False
        self._memo.clear()

    def kept(self) -> dict | None:
        """The zipped pieces as JSON (bytes in base64), for `Prepacked(..., kept=...)` in a
        later process; None when this one falls back to zipfile."""
        if not self.ok:
            return None
        return {"pieces": [[name, b64(head), b64(data), b64(entry)]
                           for name, head, data, entry in self._pieces],
                "end": b64(self._end)}

    def _restore(self, kept: object, names: list[str]) -> bool:
        try:
            pieces = [(name, unb64(head), unb64(data), unb64(entry))
                      for name, head, data, entry in kept["pieces"]]  # type: ignore[index]
            end = unb64(kept["end"])  # type: ignore[index]
        except (TypeError, KeyError, ValueError, AttributeError, binascii.Error):
            return False
        if [piece[0] for piece in pieces] != names or len(end) != _END_SIZE \
                or not end.startswith(b"PK\x05\x06") or not all(
                    head.startswith(b"PK\x03\x04") and data.startswith(head)
                    and entry.startswith(b"PK\x01\x02") for _, head, data, entry in pieces):
            return False
        self._pieces, self._end, self.ok = pieces, end, True
        return True

    def build(self, parts: Mapping[str, bytes]) -> bytes:
        """The zip of the members with the variable ones replaced by `parts` (a variable
        member not in `parts` keeps its body)."""
        if not self.ok or not set(parts) <= self.variable \
                or any(len(body) > _SMALL for body in parts.values()):
            return zip_members((name, parts.get(name, body)) for name, body in self.members)
        return self._build(parts)

    def _build(self, parts: Mapping[str, bytes]) -> bytes:
        local: list[bytes] = []
        central: list[bytes] = []
        offset = 0
        for name, head, data, entry in self._pieces:
            record = bytearray(entry)
            body = parts.get(name)
            if body is not None:
                member = self._memo.get((name, body)) if name in self.repeated else None
                if member is None:
                    member = self._member(head, body)
                    if name in self.repeated:
                        if len(self._memo) >= 64:
                            self._memo.clear()
                        self._memo[(name, body)] = member
                record[16:28] = member[14:26]  # CRC, compressed and uncompressed size
                data = member
            local.append(data)
            _OFFSET.pack_into(record, 42, offset)
            central.append(bytes(record))
            offset += len(data)
        end = bytearray(self._end)
        _OFFSET.pack_into(end, 16, offset)
        return b"".join([*local, *central, bytes(end)])

    @staticmethod
    def _member(head: bytes, body: bytes) -> bytes:
        """Local header and data of one member, as zipfile writes them."""
        compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        data = compressor.compress(body) + compressor.flush()
        header = bytearray(head)
        _SIZES.pack_into(header, 14, zlib.crc32(body), len(data), len(body))
        return bytes(header) + data

    def _split(self, reference: bytes) -> tuple[list[tuple[str, bytes, bytes, bytes]], bytes]:
        """Per member: name, local header, local header and data, central record; and the
        end record."""
        end = reference[-_END_SIZE:]
        signature, _, _, count, total, size, start, comment = _END.unpack(end)
        if signature != b"PK\x05\x06" or comment or count != total \
                or count != len(self.members) or start + size + _END_SIZE != len(reference):
            raise ValueError("unexpected zip layout")
        pieces = []
        at = start
        for name, _ in self.members:
            fields = _CENTRAL.unpack_from(reference, at)
            name_size, extra_size, comment_size = fields[12:15]
            offset = fields[18]
            entry = reference[at:at + _CENTRAL.size + name_size + extra_size + comment_size]
            if fields[0] != b"PK\x01\x02" or extra_size or comment_size \
                    or entry[_CENTRAL.size:_CENTRAL.size + name_size] != name.encode("ascii") \
                    or fields[5] & 0x08:  # no data descriptors
                raise ValueError("unexpected zip layout")
            local = _LOCAL.unpack_from(reference, offset)
            head_size = _LOCAL.size + local[10] + local[11]
            if local[0] != b"PK\x03\x04" or local[11]:
                raise ValueError("unexpected zip layout")
            pieces.append((name, reference[offset:offset + head_size],
                           reference[offset:offset + head_size + fields[10]], entry))
            at += len(entry)
        return pieces, end


def b64(data: bytes) -> str:
    """base64.b64encode as text (without importing base64)."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def unb64(text: str) -> bytes:
    """base64.b64decode of text (without importing base64)."""
    return binascii.a2b_base64(text.encode("ascii"))


_SMALL = 1 << 26  # far below zip64 sizes: larger bodies go through zipfile
_LOCAL = struct.Struct("<4s2B4HL2L2H")  # zipfile.structFileHeader
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # zipfile.structCentralDir
_END = struct.Struct("<4s4H2LH")  # zipfile.structEndArchive
_END_SIZE = _END.size
_SIZES = struct.Struct("<3L")
_OFFSET = struct.Struct("<L")


def core_stamp(stamp: datetime | None) -> datetime:
    """The document date as docProps/core.xml stores it: UTC, naive, whole seconds."""
    stamp = stamp or FIXED_STAMP
    if stamp.tzinfo is not None:  # core.xml stores UTC
        stamp = stamp.astimezone(UTC)
    return stamp.replace(tzinfo=None, microsecond=0)


# openpyxl writes a formula cell as <c r="B16" s="3"><f>..</f><v/></c> (v may be absent).
# (The patterns are compiled on first use: only a marked-up copy needs them, and the
# feedback's process often writes none.)
_FORMULA_CELL = (r'<c r="(?P<ref>[A-Z]{1,3}[0-9]{1,7})"(?P<attrs>[^>]*)>'
                 r'(?P<f><f(?:\s[^>]*)?>.*?</f>|<f(?:\s[^>]*)?/>)'
                 r'(?:<v\s*/>|<v>\s*</v>)?</c>')


# openpyxl writes a cell holding "" as <c r="B48" t="inlineStr"/>, which readers take for
# "no value"; an empty inline string keeps it the empty text it was.
_EMPTY_INLINE = r'<c ([^>]*?t="inlineStr")\s*/>'


def _with_empty_strings(xml: str) -> str:
    return re.sub(_EMPTY_INLINE, r"<c \1><is><t></t></is></c>", xml)


def _escape(text: str) -> str:
    """xml.sax.saxutils.escape (which imports urllib, ≈ 20 ms)."""
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def _with_cached(xml: str, cached: Cached) -> str:
    if not cached:
        return xml

    def put_back(match: re.Match[str]) -> str:
        hit = cached.get(match["ref"])
        if hit is None:
            return match.group(0)
        kind, text = hit
        attrs = re.sub(r'\st="[^"]*"', "", match["attrs"])
        if CACHED_TYPE[kind]:
            attrs += f' t="{CACHED_TYPE[kind]}"'
        return f'<c r="{match["ref"]}"{attrs}>{match["f"]}<v>{_escape(text)}</v></c>'

    return re.sub(_FORMULA_CELL, put_back, xml, flags=re.DOTALL)
