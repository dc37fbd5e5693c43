"""pruefpfad.xlsx from pieces: the Herkunft sheet as a chain of deflate chunks (kept ones
copied, the member's CRC-32 combined from theirs), parts cut from a memo without sorting
their sources, and the other table sheets streamed as inline rows.

Each piece is checked against the code it stands for: `crc32.combine` against zlib.crc32,
chunked members against zipfile and zlib reading them back, a memo part against a part cut
from its sources, `stream_table` against `tables.write_table` as openpyxl reads both, the
fast Herleitung row against the cell-by-cell one.
"""

from __future__ import annotations

import io
import random
import zipfile
import zlib
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from pipeline.facts import Source
from pipeline.intake import TZ
from pipeline.outputs import audit_derivation, crc32, lineage, write, xlsxstream
from pipeline.outputs.lineage import Part, _in_figure_order, memo
from pipeline.outputs.streamtable import Cells, stream_table
from pipeline.outputs.tables import Col, Table, table_frame, write_table
from pipeline.outputs.xlsxkit import Book
from pipeline.report import run_report
from pipeline.spec import load_programme
from pipeline.template import Identity
from pipeline.xlsx import read_xlsx
from tests.test_warm_outputs import APPS, STICHTAG, _fresh, _outputs, _workbook, make_inbox

CREATED = datetime(2026, 1, 1)


# --- CRC-32 of joined pieces ----------------------------------------------------------------
def test_combined_crc_equals_the_crc_of_the_joined_bytes():
    rng = random.Random(5)
    native = crc32._native()
    assert native is not None  # libz loads here; the Python fallback is checked below too
    for _ in range(300):
        a = rng.randbytes(rng.choice([0, 1, 7, 100, rng.randrange(70_000)]))
        b = rng.randbytes(rng.choice([0, 1, 3, 4096, rng.randrange(70_000)]))
        want = zlib.crc32(a + b)
        args = (zlib.crc32(a), zlib.crc32(b), len(b))
        assert crc32.combine_python(*args) == native(*args) == crc32.combine(*args) == want


def test_combining_huge_lengths_agrees_and_negative_ones_are_refused():
    native = crc32._native()
    assert native is not None
    for length in (2**31 - 1, 2**31, 2**32 + 17, 5 * 2**30, 2**40 + 3):
        assert crc32.combine_python(0x12345678, 0x9ABCDEF0, length) == \
            native(0x12345678, 0x9ABCDEF0, length)
    with pytest.raises(ValueError):
        crc32.combine(1, 2, -1)
    with pytest.raises(ValueError):
        crc32.combine_python(1, 2, -1)


# --- a member made of chunks ----------------------------------------------------------------
def _frame_with_rows(path: Path, pieces: list) -> None:
    frame = io.BytesIO()
    book = Book(frame, "Test", CREATED)
    ws, _head = table_frame(book, "Daten", [Col("Text", 20)], 4)
    with xlsxstream.stored_frame():
        book.close()
    xlsxstream.finish(frame.getvalue(), path, book.wb,
                      [xlsxstream.StreamedSheet(ws, 5, 0, lambda: pieces)])


def _row(text: str) -> bytes:
    return f'<row><c t="inlineStr">{xlsxstream.inline(text)}</c></row>'.encode()


def test_chunks_text_and_kept_chunks_make_one_valid_member(tmp_path):
    rows = [_row(t) for t in ("eins", "zwei & drei", "vier", "fünf")]
    kept = xlsxstream.deflate([rows[1], rows[2]])
    again = xlsxstream.deflate([rows[1] + rows[2]])  # how the text is cut does not matter
    assert kept == again
    assert zlib.decompressobj(-15).decompress(kept.data) == rows[1] + rows[2]
    variants = {
        "chunks": [xlsxstream.deflate([rows[0]]), kept, xlsxstream.deflate([rows[3]])],
        "mixed": [rows[0], kept, rows[3].decode()],
        "text": [rows[0], rows[1] + rows[2], rows[3]],
    }
    xml = {}
    for name, pieces in variants.items():
        path = tmp_path / f"{name}.xlsx"
        _frame_with_rows(path, pieces)
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None  # every CRC checks out
            info = z.getinfo("xl/worksheets/sheet1.xml")
            xml[name] = z.read(info)
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
        ws = openpyxl.load_workbook(path)["Daten"]
        assert [c.value for c in ws["A"]] == ["Text", "eins", "zwei & drei", "vier", "fünf"]
    assert xml["chunks"] == xml["mixed"] == xml["text"]
    assert b"</row></sheetData>" in xml["chunks"]


