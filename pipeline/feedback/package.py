"""Turn an openpyxl workbook into reproducible .xlsx bytes.

openpyxl stamps the save time into the zip members and docProps/core.xml, and it drops the
cached results of formulas. Both are fixed here: members get a fixed timestamp, the document
date is set by the caller, and cached values read from the original file are written back,
so a formula the clerk typed keeps the value our reader accepted (rule FORMEL_WERT).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Mapping
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


def core_stamp(stamp: datetime | None) -> datetime:
    """The document date as docProps/core.xml stores it: UTC, naive, whole seconds."""
    stamp = stamp or FIXED_STAMP
    if stamp.tzinfo is not None:  # core.xml stores UTC
        stamp = stamp.astimezone(UTC)
    return stamp.replace(tzinfo=None, microsecond=0)


# openpyxl writes a formula cell as <c r="B16" s="3"><f>..</f><v/></c> (v may be absent).
_FORMULA_CELL = re.compile(
    r'<c r="(?P<ref>[A-Z]{1,3}[0-9]{1,7})"(?P<attrs>[^>]*)>'
    r'(?P<f><f(?:\s[^>]*)?>.*?</f>|<f(?:\s[^>]*)?/>)'
    r'(?:<v\s*/>|<v>\s*</v>)?</c>',
    re.DOTALL,
)


# openpyxl writes a cell holding "" as <c r="B48" t="inlineStr"/>, which readers take for
# "no value"; an empty inline string keeps it the empty text it was.
_EMPTY_INLINE = re.compile(r'<c ([^>]*?t="inlineStr")\s*/>')


def _with_empty_strings(xml: str) -> str:
    return _EMPTY_INLINE.sub(r"<c \1><is><t></t></is></c>", xml)


def _with_cached(xml: str, cached: Cached) -> str:
    from xml.sax.saxutils import escape  # (imports urllib: only when marking up)

    def put_back(match: re.Match[str]) -> str:
        hit = cached.get(match["ref"])
        if hit is None:
            return match.group(0)
        kind, text = hit
        attrs = re.sub(r'\st="[^"]*"', "", match["attrs"])
        if CACHED_TYPE[kind]:
            attrs += f' t="{CACHED_TYPE[kind]}"'
        return f'<c r="{match["ref"]}"{attrs}>{match["f"]}<v>{escape(text)}</v></c>'

    return _FORMULA_CELL.sub(put_back, xml)
