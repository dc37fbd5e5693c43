"""Builders of the hostile corpus (tests/test_hostile*.py, tests/test_fuzz.py, scripts/fuzz.py).

Every file is made here, in memory, from a valid workbook of our own template generator:
nothing is downloaded or checked in. Builders return bytes; tests write them into an inbox.
The zip writer at the bottom writes headers by hand so that sizes, CRCs and compression
methods can lie the way a crafted file does.
"""

from __future__ import annotations

import functools
import io
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from hypothesis import strategies as st

from pipeline.template import Identity, build_workbook, template_filename
from pipeline.template.model import WorkbookData
from pipeline.template.sample import MUSTERSTADT, valid_data

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

WORKBOOK = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
SHARED = "xl/sharedStrings.xml"
STYLES = "xl/styles.xml"
TABLE_BELEGE = "xl/tables/table2.xml"


# --- valid starting points -------------------------------------------------------------


def workbook_bytes(
    identity: Identity = MUSTERSTADT,
    values: Mapping[str, object] | None = None,
    rows: Mapping[str, list[dict[str, object]]] | None = None,
    cells: Mapping[tuple[str, str], object] | None = None,
) -> bytes:
    """A valid filled workbook (like the make_workbook fixture) with the given changes."""
    data: WorkbookData = valid_data(identity)
    data.values.update(values or {})
    data.rows.update(rows or {})
    data.cells.update(cells or {})
    with tempfile.TemporaryDirectory() as tmp:
        path = build_workbook(Path(tmp) / template_filename(identity), identity, data)
        return path.read_bytes()


@functools.cache
def valid_bytes(identity: Identity = MUSTERSTADT) -> bytes:
    return workbook_bytes(identity)


# --- zip members -------------------------------------------------------------------------


def parts(data: bytes) -> dict[str, bytes]:
    """Members in stored order."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def zip_bytes(members: Mapping[str, bytes | str], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, value in members.items():
            zf.writestr(name, value)
    return out.getvalue()


def rewrite(data: bytes, changes: Mapping[str, bytes | str | None]) -> bytes:
    """A copy of the zip `data` with members replaced (in place), dropped (None) or added."""
    members: dict[str, bytes | str] = dict(parts(data))
    for name, value in changes.items():
        if value is None:
            members.pop(name, None)
        else:
            members[name] = value
    return zip_bytes(members)


def edit(data: bytes, part: str, old: str, new: str, count: int = 1) -> bytes:
    """Replace text inside one member; fails loudly when `old` is not there."""
    text = parts(data)[part].decode("utf-8")
    assert old in text, f"{old!r} not in {part}"
    return rewrite(data, {part: text.replace(old, new, count)})


def sheet_part(data: bytes, sheet: str) -> str:
    """The member name of the worksheet called `sheet` (via workbook.xml and its rels)."""
    members = parts(data)
    book = members[WORKBOOK].decode()
    rel_id = re.search(rf'<sheet name="{re.escape(sheet)}" sheetId="\d+" r:id="(\w+)"', book)
    assert rel_id, sheet
    rels = members[WORKBOOK_RELS].decode()
    target = re.search(rf'Id="{rel_id.group(1)}" Type="[^"]+" Target="([^"]+)"', rels)
    assert target, rel_id.group(1)
    return "xl/" + target.group(1)


# --- XML payloads ------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<!DOCTYPE {root} [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)
XXE = '<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
PLAIN_DTD = '<!DOCTYPE {root} SYSTEM "http://example.invalid/evil.dtd">'


def with_dtd(data: bytes, part: str, dtd: str, entity: str = "") -> bytes:
    """`part` with a DOCTYPE (format `dtd` with its root element) before the root, and
    `&entity;` placed into the first text or attribute we can find."""
    text = parts(data)[part].decode("utf-8")
    root = re.search(r"<([A-Za-z_][\w:.-]*)[\s>/]", text.split("?>", 1)[-1])
    assert root, part
    decl, _, body = text.rpartition("?>") if text.startswith("<?xml") else ("", "", text)
    body = dtd.format(root=root.group(1)) + body
    if entity:
        ref = f"&{entity};"
        body = re.sub(r'( (?:name|Target|formatCode)=")', r"\g<1>" + ref, body, count=1)
        if ref not in body:
            body = body.replace("<v>", "<v>" + ref, 1) if "<v>" in body else body
    return rewrite(data, {part: (decl + "?>" if decl else "") + body})


# --- hand-made zips ----------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One member as written: `payload` is stored as is; `size` and `crc` are what the
    headers claim (a crafted file may lie about both)."""

    name: str
    payload: bytes
    size: int
    crc: int
    method: int = zipfile.ZIP_DEFLATED


def deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def entry(name: str, data: bytes, method: int = zipfile.ZIP_DEFLATED) -> Entry:
    payload = deflate(data) if method == zipfile.ZIP_DEFLATED else data
    return Entry(name, payload, len(data), zlib.crc32(data), method)


def repeated_deflate(unit: bytes, times: int) -> bytes:
    """A raw deflate stream of `unit` repeated `times` times, built in milliseconds: each
    segment ends with a full flush (no back-references across it), so it can be repeated."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = packer.compress(unit) + packer.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty last block
    return segment * times + final


def raw_zip(entries: list[Entry]) -> bytes:
    out = bytearray()
    central = bytearray()
    for e in entries:
        name = e.name.encode("utf-8")
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, e.method, 0, 0x21, e.crc,
                           len(e.payload), e.size, len(name), 0) + name + e.payload
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0x800, e.method, 0,
                               0x21, e.crc, len(e.payload), e.size, len(name), 0, 0, 0, 0, 0,
                               offset) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central),
                      len(out), 0)
    return bytes(out + central + end)


def entries_of(data: bytes) -> list[Entry]:
    return [entry(name, value) for name, value in parts(data).items()]


def spaces_bomb(data: bytes, part: str, size: int = 2 << 30, declared: int | None = None,
                unit: int = 16 << 20) -> bytes:
    """`data` with `part` replaced by `size` bytes of spaces (an XML comment-free bomb that
    deflates about 1000:1). `declared` makes the headers lie about the inflated size."""
    assert size % unit == 0
    payload = repeated_deflate(b" " * unit, size // unit)
    bomb = Entry(part, payload, size if declared is None else declared, 0)
    return raw_zip([bomb if e.name == part else e for e in entries_of(data)])


def repeated_part(data: bytes, part_rel: str, times: int) -> bytes:
    """workbook.xml listing `times` more sheets that all point at one part (relationship
    `part_rel`): each listing would parse the same part again."""
    extra = "".join(f'<sheet name="Kopie{i}" sheetId="{100 + i}" r:id="{part_rel}"/>'
                    for i in range(times))
    return edit(data, WORKBOOK, "</sheets>", extra + "</sheets>")


def with_method(data: bytes, part: str, method: int, content: bytes) -> bytes:
    """`part` replaced by `content` compressed with zip method `method` (12 bzip2, 14 lzma)
    while its headers claim a harmless size."""
    import bz2

    packed = bz2.compress(content) if method == zipfile.ZIP_BZIP2 else content
    fake = Entry(part, packed, 1000, zlib.crc32(content[:1000]), method)
    return raw_zip([fake if e.name == part else e for e in entries_of(data)])


# --- non-zip files -----------------------------------------------------------------------


def ole(*streams: str) -> bytes:
    """A minimal OLE2 (Compound File) container: a header sector, then one directory sector
    listing a root entry and `streams`; enough for file-type detection."""
    entries = b""
    for kind, name in [(5, "Root Entry"), *((2, n) for n in streams)]:
        encoded = (name + "\0").encode("utf-16-le")
        entries += encoded.ljust(64, b"\0") + struct.pack("<HB", len(encoded), kind).ljust(
            64, b"\0")
    header = OLE_MAGIC + bytes(16) + struct.pack("<HHH", 0x3E, 3, 0xFFFE)
    return header.ljust(512, b"\0") + entries.ljust(512, b"\0")


ENCRYPTED = ole("\x06DataSpaces", "EncryptionInfo", "EncryptedPackage")
OLD_XLS = ole("Workbook", "\x05SummaryInformation")


# --- e-mails -----------------------------------------------------------------------------


def mail(attachments: list[tuple[str, bytes, str]], subject: str = "KISI Bericht",
         when: datetime | None = None, date_header: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Erika Mustermann <integration@musterstadt.example>"
    msg["To"] = "kisi@ministerium.example"
    msg["Subject"] = subject
    if when is not None:
        msg["Date"] = format_datetime(when)
    msg.set_content("Sehr geehrte Damen und Herren,\nanbei unser Bericht.\n")
    for name, data, mime in attachments:
        maintype, subtype = mime.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    raw = msg.as_bytes()
    if date_header is not None:  # as sent, even when it is no date (EmailMessage drops it)
        raw = raw.replace(b"\nSubject:", b"\nDate: " + date_header.encode() + b"\nSubject:", 1)
    return raw


# --- damaged templates and odd-but-valid content ------------------------------------------

ANGABEN = "xl/worksheets/sheet2.xml"
BELEGE = "xl/worksheets/sheet4.xml"


def drop_names(data: bytes, *names: str) -> bytes:
    text = parts(data)[WORKBOOK].decode()
    for name in names:
        text, found = re.subn(rf'<definedName name="{name}">[^<]*</definedName>', "", text)
        assert found == 1, name
    return rewrite(data, {WORKBOOK: text})


def rename_sheet(data: bytes, old: str, new: str) -> bytes:
    """Rename the sheet tab only, as a tool that does not update defined names would."""
    return edit(data, WORKBOOK, f'<sheet name="{old}"', f'<sheet name="{new}"')


def delete_sheet(data: bytes, name: str) -> bytes:
    text = parts(data)[WORKBOOK].decode()
    text, found = re.subn(rf'<sheet name="{name}" sheetId="\d+" r:id="\w+"/>', "", text)
    assert found == 1, name
    return rewrite(data, {WORKBOOK: text})


def merge_over(data: bytes, part: str, ref: str, emptied: str) -> bytes:
    """Merge `ref` the way Excel does: only the top-left value survives, `emptied` loses its
    value (keeps its style)."""
    text = parts(data)[part].decode()
    text, found = re.subn(rf'(<c r="{emptied}"[^>]*?)(?: t="\w+")?><v>[^<]*</v></c>', r"\1/>",
                          text)
    assert found == 1, emptied
    text = text.replace("</sheetData>", f'</sheetData><mergeCells count="1"><mergeCell '
                                        f'ref="{ref}"/></mergeCells>', 1)
    return rewrite(data, {part: text})


def _add_relationship(rels: str, rel_id: str, kind: str, target: str, external: bool = False
                      ) -> str:
    mode = ' TargetMode="External"' if external else ""
    return rels.replace("</Relationships>", f'<Relationship Id="{rel_id}" Type="{REL_NS}/{kind}" '
                                            f'Target="{target}"{mode}/></Relationships>')


def with_external_link(data: bytes, part: str, cell: str, cached: str) -> bytes:
    """`cell` holds ='[1]Tabelle1'!$A$1 (another workbook) with `cached` as its stored value,
    and the package has the externalLink part Excel writes for it."""
    members = parts(data)
    sheet = members[part].decode()
    sheet, found = re.subn(rf'(<c r="{cell}"[^>]*?)(?: t="\w+")?>(?:<v>[^<]*</v>)?</c>',
                           rf"\1><f>[1]Tabelle1!$A$1</f><v>{cached}</v></c>", sheet)
    assert found == 1, cell
    link = (f'<externalLink xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><externalBook r:id="rId1">'
            '<sheetNames><sheetName val="Tabelle1"/></sheetNames><sheetDataSet><sheetData '
            f'sheetId="0"><row r="1"><cell r="A1"><v>{cached}</v></cell></row></sheetData>'
            "</sheetDataSet></externalBook></externalLink>")
    link_rels = _add_relationship(f'<Relationships xmlns="{PKG_NS}"></Relationships>', "rId1",
                                  "externalLinkPath", "file:///C:/Daten/Zahlen.xlsx", True)
    book = members[WORKBOOK].decode().replace(
        "</definedNames>", '</definedNames><externalReferences><externalReference r:id="rId99"/>'
                           "</externalReferences>")
    types = members["[Content_Types].xml"].decode().replace(
        "</Types>", '<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType="'
                    'application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml'
                    '"/></Types>')
    return rewrite(data, {
        part: sheet, WORKBOOK: book, "[Content_Types].xml": types,
        WORKBOOK_RELS: _add_relationship(members[WORKBOOK_RELS].decode(), "rId99",
                                         "externalLink", "externalLinks/externalLink1.xml"),
        "xl/externalLinks/externalLink1.xml": link,
        "xl/externalLinks/_rels/externalLink1.xml.rels": link_rels,
    })


VBA_PROJECT = OLE_MAGIC + b"\0" * 504 + b'Attribute VB_Name = "DieseArbeitsmappe"\r\n' \
    b"Sub Workbook_Open()\r\n  Shell \"cmd /c calc.exe\"\r\nEnd Sub\r\n"


def with_macros(data: bytes) -> bytes:
    """An .xlsm: a vbaProject.bin with an auto-run macro, wired as Excel wires it."""
    members = parts(data)
    types = members["[Content_Types].xml"].decode().replace(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    ).replace("</Types>", '<Default Extension="bin" '
                          'ContentType="application/vnd.ms-office.vbaProject"/></Types>')
    return rewrite(data, {
        "[Content_Types].xml": types,
        WORKBOOK_RELS: _add_relationship(members[WORKBOOK_RELS].decode(), "rId98",
                                         "vbaProject", "vbaProject.bin"),
        "xl/vbaProject.bin": VBA_PROJECT,
    })


def shared_index(data: bytes, text: str) -> int:
    strings = re.findall(r"<si>(.*?)</si>", parts(data)[SHARED].decode())
    return next(i for i, s in enumerate(strings) if re.sub(r"<[^>]+>", "", s) == text)


def big_table(data: bytes, rows: int, first: int = 8) -> bytes:
    """tblBelege with `rows` filled rows from row `first` on, written the way Excel writes
    them (shared strings for repeated texts, numbers, date serials with the date style)."""
    fee = shared_index(data, "Honorar")
    members = parts(data)
    sheet = members[BELEGE].decode()
    sheet = re.sub(r'<row r="(\d+)"[^>]*>.*?</row>',
                   lambda m: "" if int(m.group(1)) >= first else m.group(0), sheet)
    body = "".join(
        f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}" t="inlineStr"><is><t>B-{r}</t>'
        f'</is></c><c r="C{r}" s="12"><v>46033</v></c><c r="D{r}" s="12"><v>46038</v></c>'
        f'<c r="E{r}" t="s"><v>{fee}</v></c><c r="F{r}" t="s"><v>{fee}</v></c>'
        f'<c r="G{r}" t="s"><v>{fee}</v></c><c r="H{r}"><v>1.5</v></c></row>'
        for r in range(first, first + rows)
    )
    sheet = sheet.replace("</sheetData>", body + "</sheetData>", 1)
    table = members[TABLE_BELEGE].decode().replace('ref="A4:H24"', f'ref="A4:H{first + rows - 1}"')
    return rewrite(data, {BELEGE: sheet, TABLE_BELEGE: table})


def foreign_workbook() -> bytes:
    """Somebody else's workbook: a sheet of figures, no KISI names or tables."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Haushalt"
    ws.append(["Produkt", "Ansatz 2026", "Ergebnis"])
    ws.append(["Integration", 120000, 98000.5])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- fuzzing: mutations of valid workbooks (scripts/fuzz.py, tests/test_fuzz.py) ------------