def test_a_member_of_chunks_past_the_zip64_limit_is_written_with_zip64(tmp_path,
                                                                        monkeypatch):
    monkeypatch.setattr(xlsxstream, "ZIP64_AT", 3_000)
    rows = [_row(f"Zeile {i} " + "x" * 40) for i in range(200)]
    pieces = [xlsxstream.deflate(rows[i:i + 50]) for i in range(0, 200, 50)]
    path = tmp_path / "z.xlsx"
    _frame_with_rows(path, pieces)
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        info = z.getinfo("xl/worksheets/sheet1.xml")
        assert info.file_size > 3_000 and info.extract_version >= 45
    assert openpyxl.load_workbook(path)["Daten"].max_row == 201


# --- parts from a memo ----------------------------------------------------------------------
FIGURES = ["personal_gemeldet", "honorar_gemeldet", "tn_gesamt", "ea_aktiv"]


def _sources(rng: random.Random) -> list[Source]:
    kinds = [*FIGURES, "massnahmen"]  # one that is not traced
    return [Source(rng.choice(kinds), "Blatt", f"C{i}", Decimal(i) / 4) for i in
            range(rng.randrange(1, 60))]


def test_a_part_from_the_memo_is_the_part_cut_from_its_sources():
    rng = random.Random(3)
    order = {name: i for i, name in enumerate(FIGURES)}
    for n in range(50):
        raw = _sources(rng)
        sources, first = _in_figure_order(raw, order)
        if not sources:
            continue
        key = ("06431901", 1, n % 4 + 1, f"d{n}.xlsx", f"{n:064x}")
        cut = Part(key, sources, first=first)
        entry = memo([cut], FIGURES)[key[4]]
        size, known_first = lineage._known(entry, FIGURES)
        known = Part.known(key, raw, order, size, known_first)
        assert len(known) == len(cut) and known.first_rows() == cut.first_rows()
        assert known.sources == cut.sources and known.rows == cut.rows
        assert lineage.CsvRows().render(known) == lineage.CsvRows().render(cut)


def test_a_memo_entry_of_another_shape_is_not_used():
    assert lineage._known([1, 2, 3, 4], FIGURES) == (10, dict(zip(FIGURES, [0, 1, 3, 6],
                                                                  strict=True)))
    for bad in ([1, 2, 3], [0, 0, 0, 0], [1, -1, 1, 1], [1, 2.0, 3, 4], "1234", None,
                {"a": 1}, [True, 1, 1, 1]):
        assert lineage._known(bad, FIGURES) is None, bad


def test_a_memo_that_disagrees_with_the_sources_stops_the_run():
    raw = [Source("tn_gesamt", "B", "C1", 1), Source("personal_gemeldet", "B", "C2", 2)]
    order = {name: i for i, name in enumerate(FIGURES)}
    part = Part.known(("1", 1, 1, "f", "h"), raw, order, 3,
                      {"personal_gemeldet": 0, "tn_gesamt": 1})
    assert len(part) == 3  # believed until the sources are needed
    with pytest.raises(RuntimeError, match="anders als vermerkt"):
        _ = part.sources


def test_a_warm_run_sorts_only_the_new_submission(tmp_path, monkeypatch):
    monkeypatch.setenv("KISI_WORKERS", "1")
    box, registry = make_inbox(tmp_path)
    out = tmp_path / "ausgabe"
    run_report(box, out, registry, STICHTAG)
    calls = []
    real = lineage._in_figure_order
    monkeypatch.setattr(lineage, "_in_figure_order",
                        lambda s, o: calls.append(1) or real(s, o))
    _workbook(box, "06431901_PJ1_Q1_korrektur.xlsx", Identity(*APPS[0], 1, 1), 20,
              receipts=1)
    run_report(box, out, registry, STICHTAG)
    assert len(calls) == 1
    assert _outputs(out) == _fresh(box, registry, tmp_path, "frisch")


def test_the_kept_chunks_replace_the_kept_xml_of_earlier_versions(tmp_path):
    box, registry = make_inbox(tmp_path)
    store = tmp_path / "archiv"
    run_report(box, tmp_path / "ausgabe", registry, STICHTAG, store_dir=store)
    state = next((store / "cache").glob("berichte-*"))
    assert (state / write.LINEAGE_CHUNKS).stat().st_size > 0
    (state / "herkunft.xml").write_bytes(b"<row/>" * 100)  # left by an earlier version
    run_report(box, tmp_path / "ausgabe", registry, STICHTAG, store_dir=store)
    assert not (state / "herkunft.xml").exists()


