"""Open an uploaded file as a zip only after checking what it is and how big it claims to be.

Everything here runs before any XML is parsed, so a hostile upload is refused by looking at
bytes and zip metadata alone; inflation is then capped while streaming.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from pipeline.spec import Limits
from pipeline.xlsx.model import XlsxError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
CHUNK = 64 * 1024
_RATIO_FLOOR = 1024 * 1024  # small members may compress well without being bombs
_ENCRYPTION_STREAMS = ("EncryptionInfo", "EncryptedPackage")
# OOXML packages (ECMA-376 Part 2, 8.2) use only these. zipfile inflates bzip2 and LZMA
# without an output cap per call: 64 KB of bzip2 became 600 MB in one read (measured).
ALLOWED_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_ENCRYPTED_MEMBER = 0x1  # general purpose flag bit 0
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    RuntimeError,  # encrypted members ("password required")
    NotImplementedError,  # unsupported compression methods
    ValueError,
)


def load_bytes(source: Path | str | bytes | bytearray | memoryview, limits: Limits) -> bytes:
    """The file's bytes, refusing empty and oversized files before reading them whole."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        path = Path(source)
        _check_size(path.stat().st_size, limits)
        data = path.read_bytes()
    _check_size(len(data), limits)
    return data


def _check_size(size: int, limits: Limits) -> None:
    if size == 0:
        raise XlsxError("empty")
    if size > limits.max_file_bytes:
        raise XlsxError("too_large", f"{size} bytes > {limits.max_file_bytes}")


def open_zip(data: bytes, limits: Limits) -> zipfile.ZipFile:
    """A ZipFile over `data` whose declared sizes have been checked against `limits`."""
    if data.startswith(OLE_MAGIC):
        raise XlsxError("encrypted" if ole_is_encrypted(data) else "xls")
    if not data.startswith(b"PK"):
        raise XlsxError("not_zip")
    entries = declared_entries(data)
    if entries > limits.max_members:  # before zipfile builds a ZipInfo for each of them
        raise XlsxError("too_many_members", _too_many(entries, limits))
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as exc:
        raise XlsxError("corrupt", str(exc)) from None
    try:
        check_members(zf.infolist(), limits)
        check_unique(zf.namelist())
    except XlsxError:
        zf.close()
        raise
    return zf


def declared_entries(data: bytes) -> int:
    """The entry count in the end-of-central-directory record (0 if none is found)."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if at < 0 or len(data) < at + 12:
        return 0
    return int.from_bytes(data[at + 10 : at + 12], "little")


def ole_is_encrypted(data: bytes) -> bool:
    """True when an OLE2 container has an encryption stream, i.e. is a password-protected
    OOXML file rather than a BIFF .xls.

    OLE sectors are 512 or 4096 bytes and directory entries 128 bytes, so every entry starts
    at a multiple of 128; requiring that alignment, the name-length field and the stream type
    keeps a matching string inside some stream's data from counting.
    """
    for name in _ENCRYPTION_STREAMS:
        needle = (name + "\0").encode("utf-16-le")
        pos = data.find(needle, 512)
        while pos != -1:
            entry = data[pos : pos + 128]
            if (
                pos % 128 == 0
                and len(entry) == 128
                and int.from_bytes(entry[64:66], "little") == len(needle)
                and entry[66] == 2
            ):
                return True
            pos = data.find(needle, pos + 1)
    return False


def _too_many(count: int, limits: Limits) -> str:
    return f"{count} Bestandteile, erlaubt sind {limits.max_members}"


def check_members(infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Declared sizes, ratios and compression methods, from the central directory alone.
    Declared sizes bind: zipfile never returns more than `file_size` bytes of a member."""
    if len(infos) > limits.max_members:
        raise XlsxError("too_many_members", _too_many(len(infos), limits))
    total = 0
    for info in infos:
        size = info.file_size
        if info.flag_bits & _ENCRYPTED_MEMBER:
            raise XlsxError("corrupt", f"{info.filename}: mit einem Kennwort verschlüsselt")
        if info.compress_type not in ALLOWED_METHODS:
            raise XlsxError("corrupt", f"{info.filename}: Komprimierungsverfahren "
                                       f"{info.compress_type} wird nicht gelesen")
        if size > limits.max_member_bytes:
            raise XlsxError("zip_bomb", f"{info.filename}: {size} Byte, erlaubt sind "
                                        f"{limits.max_member_bytes}")
        if size > _RATIO_FLOOR and size > limits.max_ratio * max(info.compress_size, 1):
            raise XlsxError("zip_bomb", f"{info.filename}: {size} Byte aus "
                                        f"{info.compress_size} Byte")
        total += size
    if total > limits.max_total_bytes:
        raise XlsxError("zip_bomb", f"{total} Byte insgesamt, erlaubt sind "
                                    f"{limits.max_total_bytes}")


def check_unique(names: list[str]) -> None:
    """Part names are case-insensitive; a duplicate would let two readers see two files."""
    seen: set[str] = set()
    for name in names:
        key = name.lower()
        if key in seen:
            raise XlsxError("corrupt", f"{name} doppelt (Groß-/Kleinschreibung)")
        seen.add(key)


def member_chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int,
                  first: int = CHUNK) -> Iterator[bytes]:
    """Inflate one member in chunks, counting real bytes: declared sizes can lie.
    `first`: size of the first chunk (a caller that only needs the head inflates less)."""
    seen = 0
    size = first
    try:
        with zf.open(info) as stream:
            while chunk := stream.read(size):
                size = CHUNK
                seen += len(chunk)
                if seen > max_bytes:
                    raise XlsxError("zip_bomb", f"{info.filename}: mehr als {max_bytes} Byte")
                yield chunk
    except _ZIP_ERRORS as exc:
        raise XlsxError("corrupt", f"{info.filename}: {exc}") from None
