"""pruefpfad.xlsx, sheets Herkunft, Herkunft 2, …: the rows of herkunft.csv for auditors.

One row per source cell (Kennzahl, AGS, PJ, Quartal, Datei, SHA-256, Blatt, Zelle, Wert,
Hinweis), in the order of herkunft.csv. Sixty thousand rows and more: the rows are streamed
as XML into the frame xlsxwriter writes (`xlsxstream`), > 10× faster than a cell at a time.
Rows that do not fit on one sheet (`ROWS_PER_SHEET`, Excel's limit) continue on
"Herkunft 2", "Herkunft 3", …; nothing is dropped. `locations` tells Herleitung where the
first row of each figure is, so its links point at the right sheet and row.

The data rows carry no row or cell numbers (`r` is optional on `<row>` and `<c>`,
ECMA-376 §18.3.1.73 and §18.3.1.4: a row follows the one before it, a cell the one to its
left; Excel, LibreOffice, openpyxl and our reader place them alike). So the XML of a
submission's rows is the same wherever they are, and each part that is whole on one sheet
is compressed on its own (`xlsxstream.deflate`): a rerun copies the compressed chunk of
every unchanged part from the previous run (`Reuse`, `Blob`) without rendering,
compressing or reading its text.

Money (Decimal) is shown in euro format, counts as plain numbers. Staff rows carry a short
Hinweis (amount = gross × share / 100, rounded); the full explanation and the row count are
on sheet Lauf (`notes`). No row height is estimated: every text fits on one line.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from pipeline.facts import Source
from pipeline.outputs.atomic import FILE_MODE
from pipeline.outputs.lineage import Lineage, Part, PartKey, parts_of
from pipeline.outputs.tables import Col, table_frame
from pipeline.outputs.view import ReportView
from pipeline.outputs.xlsxkit import Book
from pipeline.outputs.xlsxstream import (
    MAX_ROWS,
    Deflated,
    StreamedSheet,
    deflate,
    inline,
    number,
    style,
)

SHEET = "Herkunft"
ROWS_PER_SHEET = MAX_ROWS  # header row included; tests set it small
HEADER_ROWS = 1
FREEZE_COLS = 2
CHUNK_ROWS = 2_000  # rows per string handed to the zip stream
COLS = [Col("Kennzahl", 24), Col("AGS", 10), Col("PJ", 5, "int"), Col("Quartal", 7, "int"),
        Col("Datei", 30), Col("SHA-256", 20, "mono"), Col("Blatt", 12), Col("Zelle", 7),
        Col("Wert", 13, "right"), Col("Hinweis", 50)]
STAFF = "personal_gemeldet"
Key = tuple[str, str, int, int]  # kennzahl, ags, pj, quartal


def per_sheet() -> int:
    """Lineage rows per sheet, below the header."""
    if ROWS_PER_SHEET <= HEADER_ROWS:
        raise ValueError("ROWS_PER_SHEET must leave room for data rows")
    return ROWS_PER_SHEET - HEADER_ROWS


def sheet_names(rows: int) -> list[str]:
    """Herkunft, Herkunft 2, …: as many as `rows` lineage rows need (at least one)."""
    count = max(1, -(-rows // per_sheet()))
    return [SHEET] + [f"{SHEET} {k}" for k in range(2, count + 1)]


def locations(rows: list[Lineage] | list[Part], figures: Sequence[str] | None = None
              ) -> dict[Key, tuple[str, int]]:
    """(kennzahl, ags, pj, q) -> (sheet, 1-based Excel row) of its first lineage row, for
    every kennzahl or those of `figures`."""
    parts = _as_parts(rows)
    size, names = per_sheet(), sheet_names(sum(map(len, parts)))
    found: dict[Key, tuple[str, int]] = {}
    start = 0
    for part in parts:
        ags, pj, q = part.key[:3]
        first = part.first_rows()
        for kennzahl in first if figures is None else figures:
            i = first.get(kennzahl)
            key = (kennzahl, ags, pj, q)
            if i is not None and key not in found:
                sheet, offset = divmod(start + i, size)
                found[key] = (names[sheet], HEADER_ROWS + 1 + offset)
        start += len(part)
    return found


def _as_parts(rows: list[Lineage] | list[Part]) -> list[Part]:
    return rows if not rows or isinstance(rows[0], Part) else parts_of(rows)  # type: ignore[return-value,arg-type]


def staff_hint(view: ReportView) -> str:
    roles = view.spec.roles
    return f"{roles['staff_gross']} × {roles['staff_share']} / 100, gerundet"


def notes(view: ReportView, rows: int) -> list[tuple[str, str]]:
    """(what, text) for sheet Lauf: where the lineage rows are, that herkunft.csv holds the
    same rows, and how a staff row's amount and cell are made."""
    names = sheet_names(rows)
    where = (f"Blatt {SHEET}" if len(names) == 1 else
             f"den Blättern {names[0]} bis {names[-1]} (je höchstens "
             f"{_german(per_sheet())} Zeilen)")
    gross, share = view.spec.roles["staff_gross"], view.spec.roles["staff_share"]
    return [
        ("Herkunft: Quellzellen",
         f"{_german(rows)} Zeilen auf {where}; dieselben Zeilen in derselben Reihenfolge "
         "enthält herkunft.csv"),
        (f"Herkunft: {STAFF}",
         f"Wert = {gross} × {share} / 100, kaufmännisch auf den Cent gerundet; "
         f"Zelle = {gross} derselben Tabellenzeile"),
    ]


