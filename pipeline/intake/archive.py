"""Zip archives of submissions: members are data, their names never become paths."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace

from pipeline.spec import Limits
from pipeline.xlsx.model import XlsxError
from pipeline.xlsx.safezip import declared_entries, member_chunks, open_zip


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes | None
    problem: str = ""  # an XlsxError code when the member could not be taken out


def is_zip_archive(data: bytes, limits: Limits) -> bool:
    """A zip that is not itself a workbook (workbooks are zips with xl/workbook.xml).
    A zip announcing more members than allowed is left to the workbook reader, which
    refuses it before zipfile builds an entry for each of them."""
    if not data.startswith(b"PK") or declared_entries(data) > limits.max_members:
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return False
    return "[Content_Types].xml" not in names


def members(data: bytes, limits: Limits) -> Iterator[Member]:
    """Every file member, read with a cap on its real inflated size. Raises XlsxError for
    an archive that cannot be opened at all (bad zip, too many members, bomb)."""
    container_limits = _as_container(limits)
    with open_zip(data, container_limits) as zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            if info.is_dir() or info.filename.startswith("__MACOSX/"):
                continue
            if info.file_size > limits.max_file_bytes:
                yield Member(info.filename, None, "too_large")
                continue
            try:
                yield Member(info.filename, _read_capped(zf, info, limits.max_file_bytes))
            except XlsxError as err:
                yield Member(info.filename, None, err.code)


def _read_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """The member's bytes, counting what is really inflated (declared sizes can lie)."""
    return b"".join(member_chunks(zf, info, cap))


def _as_container(limits: Limits) -> Limits:
    return replace(limits, max_file_bytes=limits.max_container_bytes)
