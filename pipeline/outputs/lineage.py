"""herkunft.csv: the source cell behind every reported amount and count at quarter level.

One row per source cell of a used submission (`result.facts[...].sources`), with the file
and its sha256 (`result.used[...].received`). Summing `wert` per (kennzahl, projekt_ags,
projektjahr, quartal) reproduces the quarter rows of kennzahlen.csv for every figure in
`traced_figures` (tested). Not traced: `massnahmen` (a count of table rows, not of cell
values) and the derived money figures (their derivation is in pruefpfad.xlsx).
"""

from __future__ import annotations

import csv
import io
import json
import mmap
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import NamedTuple

from pipeline.aggregate import count_figures
from pipeline.facts import Source
from pipeline.money import csv_money
from pipeline.outputs import csvs
from pipeline.outputs.atomic import atomic_path, write_bytes
from pipeline.outputs.view import ReportView

COLUMNS = ["kennzahl", "projekt_ags", "projektjahr", "quartal", "datei", "sha256", "blatt",
           "zelle", "wert"]
REPORTED_MONEY = ("personal_gemeldet", "honorar_gemeldet", "ehrenamt_gemeldet")
UNTRACED = frozenset({"massnahmen"})


class Lineage(NamedTuple):
    """One source cell (a tuple: ≈ 5× cheaper to build than a frozen dataclass)."""

    kennzahl: str
    projekt_ags: str
    projektjahr: int
    quartal: int
    datei: str
    sha256: str
    blatt: str
    zelle: str
    wert: Decimal | int

    def as_row(self) -> list[object]:
        return list(self)


def traced_figures(view: ReportView) -> list[str]:
    """Kennzahlen whose quarter value is the sum of source cells, in kennzahlen order."""
    return [*REPORTED_MONEY, *(k for k in count_figures(view.spec) if k not in UNTRACED)]


PartKey = tuple[str, int, int, str, str]  # projekt_ags, projektjahr, quartal, datei, sha256


class Part:
    """The lineage rows of one used submission, in lineage order. Their rendered form
    depends only on `key` (the sources are a function of the file's bytes and the
    program), so a rerun can take it from the previous output instead (see `write.py`);
    the rows themselves are built only when asked for, and a part whose size and first
    rows a rerun knows (`lineage_parts(memo=…)`) sorts its sources only when asked for
    them (most are never rendered again)."""

    __slots__ = ("_first", "_name", "_order", "_raw", "_rows", "_size", "_sources", "key")

    def __init__(self, key: PartKey, sources: Sequence[Source] = (),
                 rows: list[Lineage] | None = None,
                 first: dict[str, int] | None = None) -> None:
        """`first`: `first_rows()`, where the caller knows it already."""
        self.key = key
        self._sources: Sequence[Source] | None = sources
        self._rows = rows
        self._first = first
        self._size: int | None = None
        self._raw: Sequence[Source] = ()
        self._order: dict[str, int] = {}
        self._name: str | None = None

    @classmethod
    def known(cls, key: PartKey, raw: Sequence[Source], order: dict[str, int], size: int,
              first: dict[str, int]) -> Part:
        """A part of `size` rows with `first` rows as a previous run found them; its
        sources are `raw` (a submission's sources) put in figure `order` when needed."""
        part = cls(key, first=first)
        part._sources, part._raw, part._order, part._size = None, raw, order, size
        return part

    @property
    def sources(self) -> Sequence[Source]:
        if self._sources is None:
            sources, first = _in_figure_order(self._raw, self._order)
            if len(sources) != self._size or first != self._first:  # rows would be misplaced
                raise RuntimeError(
                    f"Herkunft: Zeilen von {self.name} anders als vermerkt. Der Zwischen"
                    "speicher der Berichte ist beschädigt: bitte den Ordner "
                    "„eingangsarchiv/cache“ im Ausgabeordner löschen und den Lauf "
                    "wiederholen (er wird neu aufgebaut).")
            self._sources, self._raw = sources, ()
        return self._sources

    @property
    def name(self) -> str:
        """`part_name(key)`, computed once."""
        if self._name is None:
            self._name = part_name(self.key)
        return self._name

    def __len__(self) -> int:
        if self._rows is not None:
            return len(self._rows)
        if self._sources is None:
            return self._size  # type: ignore[return-value]
        return len(self._sources)

    @property
    def rows(self) -> list[Lineage]:
        if self._rows is None:
            ags, pj, q, datei, sha = self.key
            self._rows = [Lineage(s.kennzahl, ags, pj, q, datei, sha, s.blatt, s.zelle,
                                  s.wert) for s in self.sources]
        return self._rows

    @property
    def rendered_from_sources(self) -> bool:
        """Its rows are not built: renderers work from `sources` (the same text)."""
        return self._rows is None

    def segment(self, first: int, end: int) -> Part:
        """Rows `first` to `end` (excluding) as a part of the same key (a part that runs
        over a sheet's end is written in two segments)."""
        if self._rows is not None:
            return Part(self.key, rows=self._rows[first:end])
        return Part(self.key, self.sources[first:end])  # its own first rows, if asked

    def first_rows(self) -> dict[str, int]:
        """kennzahl -> index of its first row in this part (not to be changed)."""
        if self._first is not None:
            return self._first
        first: dict[str, int] = {}
        for i, r in enumerate(self.sources if self._rows is None else self._rows):
            if r[0] not in first:  # kennzahl: the first field of a Source and a Lineage
                first[r[0]] = i
        self._first = first
        return first