def _german(count: int) -> str:
    return f"{count:,}".replace(",", ".")


@dataclass
class Reuse:
    """The Herkunft rows of an earlier audit workbook, kept as deflate chunks (`blob`, see
    `Blob`): `index` says where each part's chunk is (part name -> [offset, length, CRC-32
    and length of its text]); `styles` are the style attributes the rows were written with."""

    blob: Path
    index: dict[str, list[int]]
    styles: list[str]


class Blob:
    """Where the Herkunft rows are kept for the next run: the deflate chunk of every part
    that is whole on one sheet, one after the other, in a file next to the caller's
    records; `index` as in `Reuse`. Written while the workbook is streamed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.index: dict[str, list[int]] = {}
        self.styles: list[str] = []
        self._fh: BinaryIO | None = None
        self._tmp: Path | None = None
        self._size = 0
        self._sheets: set[int] = set()

    def sheet(self, k: int) -> None:
        """Sheet `k` is streamed now. A sheet streamed again means the workbook is written
        again from the start (a ZIP64 retry): so are the chunks."""
        if self._fh is None or k in self._sheets:
            self.close()
            self.index, self._size, self._sheets = {}, 0, set()
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                       dir=self.path.parent)
            self._fh, self._tmp = os.fdopen(fd, "wb"), Path(tmp)
        self._sheets.add(k)

    def add(self, name: str, chunk: Deflated) -> None:
        assert self._fh is not None
        self.index[name] = [self._size, len(chunk.data), chunk.crc, chunk.size]
        self._fh.write(chunk.data)
        self._size += len(chunk.data)

    def commit(self) -> None:
        """Put the file in place (call once the workbook is written)."""
        if self._fh is None or self._tmp is None:  # no sheet streamed: nothing to keep
            return
        self._fh.close()
        self._fh = None
        self._tmp.chmod(FILE_MODE)
        os.replace(self._tmp, self.path)
        self._tmp = None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


def segments(parts: list[Part]) -> list[list[tuple[Part, int, int]]]:
    """Per sheet, (part, first, end) of the rows it holds: a part may run over a sheet's
    end onto the next one."""
    size = per_sheet()
    sheets: list[list[tuple[Part, int, int]]] = [
        [] for _ in sheet_names(sum(map(len, parts)))]
    pos = 0
    for part in parts:
        first, n = 0, len(part)
        while first < n:
            k, offset = divmod(pos, size)
            take = min(n - first, size - offset)
            sheets[k].append((part, first, first + take))
            first += take
            pos += take
    return sheets


def lineage_sheets(book: Book, view: ReportView, rows: list[Lineage] | list[Part],
                   reuse: Reuse | None = None, blob: Blob | None = None
                   ) -> list[StreamedSheet]:
    """Frame every Herkunft sheet in `book` and return the rows to stream into each. With
    `reuse`, a part kept before is copied from there; with `blob`, the chunks are also kept
    for the next run."""
    hint = staff_hint(view)
    renderer = _Rows(hint)
    old = _Old(reuse)
    parts = _as_parts(rows)
    out = []
    for k, (name, segs) in enumerate(zip(sheet_names(sum(map(len, parts))), segments(parts),
                                         strict=True)):
        count = sum(end - first for _part, first, end in segs)
        ws, _head = table_frame(book, name, COLS, count, FREEZE_COLS)
        cells = _Styles(book)
        if blob is not None:
            blob.styles = cells.key()
        out.append(StreamedSheet(ws, HEADER_ROWS + count, len(COLS) - 1,
                                 lambda k=k, segs=segs, cells=cells: _pieces(
                                     k, segs, cells, renderer, old, blob)))
    return out


def _pieces(k: int, segs: list[tuple[Part, int, int]], cells: _Styles, renderer: _Rows,
            old: _Old, blob: Blob | None) -> Iterator[bytes | str | Deflated]:
    """The `<row>` elements of sheet `k`: a part that is whole on it as its own deflate
    chunk (kept from before, or rendered and compressed now), a part's segment (a part
    that runs over a sheet's end) as text, CHUNK_ROWS rows at a time."""
    if blob is not None:
        blob.sheet(k)
    for part, first, end in segs:
        if first == 0 and end == len(part):
            name = part.name
            chunk = old.get(name, cells)
            if chunk is None:
                chunk = deflate(renderer.chunks(part, cells))
            if blob is not None:
                blob.add(name, chunk)
            yield chunk
        else:
            yield from renderer.chunks(part.segment(first, end), cells)


