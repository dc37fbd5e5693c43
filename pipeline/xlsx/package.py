"""The OPC package: part lookup, relationships and safe streamed XML parsing."""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import unquote
from xml.parsers import expat

from pipeline.spec import Limits
from pipeline.xlsx.model import XlsxError
from pipeline.xlsx.safezip import member_chunks

Parser = expat.XMLParserType
T = TypeVar("T")
# The first element of an OOXML part follows its XML declaration within a few hundred
# bytes; a longer prolog is read on in full-size chunks.
PROLOG_CHUNK = 1024


@dataclass(frozen=True)
class Relationship:
    id: str
    kind: str  # last segment of the Type URI, e.g. 'worksheet', 'officeDocument'
    target: str  # resolved part name, e.g. 'xl/worksheets/sheet1.xml'


class LocalNames(dict[str, str]):
    """Maps expat's 'namespace-uri local' names to the local part, memoised, so Strict OOXML,
    transitional and prefixed (x:c) files all match the same element names."""

    def __missing__(self, name: str) -> str:
        local = self[name] = name.rpartition(" ")[2]
        return local


def _refuse_dtd(*_args: object) -> None:
    raise XlsxError("dtd")


def _refuse_entity(*_args: object) -> None:
    raise XlsxError("dtd")


class _PrologRead(Exception):
    """The first element started: no DOCTYPE can follow."""


def _stop(*_args: object) -> None:
    raise _PrologRead


class _Prolog:
    """Reads a part's bytes up to its first element with a refusing parser (new_parser)."""

    def __init__(self) -> None:
        self._parser = new_parser()
        self._parser.StartElementHandler = _stop

    def passed(self, chunk: bytes) -> bool:
        """True once the first element has started (or the bytes are no XML at all, which
        the real parser will report); raises XlsxError('dtd') on a DOCTYPE."""
        try:
            self._parser.Parse(chunk, False)
        except (_PrologRead, expat.ExpatError, ValueError, LookupError):
            return True
        return False


class PlainNames(dict[str, str]):
    """Like LocalNames for a parser without namespace processing: 'x:c' and 'c' -> 'c'."""

    def __missing__(self, name: str) -> str:
        local = self[name] = name.rpartition(":")[2]
        return local


def new_parser(namespaces: bool = True) -> Parser:
    """An expat parser that refuses DTDs and entities, with namespace-split names (or, for
    the hot worksheet parser, names as written: measured ~15 % faster, and the worksheet
    reader only compares local names anyway)."""
    parser = expat.ParserCreate(namespace_separator=" ") if namespaces else expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_entity
    parser.buffer_text = True
    parser.buffer_size = 64 * 1024
    return parser


class _PartMemo:
    """Results of the small parts (workbook, styles, relationships, tables) by their exact
    inflated bytes: every workbook built from one template repeats them, and parsing them
    again cost about a millisecond per file. Results are shared by every workbook that
    repeats the part: frozen dataclasses, tuples and frozensets, and the workbook part,
    whose containers reader.py copies. A part that failed is never stored, so identical
    bytes fail again. Bounded: cleared when it holds MAX_BYTES of keys."""

    MAX_BYTES = 32 * 1024 * 1024
    MAX_PART = 1024 * 1024  # larger parts are streamed, never held whole (bombs, odd files)

    def __init__(self) -> None:
        self._results: dict[tuple, object] = {}
        self._bytes = 0

    def get(self, key: tuple) -> object | None:
        return self._results.get(key)

    def put(self, key: tuple, data: bytes, result: object) -> None:
        if self._bytes + len(data) > self.MAX_BYTES:
            self._results.clear()
            self._bytes = 0
        self._results[key] = result
        self._bytes += len(data)


_MEMO = _PartMemo()