Memo = dict[str, list[int]]  # sha256 -> rows per traced figure, in figure order (`memo`)


def lineage_parts(view: ReportView, memo: Memo | None = None) -> list[Part]:
    """One part per used submission with lineage rows, by application and quarter; within
    a part figure order, then source order (staff rows, receipts, single fields, measures,
    as the reader found them). `memo`: how many rows of each figure the parts of a previous
    run had (`memo(…)`, valid while the program is the same: a file's sources depend only
    on its bytes); such a part does not look at its sources until they are needed."""
    figures = traced_figures(view)
    order = {name: i for i, name in enumerate(figures)}
    shown = {a.ags for a in view.apps}
    memo = memo or {}
    parts = []
    for ags, period in view.used_keys():
        facts = view.result.facts.get((ags, period))
        if ags not in shown or facts is None:
            continue
        received = view.result.used[(ags, period)].received
        key = (ags, period.projektjahr, period.quartal, received.datei, received.sha256)
        known = _known(memo.get(received.sha256), figures)
        if known is not None:
            part = Part.known(key, facts.sources, order, *known)
        else:
            sources, first = _in_figure_order(facts.sources, order)
            if not sources:
                continue
            part = Part(key, sources, first=first)
        part._name = part_name(key)  # here, once: both lineage writers need it
        parts.append(part)
    return parts


def memo(parts: list[Part], figures: list[str]) -> Memo:
    """What `lineage_parts` may take from this run in the next one: per part (by the
    file's sha256) its rows per figure of `figures` (`traced_figures`)."""
    out: Memo = {}
    for part in parts:
        first = part.first_rows()
        starts = sorted(first.values())
        ends = dict(zip(starts, [*starts[1:], len(part)], strict=True))
        out[part.key[4]] = [ends[first[f]] - first[f] if f in first else 0 for f in figures]
    return out


def _known(counts: object, figures: list[str]) -> tuple[int, dict[str, int]] | None:
    """Size and first rows of a part from its memo entry, if that has the expected shape."""
    if not isinstance(counts, list) or len(counts) != len(figures) \
            or not all(type(c) is int and c >= 0 for c in counts) or not any(counts):
        return None
    first: dict[str, int] = {}
    at = 0
    for name, count in zip(figures, counts, strict=True):
        if count:
            first[name] = at
            at += count
    return at, first


def _in_figure_order(sources: Sequence[Source], order: dict[str, int]
                     ) -> tuple[list[Source], dict[str, int]]:
    """The traced sources, stably sorted by figure (`order`, name -> rank 0, 1, …), and
    where each figure's first one is: one bucket per figure, filled in source order
    (receipts interleave fees and volunteer expenses: rarely in order already)."""
    buckets: list[list[Source]] = [[] for _ in range(max(order.values(), default=-1) + 1)]
    get = order.get
    for s in sources:
        rank = get(s[0])  # kennzahl
        if rank is not None:
            buckets[rank].append(s)
    first: dict[str, int] = {}
    at = 0
    for bucket in buckets:
        if bucket:
            first[bucket[0][0]] = at
            at += len(bucket)
    return list(chain.from_iterable(buckets)), first


def lineage(view: ReportView) -> list[Lineage]:
    """All lineage rows (the rows of `lineage_parts`, one after the other)."""
    return [r for part in lineage_parts(view) for r in part.rows]


def parts_of(rows: Iterable[Lineage]) -> list[Part]:
    """`rows` (as `lineage` gives them) cut into parts by submission."""
    parts: list[Part] = []
    for r in rows:
        key = (r.projekt_ags, r.projektjahr, r.quartal, r.datei, r.sha256)
        if not parts or parts[-1].key != key:
            parts.append(Part(key, rows=[]))
        parts[-1].rows.append(r)
    return parts


def write_lineage_csv(path: Path, rows: list[Lineage]) -> None:
    write_bytes(path, render_lineage(rows))


def render_lineage(rows: Iterable[Lineage]) -> bytes:
    """The bytes of the generic CSV renderer (tests/reference_csv.py; tested equal), in
    linear time and ≈ 4× faster: each distinct text is neutralised and quoted once, and
    the columns that belong to the submission (AGS, PJ, quarter, file, hash) once per
    submission."""
    return HEADER + CsvRows().render(rows).encode("utf-8")