INTERESTING = [
    "", "0", "-1", "1.5", "1E308", "1E999999999", "NaN", "-Infinity", "9" * 40, "A0", "a1",
    "$A$1", "XFD1048576", "XFE1", "A1048577", "A1:XFD1048576", "A4:H99999999999", "H24:A4",
    "zzz", "inlineStr", "s", "str", "e", "b", "d", "n", "#REF!", "#DIV/0!", "'", "&amp;",
    "&lt;f&gt;", "_x0000_", "_xD800_", "_x005F_x0041_", "\u202e\u200b", "🎉", "rId1", "rId999",
    "../../../etc/passwd", "/xl/workbook.xml", "http://evil.example/", "Angaben!$B$16",
    "[1]Tabelle1!$A$1", '=HYPERLINK("http://evil.example","x")', "1000000000", "-1000000000",
    "01.02.2026", "1.234,56 €", "tblBelege", "Betrag", "Honorar", "ja", " ",
]
FUZZ_PARTS = [WORKBOOK, WORKBOOK_RELS, "_rels/.rels", SHARED, STYLES, TABLE_BELEGE,
              "xl/tables/table1.xml", ANGABEN, BELEGE, "xl/worksheets/sheet3.xml",
              "xl/worksheets/_rels/sheet4.xml.rels", "[Content_Types].xml"]