# --- table sheets streamed as inline rows ---------------------------------------------------
COLS = [Col("Text", 20), Col("Umbruch", 12, "wrap"), Col("Zahl", 10, "int"),
        Col("Betrag", 12, "money"), Col("Datum", 11, "date"), Col("Zeit", 16, "datetime"),
        Col("Hash", 20, "mono"), Col("rechts", 8, "right")]
HOSTILE = ['=HYPERLINK("x")<&>"', " leading", "trailing\t", "ctl\x01", "_x0041_", "€ ß 😀", ""]


def _table() -> Table:
    table = Table(COLS)
    table.add(["Summe", "eine lange Zeile, die umbricht und umbricht", 12, Decimal("1.50"),
               None, None, "ab" * 32, True], total=True)
    moment = datetime(2026, 3, 1, 9, 30, tzinfo=TZ)
    for i, text in enumerate(HOSTILE):
        table.add([text, "kurz\nund zweizeilig" if i % 2 else "x", 2**60 if i == 1 else i,
                   Decimal(i) / 3 if i else -Decimal("0.00"), date(2026, 1, i + 1),
                   moment + timedelta(hours=i), f"{i:064x}", False if i else 1.25])
    table.add([None, None, None, None, None, None, None, None])
    table.add([Path("x"), 3.5, -7, Decimal("1E+3"), datetime(2026, 5, 5, 12), date(1900, 3, 1),
               "", "ja"])
    return table


def _sheet_values(path: Path) -> list:
    ws = openpyxl.load_workbook(path)["T"]
    cells = [[(_unescaped(c.value), c.data_type, c.number_format, bool(c.font.b),
               c.font.name, c.alignment.wrap_text, c.alignment.horizontal) for c in row]
             for row in ws.iter_rows()]
    heights = {r: d.height for r, d in ws.row_dimensions.items() if d.height}
    return [cells, heights, ws.freeze_panes, ws.auto_filter.ref, ws.dimensions]


def _unescaped(value: object) -> object:
    """openpyxl undoes the `_x005F_` escape in shared strings, not in inline ones."""
    return value.replace("_x005F_", "_") if isinstance(value, str) else value


def test_a_streamed_table_reads_back_as_the_written_one(tmp_path):
    written = tmp_path / "written.xlsx"
    book = Book(written, "Test", CREATED)
    write_table(book, "T", _table(), freeze_cols=1)
    book.close()
    streamed = tmp_path / "streamed.xlsx"
    frame = io.BytesIO()
    book = Book(frame, "Test", CREATED)
    sheet = stream_table(book, "T", _table(), freeze_cols=1)
    with xlsxstream.stored_frame():
        book.close()
    xlsxstream.finish(frame.getvalue(), streamed, book.wb, [sheet])
    assert _sheet_values(streamed) == _sheet_values(written)
    ours = read_xlsx(streamed, load_programme().limits).cells["T"]
    assert [ours[(i + 3, 1)].text for i in range(len(HOSTILE))] == HOSTILE
    with zipfile.ZipFile(streamed) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert '<row r="2"' not in xml and "<f>" not in xml  # data rows: no numbers, no formula


def test_a_column_at_a_time_renders_each_cell_as_one_at_a_time():
    ws = Book(io.BytesIO(), "Test", CREATED).wb.add_worksheet("x")
    table = _table()
    styles = [[f' s="{k}"' if k % 3 else "" for k in range(len(COLS))] for _ in table.rows]
    cells = Cells(ws)
    assert cells.rows(table.rows, styles) == [
        Cells(ws).row(values, s) for values, s in zip(table.rows, styles, strict=True)]
    columns = [[f"t{i}", i, 2**53 + i, None] for i in range(5)]  # each kind in one column
    plain = [["", ' s="1"', "", ""]] * 5
    assert cells.rows(columns, plain) == [cells.row(v, s) for v, s in
                                          zip(columns, plain, strict=True)]