def write_lineage_parts(path: Path, parts: list[Part],
                        previous: tuple[Path, dict[str, list[int]]] | None = None
                        ) -> dict[str, list[int]]:
    """herkunft.csv from `parts`: the bytes of `render_lineage` of all their rows. A part
    found in `previous` (an earlier herkunft.csv we wrote, and where each part is in it:
    `part_name` -> [offset, length]) is copied from there instead of rendered. Written
    part by part (the file can be hundreds of MB). Returns where each part is now."""
    index: dict[str, list[int]] = {}
    with ExitStack() as stack:
        old = _mapped(stack, previous[0]) if previous is not None else None
        where = previous[1] if previous is not None and old is not None else {}
        tmp = stack.enter_context(atomic_path(path))
        out = stack.enter_context(tmp.open("wb"))
        out.write(HEADER)
        pos, renderer = len(HEADER), CsvRows()
        for part in parts:
            name = part.name
            span = where.get(name)
            if old is not None and isinstance(span, list) and len(span) == 2 \
                    and 0 <= span[0] <= span[0] + span[1] <= len(old):
                piece = old[span[0]:span[0] + span[1]]
            else:
                piece = renderer.render(part).encode("utf-8")
            index[name] = [pos, len(piece)]
            pos += len(piece)
            out.write(piece)
    return index


def _mapped(stack: ExitStack, path: Path) -> mmap.mmap | None:
    """`path` mapped read-only (closed with `stack`); None if it cannot be read."""
    try:
        with path.open("rb") as fh:
            return stack.enter_context(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
    except (OSError, ValueError):  # ValueError: an empty file
        return None


def part_name(key: PartKey) -> str:
    """A part's key as a text (a JSON object key)."""
    return json.dumps(key, ensure_ascii=False)


class CsvRows:
    """Renders lineage rows as lines of herkunft.csv (no header), keeping each distinct
    text quoted once across calls."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def render(self, rows: Iterable[Lineage] | Part) -> str:
        """The lines of `rows`; of a part, rendered from its sources without building
        its rows (the same text)."""
        if isinstance(rows, Part):
            if rows.rendered_from_sources:
                return _render_sources(rows.key, rows.sources, self.fields)
            rows = rows.rows
        return _render_rows(rows, self.fields)


def _render_rows(rows: Iterable[Lineage], fields: dict[str, str]) -> str:
    def field(text: str) -> str:
        hit = fields.get(text)
        if hit is None:
            hit = fields[text] = _csv_field(csvs.cell(text))
        return hit

    lines: list[str] = []
    append = lines.append
    last: tuple[object, ...] = ()
    middle = ""
    for r in rows:
        kennzahl, ags, pj, q, datei, sha, blatt, zelle, wert = r
        if (ags, pj, q, datei, sha) != last:
            last = (ags, pj, q, datei, sha)
            middle = ",".join([field(ags), _csv_field(csvs.cell(pj)),
                               _csv_field(csvs.cell(q)), field(datei), field(sha)])
        if type(wert) is Decimal:
            value = csv_money(wert)
        elif type(wert) is int:
            value = str(wert)
        else:
            value = _csv_field(csvs.cell(wert))
        append(f"{field(kennzahl)},{middle},{field(blatt)},{field(zelle)},{value}\n")
    return "".join(lines)


def _render_sources(key: PartKey, sources: Sequence[Source], fields: dict[str, str]) -> str:
    """`_render_rows` of the rows of one part (`key` and its sources): the columns of the
    submission are joined once, the kennzahl once per run of equal figures."""
    def field(text: str) -> str:
        hit = fields.get(text)
        if hit is None:
            hit = fields[text] = _csv_field(csvs.cell(text))
        return hit

    ags, pj, q, datei, sha = key
    middle = ",".join([field(ags), _csv_field(csvs.cell(pj)), _csv_field(csvs.cell(q)),
                       field(datei), field(sha)])
    get = fields.get
    lines: list[str] = []
    append = lines.append
    last: object = None
    head = ""
    for kennzahl, blatt, zelle, wert in sources:
        if kennzahl is not last:
            last = kennzahl
            head = f"{field(kennzahl)},{middle},"
        kind = type(wert)
        if kind is Decimal:
            value = str(wert)  # csv_money's fast path, inlined: cents as they are
            if value[-3:-2] != "." or len(value) >= 28 or value == "-0.00":
                value = csv_money(wert)
        elif kind is int:
            value = str(wert)
        else:
            value = _csv_field(csvs.cell(wert))
        append(f"{head}{get(blatt) or field(blatt)},{get(zelle) or field(zelle)},{value}\n")
    return "".join(lines)


def _csv_line(values: list[str]) -> str:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


def _csv_field(text: str) -> str:
    """One field as csv.writer quotes it inside a row (a trailing empty field keeps a
    lone empty string from being written as '""')."""
    return _csv_line([text, ""])[:-2]


HEADER = _csv_line(COLUMNS).encode("utf-8")