class _Old:
    """The chunks of `reuse`, mapped into memory when first needed."""

    def __init__(self, reuse: Reuse | None) -> None:
        self.reuse = reuse
        self._map: mmap.mmap | None = None
        self._failed = reuse is None

    def get(self, name: str, cells: _Styles) -> Deflated | None:
        if self._failed or self.reuse is None or self.reuse.styles != cells.key():
            return None
        span = self.reuse.index.get(name)
        if not isinstance(span, list) or len(span) != 4 \
                or not all(type(v) is int and v >= 0 for v in span) or span[2] >> 32:
            return None
        if self._map is None:
            try:
                with self.reuse.blob.open("rb") as fh:
                    self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):
                self._failed = True
                return None
        offset, length, crc, size = span
        if offset + length > len(self._map):
            return None
        return Deflated(self._map[offset:offset + length], crc, size)


class _Styles:
    """` s="N"` attributes of the formats the rows use (asked for before the book closes)."""

    def __init__(self, book: Book) -> None:
        self.int = style(book.fmt("int"))
        self.mono = style(book.fmt("mono"))
        self.text = style(book.fmt("text"))
        self.money = style(book.fmt("money"))
        self.count = style(book.fmt("right"))

    def key(self) -> list[str]:
        return [self.int, self.mono, self.text, self.money, self.count]


class _Rows:
    """Renders `<row>` elements; each distinct text is escaped once for all sheets."""

    def __init__(self, hint: str) -> None:
        self.hint = hint
        self.texts: dict[str, str] = {}
        self.encoded: dict[str, bytes] = {}

    def chunks(self, rows: list[Lineage] | Part, s: _Styles) -> Iterable[str] | Iterable[bytes]:
        """The `<row>` elements of `rows` (they carry no row number, so they are the same
        wherever they land); of a part, rendered from its sources without building its
        rows (the same XML, as UTF-8 bytes)."""
        if isinstance(rows, Part):
            if rows.rendered_from_sources:
                return _source_chunks(rows.key, rows.sources, s, self.hint, self.encoded)
            rows = rows.rows
        return _chunks(rows, s, self.hint, self.texts)


def _chunks(rows: list[Lineage], s: _Styles, hint: str,
            texts: dict[str, str] | None = None) -> Iterator[str]:
    """`<row>` elements, CHUNK_ROWS per string, without row or cell numbers. Each distinct
    text is escaped once (`inline`); the texts of a submission (AGS, file, hash) once per
    submission."""
    texts = {} if texts is None else texts

    def text(value: str) -> str:
        hit = texts.get(value)
        if hit is None:
            hit = texts[value] = inline(value)
        return hit

    t, i_, mono = f'{s.text} t="inlineStr"', s.int, f'{s.mono} t="inlineStr"'
    note = text(hint)
    buf: list[str] = []
    last: tuple[object, ...] = ()
    ags_x = pj_x = q_x = datei_x = sha_x = ""
    get = texts.get
    for kennzahl, ags, pj, q, datei, sha, blatt, zelle, wert in rows:
        if (ags, pj, q, datei, sha) != last:
            last = (ags, pj, q, datei, sha)
            ags_x, datei_x, sha_x = text(ags), text(datei), text(sha)
            pj_x, q_x = number(pj), number(q)
        if type(wert) is Decimal:
            value = f"<c{s.money}><v>{number(float(wert))}</v></c>"
        else:
            value = _value(wert, s)
        extra = f"<c{t}>{note}</c>" if kennzahl == STAFF else ""
        buf.append(
            f"<row><c{t}>{get(kennzahl) or text(kennzahl)}</c>"
            f"<c{t}>{ags_x}</c><c{i_}><v>{pj_x}</v></c>"
            f"<c{i_}><v>{q_x}</v></c><c{t}>{datei_x}</c>"
            f"<c{mono}>{sha_x}</c><c{t}>{get(blatt) or text(blatt)}</c>"
            f"<c{t}>{get(zelle) or text(zelle)}</c>{value}{extra}</row>")
        if len(buf) == CHUNK_ROWS:
            yield "".join(buf)
            buf.clear()
    if buf:
        yield "".join(buf)