class Package:
    """Case-insensitive access to the parts of an opened zip, parsed under `limits`."""

    def __init__(self, zf: zipfile.ZipFile, limits: Limits) -> None:
        self.limits = limits
        self._zf = zf
        self._infos = {info.filename.lower(): info for info in zf.infolist()}
        # Bytes handed to parsers so far: a part referenced many times (a thousand <sheet>
        # entries pointing at one big part) must not multiply the work.
        self._parsed = 0
        self._seen: set[str] = set()  # parts parsed in full (their DOCTYPE check is done)
        self._inflated: dict[str, bytes] = {}  # parts read whole by `cached`

    def cached(self, part: str, read: Callable[..., T], *args: object) -> T:
        """read(self, part, *args), reused for a part byte-identical to one read before
        (see _PartMemo): the result must not be changed by callers and must depend only on
        the part's name, bytes, `args` and the limits."""
        info = self._infos.get(part.lower())
        if info is None or info.file_size > _PartMemo.MAX_PART:
            # missing: reported as always; large: streamed (zipfile never yields more than
            # the declared size, so a lying header cannot get a big part into memory here)
            return read(self, part, *args)
        data = self._inflated[info.filename] = self._inflate(info)
        key = (read.__module__, read.__qualname__, part, args, self.limits, data)
        hit = _MEMO.get(key)
        if hit is not None:
            self._parsed += len(data)
            if self._parsed > self.limits.max_total_bytes:
                raise XlsxError("zip_bomb", f"{part}: zusammen mehr als "
                                            f"{self.limits.max_total_bytes} Byte XML")
            self._seen.add(info.filename)
            return hit  # type: ignore[return-value]
        result = read(self, part, *args)
        _MEMO.put(key, data, result)
        return result

    def _inflate(self, info: zipfile.ZipInfo) -> bytes:
        return b"".join(member_chunks(self._zf, info, self.limits.max_member_bytes))

    def has(self, part: str) -> bool:
        return part.lower() in self._infos

    def names(self) -> list[str]:
        return [info.filename for info in self._infos.values()]

    def parse(self, part: str, parser: Parser, prolog_first: bool = False) -> None:
        """Stream `part` through `parser`; handlers may raise XlsxError to stop.

        `prolog_first`: the bytes up to the first element go through a refusing Python
        parser before `parser` sees them. For the C scanner (native.py), which cannot stop
        expat in mid-chunk: a DOCTYPE is refused before expat would read its declarations.
        """
        info = self._infos.get(part.lower())
        if info is None:
            raise XlsxError("corrupt", f"missing part {part}")
        budget = self.limits.max_total_bytes
        self._seen.add(info.filename)
        guard = _Prolog() if prolog_first else None
        inflated = self._inflated.pop(info.filename, None)
        try:
            chunks = (
                member_chunks(self._zf, info, self.limits.max_member_bytes)
                if inflated is None else (inflated,)
            )
            for chunk in chunks:
                self._parsed += len(chunk)
                if self._parsed > budget:
                    raise XlsxError("zip_bomb", f"{part}: zusammen mehr als {budget} Byte XML")
                if guard is not None and guard.passed(chunk):
                    guard = None
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise XlsxError("bad_xml", f"{part}: {exc}") from None
        except ValueError as exc:  # e.g. a non-numeric index attribute
            raise XlsxError("bad_xml", f"{part}: {exc}") from None
        except LookupError as exc:  # <?xml encoding="..."?> naming no codec (found by fuzzing)
            raise XlsxError("bad_xml", f"{part}: {exc}") from None
        except XlsxError as exc:
            if exc.code == "dtd":  # raised by a handler that does not know the part
                raise XlsxError("dtd", part) from None
            raise

    def refuse_doctypes(self) -> None:
        """Refuse a DOCTYPE in any member, also in parts we never parse (theme, docProps,
        custom XML): other tools open these files too (openpyxl keeps the theme as raw bytes
        and writes it back into a copy). A DOCTYPE can only stand before the first element,
        so each member is read up to there; a member that is not XML stops at once. Parts
        already parsed in full are skipped: their parser refused a DOCTYPE itself."""
        for info in self._infos.values():
            if info.filename in self._seen:
                continue
            parser = new_parser()
            parser.StartElementHandler = _stop
            try:
                for chunk in member_chunks(self._zf, info, self.limits.max_member_bytes,
                                           first=PROLOG_CHUNK):
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
            except (_PrologRead, expat.ExpatError, ValueError, LookupError):
                continue  # not XML (or not readable as XML by anyone): no DOCTYPE to find
            except XlsxError as exc:
                if exc.code == "dtd":
                    raise XlsxError("dtd", info.filename) from None
                raise

    def rels(self, part: str) -> tuple[Relationship, ...]:
        """The relationships of `part` ('' for the package), internal targets only."""
        folder, base = posixpath.split(part)
        rels_part = posixpath.join(folder, "_rels", f"{base}.rels")
        if not self.has(rels_part):
            return ()
        return self.cached(rels_part, _read_rels, folder)


def _read_rels(pkg: Package, rels_part: str, folder: str) -> tuple[Relationship, ...]:
    found: list[Relationship] = []
    tags = LocalNames()

    def start(name: str, attrs: dict[str, str]) -> None:
        if tags[name] == "Relationship" and attrs.get("TargetMode") != "External":
            kind = attrs.get("Type", "").rpartition("/")[2]
            target = resolve(folder, attrs.get("Target", ""))
            found.append(Relationship(attrs.get("Id", ""), kind, target))

    parser = new_parser()
    parser.StartElementHandler = start
    pkg.parse(rels_part, parser)
    return tuple(found)


def resolve(folder: str, target: str) -> str:
    """Part name of a relationship target, relative to `folder` or absolute ('/xl/...')."""
    target = unquote(target)
    if target.startswith("/"):
        return posixpath.normpath(target).lstrip("/")
    return posixpath.normpath(posixpath.join(folder, target)).lstrip("/")