# Mostly well-formed changes (attribute values, texts, elements), so that most examples get
# past the zip and XML layers into cells, names, tables and rules.
KINDS = ["attribute"] * 5 + ["text"] * 5 + ["element"] * 2 + ["splice", "drop", "repeat",
                                                               "rename"]
# characters XML 1.0 can carry: a changed value keeps the part well-formed
_XML_CHARS = st.characters(blacklist_categories=("Cs", "Cc"))
_ATTRIBUTE = re.compile(r'([\w:]+)="([^"]*)"')
_TEXT = re.compile(r">([^<]+)<")
_ELEMENT = re.compile(r"<(\w+)(?: [^<>]*)?/>|<(\w+)(?: [^<>]*)?>[^<]*</\2>")


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def fuzz_seeds() -> list[bytes]:
    """Valid starting points from three producers: our generator (with and without a
    formula), openpyxl (our workbook re-saved: inline strings, no cached values) and
    LibreOffice (the checked-in fixture)."""
    import openpyxl

    from pipeline.template.model import Formula

    seeds = [valid_bytes(), workbook_bytes(values={"TN_GESAMT": Formula("=5+7", 12)})]
    resaved = io.BytesIO()
    openpyxl.load_workbook(io.BytesIO(valid_bytes())).save(resaved)
    seeds.append(resaved.getvalue())
    fixture = Path(__file__).parent / "fixtures" / "libreoffice_pj1_q2.xlsx"
    if fixture.exists():
        seeds.append(fixture.read_bytes())
    return seeds