def test_a_fast_herleitung_row_is_the_cell_by_cell_one():
    ws = Book(io.BytesIO(), "Test", CREATED).wb.add_worksheet("x")
    width = audit_derivation.FIRST_MONEY_COL + 23
    styles = [f' s="{k % 5}"' if k % 5 else "" for k in range(width)]
    linked = [4, 8, 12]
    rng = random.Random(8)
    for n in range(200):
        values = ["0643190" + str(n % 10), 1 + n % 3, 1 + n % 4, f"d%{n}<&>.xlsx"]
        values += [Decimal(rng.randrange(-10**9, 10**9)) / 100 for _ in range(23)]
        if n % 7 == 0:
            values[-2] = None  # no approval: cell by cell
        if n % 11 == 0:
            values[-1] = 10**20  # a large int
        links = (n % 2 == 0, n % 3 == 0, n % 5 == 0)
        render = audit_derivation._Rows(styles, ' s="9"', linked, Cells(ws))
        want = [' s="9"' if col in linked and links[linked.index(col)] else s
                for col, s in enumerate(styles)]
        assert render.row(values, links) == \
            "<row>" + Cells(ws).row(values, want) + "</row>"


# --- Herleitung values ----------------------------------------------------------------------
def _reference_derivation_rows(view):
    """`derivation_rows` as it was: every figure of every period through `view.fig`."""
    from pipeline.funding import FIGURES
    from pipeline.money import ZERO, cents

    caps = audit_derivation._caps(view)
    money = view.prog.money
    for app in view.apps:
        used = {p for (ags, p) in view.result.used if ags == app.ags}
        reported, funding = dict.fromkeys(caps, ZERO), ZERO
        for p in view.periods:
            if p.quartal == 1:
                reported["personal"] = ZERO
            f = {k: view.fig(app.ags, p.projektjahr, p.quartal, k) for k in FIGURES}
            values = []
            for key, _label, _scope in audit_derivation.KINDS:
                reported[key] += f[f"{key}_gemeldet"]
                values += [f[f"{key}_gemeldet"], reported[key], caps[key],
                           f[f"{key}_foerderfaehig"]]
            funding += f["zuwendung"]
            total = f["foerderfaehig_gesamt"]
            values += [f["direkt_foerderfaehig"], f["restkostenpauschale"], total,
                       cents(money.funding_rate * total), funding, app.approval,
                       f["zuwendung"], cents(money.eu_rate * total), f["eu_anteil"],
                       f["land_anteil"], f["eigenanteil"]]
            if p in used:
                datei = view.result.used[(app.ags, p)].received.datei
                yield app.ags, p, [app.ags, p.projektjahr, p.quartal, datei, *values]


def test_herleitung_values_are_those_of_the_figure_by_figure_derivation(tmp_path):
    from pipeline.outputs.view import ReportView

    box, registry = make_inbox(tmp_path)
    _workbook(box, "06431901_PJ2_Q1.xlsx", Identity(*APPS[0], 2, 1), 9)  # a second PJ
    result = run_report(box, tmp_path / "ausgabe", registry, date(2027, 6, 30))
    view = ReportView(result, load_programme(), date(2027, 6, 30))
    ours = list(audit_derivation.derivation_rows(view))
    assert ours == list(_reference_derivation_rows(view))
    assert len(ours) == 7 and {type(v) for _a, _p, values in ours for v in values[4:]} \
        <= {Decimal, type(None)}


def test_links_go_where_a_worksheet_keeps_them_and_a_frame_with_links_is_refused(tmp_path):
    def write(path: Path, own_link: bool) -> None:
        frame = io.BytesIO()
        book = Book(frame, "Test", CREATED)
        ws, _head = table_frame(book, "Daten", [Col("Text", 20)], 1)
        if own_link:
            ws.write_url(5, 0, "internal:'Daten'!A1")
        links = '<hyperlinks><hyperlink ref="A2" location="\'Daten\'!A1"/></hyperlinks>'
        with xlsxstream.stored_frame():
            book.close()
        xlsxstream.finish(frame.getvalue(), path, book.wb, [xlsxstream.StreamedSheet(
            ws, 2, 0, lambda: [_row("eins")], links)])

    write(tmp_path / "a.xlsx", own_link=False)
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert xml.index("</sheetData>") < xml.index("<hyperlinks>") < xml.index("<pageMargins")
    cell = openpyxl.load_workbook(tmp_path / "a.xlsx")["Daten"]["A2"]
    assert cell.value == "eins" and cell.hyperlink.location == "'Daten'!A1"
    with pytest.raises(RuntimeError, match="links of its own"):
        write(tmp_path / "b.xlsx", own_link=True)