def _source_chunks(key: PartKey, sources: Sequence[Source], s: _Styles, hint: str,
                   encoded: dict[str, bytes]) -> Iterator[bytes]:
    """The bytes of `_chunks` (UTF-8) for the rows of one part (`key` and its sources),
    CHUNK_ROWS per item, ≈ 2× faster: a row is one bytes %-format of a template that holds
    everything but Blatt, Zelle and Wert (rendered once per part and figure), and no text
    is encoded again. `encoded`: each distinct text as its UTF-8 inline element, kept
    across parts."""
    def text(value: str) -> bytes:
        hit = encoded.get(value)
        if hit is None:
            hit = encoded[value] = inline(value).encode("utf-8")
        return hit

    def fixed(value: str) -> bytes:  # a text inside a template: '%' doubled
        return text(value).replace(b"%", b"%%")

    t = f'{s.text} t="inlineStr"'.encode()
    int_ = s.int.encode()
    ags, pj, q, datei, sha = key
    cells = (b"<c" + t + b">" + fixed(ags) + b"</c><c" + int_ + b"><v>" +
             number(pj).encode() + b"</v></c><c" + int_ + b"><v>" + number(q).encode() +
             b"</v></c><c" + t + b">" + fixed(datei) + b"</c><c" +
             f'{s.mono} t="inlineStr"'.encode() + b">" + fixed(sha) + b"</c><c" + t +
             b">%s</c><c" + t + b">%s</c>")
    money = b"<c" + s.money.encode() + b"><v>%s</v></c>"
    count = b"<c" + s.count.encode() + b"><v>%s</v></c>"
    staff_tail = b"<c" + t + b">" + fixed(hint) + b"</c></row>"
    get = encoded.get
    buf: list[bytes] = []
    last: object = None
    as_money = as_count = other = b""
    for kennzahl, blatt, zelle, wert in sources:
        if kennzahl is not last:  # the templates of this figure
            last = kennzahl
            head = b"<row><c" + t + b">" + fixed(kennzahl) + b"</c>" + cells
            tail = staff_tail if kennzahl == STAFF else b"</row>"
            as_money, as_count, other = head + money + tail, head + count + tail, \
                head + b"%s" + tail
        kind = type(wert)
        if kind is Decimal or kind is int:
            v = b"%.16G" % float(wert)  # number(float(wert)), as bytes
            if v[-1] in b"NF":  # NAN, INF: number() refuses them
                v = number(float(wert)).encode()
            row = (as_money if kind is Decimal else as_count) % (
                get(blatt) or text(blatt), get(zelle) or text(zelle), v)
        else:
            row = other % (get(blatt) or text(blatt), get(zelle) or text(zelle),
                           _value(wert, s).encode("utf-8"))
        buf.append(row)
        if len(buf) == CHUNK_ROWS:
            yield b"".join(buf)
            buf.clear()
    if buf:
        yield b"".join(buf)


def _value(wert: object, s: _Styles) -> str:
    """Column I for anything but a Decimal: as `xlsxkit.put` would write it."""
    if wert is None:
        return f"<c{s.count}/>"
    if isinstance(wert, bool):
        return f'<c{s.count} t="inlineStr">{inline("ja" if wert else "nein")}</c>'
    if isinstance(wert, int | float | Decimal):
        return f"<c{s.count}><v>{number(float(wert))}</v></c>"
    return f'<c{s.count} t="inlineStr">{inline(str(wert))}</c>'