def mutations(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """A strategy of broken workbooks: XML attribute values and texts replaced (well-formed,
    so the deeper code is reached), elements dropped or repeated, raw splices, zip members
    dropped, repeated, renamed or stored, then byte flips or a truncation of the file."""

    @st.composite
    def mutated(draw: st.DrawFn) -> bytes:
        members = list(parts(draw(st.sampled_from(seeds))).items())
        for _ in range(draw(st.integers(1, 3))):
            kind = draw(st.sampled_from(KINDS))
            if kind in ("attribute", "text", "element", "splice"):
                names = [n for n, _ in members if n in FUZZ_PARTS] or [members[0][0]]
                name = draw(st.sampled_from(names))
                at = next(i for i, (n, _) in enumerate(members) if n == name)
                text = members[at][1].decode("utf-8", "replace")
                members[at] = (name, _mutate_xml(draw, kind, text).encode("utf-8", "replace"))
            elif kind == "drop" and len(members) > 1:
                members.pop(draw(st.integers(0, len(members) - 1)))
            elif kind == "repeat":
                members.append(members[draw(st.integers(0, len(members) - 1))])
            elif kind == "rename":
                at = draw(st.integers(0, len(members) - 1))
                members[at] = (draw(st.sampled_from(FUZZ_PARTS + INTERESTING[:20])) or "x",
                               members[at][1])
        stored = draw(st.booleans())
        data = raw_zip([entry(n, b, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
                        for n, b in members])
        tail = draw(st.sampled_from(["none"] * 8 + ["flip", "truncate"]))
        if tail == "flip":
            broken = bytearray(data)
            for _ in range(draw(st.integers(1, 8))):
                broken[draw(st.integers(0, len(broken) - 1))] ^= draw(st.integers(1, 255))
            data = bytes(broken)
        elif tail == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        return data

    return mutated()


def _mutate_xml(draw: st.DrawFn, kind: str, text: str) -> str:
    if kind == "attribute" and (found := list(_ATTRIBUTE.finditer(text))):
        m = found[draw(st.integers(0, len(found) - 1))]
        value = _xml_escape(draw(st.sampled_from(INTERESTING) | st.text(_XML_CHARS, max_size=12)))
        return text[: m.start(2)] + value + text[m.end(2):]
    if kind == "text" and (found := list(_TEXT.finditer(text))):
        m = found[draw(st.integers(0, len(found) - 1))]
        value = _xml_escape(draw(st.sampled_from(INTERESTING) | st.text(_XML_CHARS, max_size=40)))
        return text[: m.start(1)] + value + text[m.end(1):]
    if kind == "element" and (found := list(_ELEMENT.finditer(text))):
        m = found[draw(st.integers(0, len(found) - 1))]
        times = draw(st.sampled_from([0, 2, 3]))
        return text[: m.start()] + m.group(0) * times + text[m.end():]
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, min(len(text), start + 200)))
    insert = draw(st.sampled_from(["", "<", ">", "&", "<!DOCTYPE x>", "<c r=\"A1\">", "</row>",
                                   "\x00", "\ud800"]) | st.text(max_size=20))
    return text[:start] + insert + text[end:]
