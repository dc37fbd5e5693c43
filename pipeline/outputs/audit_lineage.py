"""pruefpfad.xlsx, sheets Herkunft, Herkunft 2, …: the rows of herkunft.csv for auditors.

One row per source cell (Kennzahl, AGS, PJ, Quartal, Datei, SHA-256, Blatt, Zelle, Wert,
Hinweis), in the order of herkunft.csv. Sixty thousand rows and more: the rows are streamed
as XML into the frame xlsxwriter writes (`xlsxstream`), > 10× faster than a cell at a time.
Rows that do not fit on one sheet (`ROWS_PER_SHEET`, Excel's limit) continue on
"Herkunft 2", "Herkunft 3", …; nothing is dropped. `locations` tells Herleitung where the
first row of each figure is, so its links point at the right sheet and row.

Money (Decimal) is shown in euro format, counts as plain numbers. Staff rows carry a short
Hinweis (amount = gross × share / 100, rounded); the full explanation and the row count are
on sheet Lauf (`notes`). No row height is estimated: every text fits on one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from pipeline.outputs.lineage import Lineage
from pipeline.outputs.tables import Col, table_frame
from pipeline.outputs.view import ReportView
from pipeline.outputs.xlsxkit import Book
from pipeline.outputs.xlsxstream import MAX_ROWS, StreamedSheet, inline, number, style

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


def locations(rows: list[Lineage]) -> dict[Key, tuple[str, int]]:
    """(kennzahl, ags, pj, q) -> (sheet, 1-based Excel row) of its first lineage row."""
    size, names = per_sheet(), sheet_names(len(rows))
    found: dict[Key, tuple[str, int]] = {}
    for i, r in enumerate(rows):
        key = (r.kennzahl, r.projekt_ags, r.projektjahr, r.quartal)
        if key not in found:
            sheet, offset = divmod(i, size)
            found[key] = (names[sheet], HEADER_ROWS + 1 + offset)
    return found


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


def lineage_sheets(book: Book, view: ReportView, rows: list[Lineage]) -> list[StreamedSheet]:
    """Frame every Herkunft sheet in `book` and return the rows to stream into each."""
    size, out = per_sheet(), []
    hint = staff_hint(view)
    for k, name in enumerate(sheet_names(len(rows))):
        part = rows[k * size:(k + 1) * size]
        ws, _head = table_frame(book, name, COLS, len(part), FREEZE_COLS)
        cells = _Styles(book)
        out.append(StreamedSheet(ws, HEADER_ROWS + len(part), len(COLS) - 1,
                                 lambda part=part, cells=cells: _chunks(part, cells, hint)))
    return out


class _Styles:
    """` s="N"` attributes of the formats the rows use (asked for before the book closes)."""

    def __init__(self, book: Book) -> None:
        self.int = style(book.fmt("int"))
        self.mono = style(book.fmt("mono"))
        self.text = style(book.fmt("text"))
        self.money = style(book.fmt("money"))
        self.count = style(book.fmt("right"))


def _chunks(rows: list[Lineage], s: _Styles, hint: str) -> Iterator[str]:
    """`<row>` elements, CHUNK_ROWS per string. Each distinct text is escaped once
    (`inline`); the texts of a submission (AGS, file, hash) once per submission."""
    texts: dict[str, str] = {}

    def text(value: str) -> str:
        hit = texts.get(value)
        if hit is None:
            hit = texts[value] = inline(value)
        return hit

    t, i_, mono = f'{s.text} t="inlineStr"', s.int, f'{s.mono} t="inlineStr"'
    note = text(hint)
    buf: list[str] = []
    n = HEADER_ROWS
    last: tuple[object, ...] = ()
    ags_x = pj_x = q_x = datei_x = sha_x = ""
    get = texts.get
    for kennzahl, ags, pj, q, datei, sha, blatt, zelle, wert in rows:
        n += 1
        if (ags, pj, q, datei, sha) != last:
            last = (ags, pj, q, datei, sha)
            ags_x, datei_x, sha_x = text(ags), text(datei), text(sha)
            pj_x, q_x = number(pj), number(q)
        if type(wert) is Decimal:
            value = f'<c r="I{n}"{s.money}><v>{number(float(wert))}</v></c>'
        else:
            value = _value(n, wert, s)
        extra = f'<c r="J{n}"{t}>{note}</c>' if kennzahl == STAFF else ""
        buf.append(
            f'<row r="{n}"><c r="A{n}"{t}>{get(kennzahl) or text(kennzahl)}</c>'
            f'<c r="B{n}"{t}>{ags_x}</c><c r="C{n}"{i_}><v>{pj_x}</v></c>'
            f'<c r="D{n}"{i_}><v>{q_x}</v></c><c r="E{n}"{t}>{datei_x}</c>'
            f'<c r="F{n}"{mono}>{sha_x}</c><c r="G{n}"{t}>{get(blatt) or text(blatt)}</c>'
            f'<c r="H{n}"{t}>{get(zelle) or text(zelle)}</c>{value}{extra}</row>')
        if len(buf) == CHUNK_ROWS:
            yield "".join(buf)
            buf.clear()
    if buf:
        yield "".join(buf)


def _value(n: int, wert: object, s: _Styles) -> str:
    """Column I for anything but a Decimal: as `xlsxkit.put` would write it."""
    if wert is None:
        return f'<c r="I{n}"{s.count}/>'
    if isinstance(wert, bool):
        return f'<c r="I{n}"{s.count} t="inlineStr">{inline("ja" if wert else "nein")}</c>'
    if isinstance(wert, int | float | Decimal):
        return f'<c r="I{n}"{s.count}><v>{number(float(wert))}</v></c>'
    return f'<c r="I{n}"{s.count} t="inlineStr">{inline(str(wert))}</c>'
