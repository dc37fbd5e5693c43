"""The hostile corpus: broken and malicious files through the real pipeline.

Every file is built by tests/hostile.py (nothing is downloaded). One `run_report` over an
inbox holding the whole corpus gives each file's status in eingaenge.csv and its findings in
befunde.csv; each case asserts its status, a German finding naming the file (rule id and a
message fragment) and the time its check took. Cases that need small limits go through
tests/support.check instead. The heavy ones (real bombs, 100,000 rows) run again in a child
process under a memory limit in test_hostile_limits.py.
"""

from __future__ import annotations

import binascii
import csv
import io
import os
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline import report
from pipeline.intake import TZ, Received
from pipeline.report import run_report
from pipeline.rules import files as file_rules
from pipeline.spec import Programme
from pipeline.template import Identity
from pipeline.template.model import Formula
from pipeline.template.sample import valid_data
from pipeline.validate import Checked
from tests import hostile as H
from tests.support import check, rules_of

STICHTAG = date(2026, 5, 15)
SECONDS_PER_FILE = 5.0
SEP = " › "


def ident(n: int, quartal: int = 2, projektjahr: int = 1) -> Identity:
    """A distinct application per accepted case, so that no case replaces another."""
    return Identity(f"064319{n:02d}", f"Kommune {n}", projektjahr, quartal)


# --- builders of the accepted-but-odd cases -------------------------------------------------


def numbers_as_text() -> bytes:
    who = ident(10)
    rows = valid_data(who).rows["tblBelege"]
    for row, typed in zip(rows, ["1.234,56 €", "42,80", "EUR 65"], strict=True):
        row["Betrag"] = typed
    return H.workbook_bytes(who, values={"TN_GESAMT": "12", "BERATUNGEN": " 31 ",
                                         "EA_AKTIV": "9,0"}, rows={"tblBelege": rows})


def dates_as_text() -> bytes:
    who = ident(11)
    data = valid_data(who)
    styles = ["%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y"]
    for row, style in zip(data.rows["tblBelege"], styles, strict=True):
        row["Belegdatum"] = row["Belegdatum"].strftime(style)
        row["Zahlungsdatum"] = row["Zahlungsdatum"].strftime("%d/%m/%Y")
    for row in data.rows["tblPersonal"]:
        row["Monat"] = row["Monat"].strftime("%d.%m.%Y")
    erkl = data.values["ERKL_DATUM"].strftime("%d.%m.%Y")
    return H.workbook_bytes(who, values={"ERKL_DATUM": erkl}, rows=data.rows)


def formulas_everywhere() -> bytes:
    who = ident(12)
    data = valid_data(who)
    values = {name: Formula(f"={value}+0", value) for name, value in data.values.items()
              if isinstance(value, int)}
    for row in data.rows["tblBelege"]:
        row["Betrag"] = Formula(f"={row['Betrag']}*1", float(row["Betrag"]))
        row["LfdNr"] = Formula(f"=ROW()-4+{row['LfdNr'] - 1}", row["LfdNr"])
    return H.workbook_bytes(who, values=values, rows=data.rows)


EMOJI_TEXT = "Begegnungscafé 🎉☕ – Ölmühle\u200b \u202eRTL\u202c"
CONTROL_TEXT = "Zeile eins\nZeile zwei\tmit Tab \x01\x07\x1b Ende"


def odd_characters() -> bytes:
    who = ident(13)
    rows = valid_data(who).rows["tblBelege"]
    rows[0]["Empfaenger"] = EMOJI_TEXT
    rows[1]["Zweck"] = CONTROL_TEXT
    return H.workbook_bytes(who, values={"SB_AUSBLICK": EMOJI_TEXT + "\n" + CONTROL_TEXT},
                            rows={"tblBelege": rows})


def longest_allowed_text() -> bytes:
    return H.workbook_bytes(ident(14), values={"SB_ERGEBNISSE": ("Wort " * 4000).strip() + "."})


def macros() -> bytes:
    return H.with_macros(H.valid_bytes(ident(15)))


def external_link() -> bytes:
    return H.with_external_link(H.valid_bytes(ident(16)), H.ANGABEN, "B16", "12")


def duplicate() -> bytes:
    return H.valid_bytes(ident(17))


# --- builders of broken cases ------------------------------------------------------------------


def valid() -> bytes:
    return H.valid_bytes(ident(30))


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def flipped(data: bytes) -> bytes:
    """Bytes flipped inside the compressed data of the largest member."""
    broken = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = max(zf.infolist(), key=lambda i: i.compress_size)
    start = info.header_offset + 30 + len(info.filename.encode())
    for at in range(start + 100, start + info.compress_size - 10, 97):
        broken[at] ^= 0xFF
    return bytes(broken)


def docx_like() -> bytes:
    return H.zip_bytes({
        "[Content_Types].xml": "<Types/>",
        "_rels/.rels": f'<Relationships xmlns="{H.PKG_NS}"><Relationship Id="r1" '
                       f'Type="{H.REL_NS}/officeDocument" Target="word/document.xml"/>'
                       "</Relationships>",
        "word/document.xml": "<document><body>Quartalsbericht</body></document>",
    })


def crowded() -> bytes:
    return H.rewrite(valid(), {f"xl/media/leer{i}.png": b"" for i in range(1000)})


def value_edit(old: str, new: str) -> Callable[[], bytes]:
    return lambda: H.edit(valid(), H.BELEGE, old, new)


def overlong_text() -> bytes:
    """A shared string longer than any Excel cell can hold (xlsxwriter would truncate it)."""
    return H.edit(valid(), H.SHARED, "<si><t>Honorar</t></si>",
                  f"<si><t>Honorar{'x' * 40_000}</t></si>")


def encrypted_member() -> bytes:
    data = H.raw_zip([
        e if e.name != H.SHARED else H.Entry(e.name, e.payload, e.size, e.crc)
        for e in H.entries_of(valid())
    ])
    # set general purpose bit 0 (encrypted) in the local and central header of the member
    patched = bytearray(data)
    name = H.SHARED.encode()
    for signature, flag_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        pos = patched.find(signature)
        while patched[pos + name_at: pos + name_at + len(name)] != name:
            pos = patched.find(signature, pos + 1)
        patched[pos + flag_at] |= 1
    return bytes(patched)


def mixed_case_duplicate() -> bytes:
    # two members whose names differ only in case: which one would Excel read?
    return H.raw_zip([*H.entries_of(valid()), H.entry("XL/Workbook.xml", b"<workbook/>")])


def billion_laughs(part: str) -> Callable[[], bytes]:
    return lambda: H.with_dtd(valid(), part, H.BILLION_LAUGHS, "lol9")


def xxe(part: str) -> Callable[[], bytes]:
    return lambda: H.with_dtd(valid(), part, H.XXE, "xxe")


# --- containers --------------------------------------------------------------------------------


def nested_zip_with_traversal() -> bytes:
    inner = H.zip_bytes({"../../x.xlsx": H.valid_bytes(ident(18))})
    return H.zip_bytes({"Q2/innen.zip": inner, "/etc/passwd": b"root:x:0:0"})


def zip_bomb_archive() -> bytes:
    return H.spaces_bomb(H.zip_bytes({"bericht.xlsx": b"x"}), "bericht.xlsx")


def deep_zip() -> bytes:
    blob = H.valid_bytes(ident(19))
    for level in range(5):
        blob = H.zip_bytes({f"ebene{level}.zip" if level else "bericht.xlsx": blob})
    return blob


def mail_quoted_printable() -> bytes:
    """An attachment in quoted-printable, a latin-1 encoded-word subject and file name."""
    # binary-safe: CR and LF are encoded (=0D, =0A), every line break is a soft one
    body = binascii.b2a_qp(H.valid_bytes(ident(20)), quotetabs=True, istext=False)
    return (b"From: =?ISO-8859-1?Q?J=FCrgen_M=FCller?= <j@kommune.example>\r\n"
            b"Subject: =?ISO-8859-1?Q?Bericht_f=FCr_M=E4rz?=\r\n"
            b"Date: Tue, 14 Apr 2026 09:30:00 +0200\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="grenze"\r\n\r\n'
            b"--grenze\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nAnbei.\r\n"
            b"--grenze\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n"
            b'Content-Disposition: attachment; filename="=?ISO-8859-1?Q?Bericht_M=E4rz.xlsx?="'
            b"\r\n\r\n" + body.replace(b"\n", b"\r\n") + b"\r\n--grenze--\r\n")


def mail_rfc2231_without_date() -> bytes:
    data = H.valid_bytes(ident(21))
    import base64

    return (b"From: kisi@kommune.example\r\nSubject: Bericht\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
            b"Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            b"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment;\r\n"
            b" filename*0*=iso-8859-1''Quartalsbericht%20Gro%DF;\r\n filename*1=stadt.xlsx\r\n"
            b"\r\n" + base64.encodebytes(data).replace(b"\n", b"\r\n") + b"--b--\r\n")


def mail_invalid_date() -> bytes:
    return H.mail([("Bericht.xlsx", H.valid_bytes(ident(22)), H.XLSX_MIME)],
                  date_header="gestern Abend")


def mail_too_deep() -> bytes:
    head = b"From: a@kommune.example\r\nMIME-Version: 1.0\r\n"
    for i in range(3000):
        head += f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
    return head + b"Content-Type: text/plain\r\n\r\nx\r\n"


# --- the corpus ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    name: str  # file name in the inbox
    build: Callable[[], bytes]
    status: str
    rule: str | None = None  # a finding of this rule names the file ...
    fragment: str = ""  # ... and its German message contains this
    datei: str | None = None  # as shown in eingaenge.csv when it is not `name`
    limits: dict[str, int] = field(default_factory=dict)  # run via support.check instead

    @property
    def shown(self) -> str:
        return self.datei or self.name


LAUGH_PARTS = {
    "workbook": H.WORKBOOK, "sharedstrings": H.SHARED, "sheet": H.ANGABEN,
    "styles": H.STYLES, "table": H.TABLE_BELEGE, "rels": H.WORKBOOK_RELS,
    "sheet-rels": "xl/worksheets/_rels/sheet4.xml.rels", "package-rels": "_rels/.rels",
    "theme": "xl/theme/theme1.xml", "docprops": "docProps/core.xml",
    "content-types": "[Content_Types].xml",
}

CASES = [
    # not a workbook at all
    Case("empty", "leer.xlsx", lambda: b"", "abgelehnt", "DATEI_LEER", "leer (0 Byte)"),
    Case("csv-renamed", "bericht.xlsx", lambda: b"ags;name\n06431901;Musterstadt\n",
         "abgelehnt", "DATEI_KEIN_EXCEL", "Text- oder CSV-Datei"),
    Case("html-renamed", "export.xlsx", lambda: b"<html><table><tr><td>1</td></tr></table>",
         "abgelehnt", "DATEI_KEIN_EXCEL", "HTML-Datei"),
    Case("text-file", "notiz.txt", lambda: b"Bericht folgt", "abgelehnt", "DATEI_TYP",
         "„notiz.txt“ ist keine Excel-Datei"),
    Case("old-xls", "bericht_alt.xls", lambda: H.OLD_XLS, "abgelehnt", "DATEI_XLS",
         "„Excel-Arbeitsmappe (.xlsx)“"),
    Case("password", "geheim.xlsx", lambda: H.ENCRYPTED, "abgelehnt", "DATEI_PASSWORT",
         "entfernen Sie das Kennwort"),
    Case("truncated", "abgeschnitten.xlsx", lambda: half(valid()), "abgelehnt",
         "DATEI_BESCHAEDIGT", "beschädigt oder unvollständig"),
    Case("flipped-bytes", "kaputt.xlsx", lambda: flipped(valid()), "abgelehnt",
         "DATEI_BESCHAEDIGT", "beschädigt"),
    Case("zip-not-workbook", "dokument.xlsx", docx_like, "abgelehnt",
         "DATEI_KEINE_ARBEITSMAPPE", "keine Excel-Arbeitsmappe"),
    Case("foreign-workbook", "haushalt.xlsx", H.foreign_workbook, "abgelehnt", "DATEI_FREMD",
         "kein KISI-Quartalsbericht"),
    Case("too-large", "riesig.xlsx", lambda: os.urandom(25_000_001), "abgelehnt",
         "DATEI_ZU_GROSS", "erlaubt sind höchstens 25 MB"),
    # zip bombs and zip tricks, default limits
    Case("bomb-declared", "bombe.xlsx", lambda: H.spaces_bomb(valid(), H.ANGABEN),
         "abgelehnt", "DATEI_ENTPACKT_ZU_GROSS", "2147483648 Byte"),
    Case("bomb-lying-header", "bombe_luegt.xlsx",
         lambda: H.spaces_bomb(valid(), H.ANGABEN, declared=20_000), "abgelehnt",
         "DATEI_BESCHAEDIGT", "CRC"),
    Case("bomb-ratio", "verhaeltnis.xlsx",
         lambda: H.rewrite(valid(), {H.ANGABEN: b" " * 5_000_000}), "abgelehnt",
         "DATEI_ENTPACKT_ZU_GROSS", "5000000 Byte aus"),
    Case("bomb-bzip2", "bzip2.xlsx",
         lambda: H.with_method(valid(), H.ANGABEN, zipfile.ZIP_BZIP2, b" " * 1_000_000),
         "abgelehnt", "DATEI_BESCHAEDIGT", "Komprimierungsverfahren 12"),
    Case("too-many-members", "teile.xlsx", crowded, "abgelehnt", "DATEI_ZU_VIELE_TEILE",
         "erlaubt sind 1000"),
    Case("encrypted-member", "zipcrypto.xlsx", encrypted_member, "abgelehnt",
         "DATEI_BESCHAEDIGT", "Kennwort"),
    Case("case-duplicate-member", "doppelteil.xlsx", mixed_case_duplicate, "abgelehnt",
         "DATEI_BESCHAEDIGT", "XL/Workbook.xml doppelt"),
    # XML: DTDs and entities in every kind of part, also parts we never parse
    *(Case(f"laughs-{kind}", f"lachen_{kind}.xlsx", billion_laughs(part), "abgelehnt",
           "DATEI_XML_UNZULAESSIG", f"DTD/Entitäten in {part}")
      for kind, part in LAUGH_PARTS.items()),
    Case("xxe-sharedstrings", "xxe_texte.xlsx", xxe(H.SHARED), "abgelehnt",
         "DATEI_XML_UNZULAESSIG", H.SHARED),
    Case("xxe-sheet", "xxe_blatt.xlsx", xxe(H.BELEGE), "abgelehnt", "DATEI_XML_UNZULAESSIG",
         H.BELEGE),
    Case("dtd-external", "dtd.xlsx", lambda: H.with_dtd(valid(), H.WORKBOOK, H.PLAIN_DTD),
         "abgelehnt", "DATEI_XML_UNZULAESSIG", H.WORKBOOK),
    Case("xml-malformed", "xml_kaputt.xlsx",
         lambda: H.edit(valid(), H.ANGABEN, "<sheetData>", "<sheetData><row>"), "abgelehnt",
         "DATEI_XML_FEHLERHAFT", H.ANGABEN),
    Case("cell-outside-grid", "xfe.xlsx", value_edit('r="H5"', 'r="XFE5"'), "abgelehnt",
         "DATEI_XML_FEHLERHAFT", "XFE5"),
    Case("table-range-outside-grid", "tabellenbereich.xlsx",
         lambda: H.edit(valid(), H.TABLE_BELEGE, 'ref="A4:H24"', 'ref="A4:H99999999999"'),
         "abgelehnt", "DATEI_XML_FEHLERHAFT", "table range"),
    Case("negative-totals-row", "summenzeile.xlsx",
         lambda: H.edit(valid(), H.TABLE_BELEGE, 'totalsRowShown="0"',
                        'totalsRowCount="-1000000000"'),
         "abgelehnt", "DATEI_XML_FEHLERHAFT", "row count"),
    Case("text-beyond-excel", "text_40000.xlsx", overlong_text, "abgelehnt",
         "DATEI_XML_FEHLERHAFT", "40007 Zeichen, erlaubt sind 32767"),
    # our template, damaged
    Case("names-deleted", "namen_weg.xlsx",
         lambda: H.drop_names(valid(), "TN_GESAMT", "SB_AUSBLICK"), "fehlerhaft",
         "STRUKTUR_NAME", "TN_GESAMT (Neue Teilnehmende insgesamt) fehlt"),
    Case("table-renamed", "tabelle_umbenannt.xlsx",
         lambda: H.edit(valid(), H.TABLE_BELEGE, 'displayName="tblBelege"',
                        'displayName="Tabelle2"'),
         "fehlerhaft", "STRUKTUR_TABELLE", "tblBelege"),
    Case("column-renamed", "spalte_umbenannt.xlsx",
         lambda: H.edit(valid(), H.TABLE_BELEGE, 'name="Betrag"', 'name="Summe"'),
         "fehlerhaft", "STRUKTUR_SPALTE", "„Betrag“"),
    Case("sheet-renamed", "blatt_umbenannt.xlsx",
         lambda: H.rename_sheet(valid(), "Angaben", "Tabelle1"), "fehlerhaft",
         "STRUKTUR_NAME", "verweist auf keine gültige Zelle (Angaben!$B$16)"),
    Case("sheet-deleted", "blatt_geloescht.xlsx",
         lambda: H.delete_sheet(valid(), "Sachbericht"), "fehlerhaft", "STRUKTUR_NAME",
         "(Sachbericht!$A$6)"),
    Case("merged-over-input", "verbunden.xlsx",
         lambda: H.merge_over(valid(), H.ANGABEN, "A16:B16", "B16"), "fehlerhaft",
         "PFLICHTFELD", "(TN_GESAMT) ist leer"),
    Case("excel-error-value", "fehlerwert.xlsx",
         lambda: H.workbook_bytes(ident(31), values={"TN_GESAMT": Formula("=1/0", "#DIV/0!")}),
         "fehlerhaft", "EXCEL_FEHLERWERT", "„#DIV/0!“"),
    Case("text-too-long", "sachbericht_lang.xlsx",
         lambda: H.workbook_bytes(ident(32), values={"SB_ERGEBNISSE": "x" * 20_001}),
         "fehlerhaft", "TEXT_ZU_LANG", "20001 Zeichen; erlaubt sind höchstens 20000"),
    Case("number-1e30", "betrag_1e30.xlsx", value_edit("<v>480</v>", "<v>1E30</v>"),
         "fehlerhaft", "TYP", "„1E30“"),
    Case("number-nan", "betrag_nan.xlsx", value_edit("<v>480</v>", "<v>NaN</v>"),
         "fehlerhaft", "TYP", "„NaN“"),
    Case("number-huge-exponent", "betrag_exp.xlsx",
         value_edit("<v>480</v>", "<v>1E999999999</v>"), "fehlerhaft", "TYP", "1E999999999"),
    # odd but fine: read, used, with notes
    Case("numbers-as-text", "zahlen_als_text.xlsx", numbers_as_text, "verwendet",
         "ZAHL_ALS_TEXT", "„1.234,56 €“ als Text eingegeben und als 1.234,56 gelesen"),
    Case("dates-as-text", "daten_als_text.xlsx", dates_as_text, "verwendet", "ZAHL_ALS_TEXT",
         "als Text eingegeben"),
    Case("formulas-everywhere", "formeln.xlsx", formulas_everywhere, "verwendet",
         "FORMEL_WERT", "verwendet wird ihr gespeicherter Wert"),
    Case("external-link", "extern.xlsx", external_link, "verwendet", "DATEI_EXTERNE_BEZUEGE",
         "1 Bezug/Bezüge auf andere Dateien"),
    Case("macros", "makros.xlsm", macros, "verwendet", "DATEI_MAKROS",
         "Makros werden nie ausgeführt"),
    Case("emoji-and-control-characters", "zeichen.xlsx", odd_characters, "verwendet"),
    Case("longest-allowed-text", "sachbericht_20000.xlsx", longest_allowed_text, "verwendet"),
    Case("same-bytes-original", "bericht.xlsx", duplicate, "verwendet", datei="a/bericht.xlsx"),
    Case("same-bytes-copy", "Kopie von bericht.xlsx", duplicate, "doppelt",
         datei="b/Kopie von bericht.xlsx"),
    Case("non-utf8-file-name", "nicht-utf8", lambda: H.valid_bytes(ident(23)), "verwendet",
         datei="Bericht \ufffd\ufffd.xlsx"),
    # containers: archives and e-mails
    Case("zip-traversal-member", "sammlung.zip", nested_zip_with_traversal, "verwendet",
         datei=f"sammlung.zip{SEP}Q2/innen.zip{SEP}../../x.xlsx"),
    Case("zip-absolute-member", "sammlung.zip", nested_zip_with_traversal, "abgelehnt",
         "DATEI_TYP", "„passwd“ ist keine Excel-Datei", datei=f"sammlung.zip{SEP}/etc/passwd"),
    Case("zip-too-deep", "tief.zip", deep_zip, "abgelehnt", "ARCHIV_ZU_TIEF",
         "mehr als 3 ineinander verschachtelte Archive",
         datei=SEP.join(["tief.zip", "ebene4.zip", "ebene3.zip", "ebene2.zip"])),
    Case("zip-bomb-archive", "paket.zip", zip_bomb_archive, "abgelehnt", "ARCHIV_UNLESBAR",
         "2147483648 Byte"),
    Case("zip-empty", "leer.zip", lambda: H.zip_bytes({}), "abgelehnt", "ARCHIV_LEER",
         "enthält keine Dateien"),
    Case("mail-quoted-printable", "qp.eml", mail_quoted_printable, "verwendet",
         datei=f"qp.eml{SEP}Bericht März.xlsx"),
    Case("mail-rfc2231-no-date", "ohne_datum.eml", mail_rfc2231_without_date, "verwendet",
         datei=f"ohne_datum.eml{SEP}Quartalsbericht Großstadt.xlsx"),
    Case("mail-invalid-date", "datum_kaputt.eml", mail_invalid_date, "verwendet",
         datei=f"datum_kaputt.eml{SEP}Bericht.xlsx"),
    Case("mail-too-deep", "verschachtelt.eml", mail_too_deep, "abgelehnt", "EMAIL_OHNE_ANHANG",
         "zu tief verschachtelt"),
    # small limits instead of huge files (tests/support.check)
    Case("too-many-cells", "zellen.xlsx", valid, "abgelehnt", "DATEI_ZU_VIELE_ZELLEN",
         "mehr Zellen als erlaubt", limits={"max_cells": 500}),
    Case("too-many-rows", "zeilen.xlsx", lambda: H.big_table(valid(), 60), "fehlerhaft",
         "TABELLE_ZU_GROSS", "hat 63 Zeilen; ausgewertet werden höchstens 50",
         limits={"max_table_rows": 50}),
    Case("too-many-strings", "texte.xlsx", valid, "abgelehnt", "DATEI_ZU_VIELE_ZELLEN",
         "Texte", limits={"max_cells": 100}),
    Case("same-part-parsed-again", "xml_menge.xlsx", lambda: H.repeated_part(valid(), "rId4", 50),
         "abgelehnt", "DATEI_ENTPACKT_ZU_GROSS", "zusammen mehr als 200000 Byte XML",
         limits={"max_total_bytes": 200_000}),
]
INBOX_CASES = [c for c in CASES if not c.limits]
FILE_TIME = datetime(2026, 4, 2, 9, 0, tzinfo=TZ)


@dataclass
class Outcome:
    out: Path
    root: Path
    status: dict[str, str]
    eingang: dict[str, str]
    findings: list[dict[str, str]]
    seconds: dict[str, float]
    total_seconds: float


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _write_inbox(box: Path) -> None:
    written: set[str] = set()
    for case in INBOX_CASES:
        target = case.shown.split(SEP)[0] if SEP in case.shown else case.shown
        if target in written:
            continue
        written.add(target)
        data = case.build()
        if case.id == "non-utf8-file-name":
            path = Path(os.fsdecode(os.fsencode(box) + b"/Bericht \xe4\xfc.xlsx"))
        else:
            path = box / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (FILE_TIME.timestamp(), FILE_TIME.timestamp()))


_REAL_CHECK = report.check_received


def timed_check(received: Received, prog: Programme, known: frozenset[str] | None) -> Checked:
    """The real check, measured where it runs (a worker process of the pool); the time
    travels back with the result."""
    started = time.perf_counter()
    checked = _REAL_CHECK(received, prog, known)
    checked.seconds = time.perf_counter() - started
    return checked


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    root = tmp_path_factory.mktemp("corpus")
    box = root / "eingang"
    box.mkdir()
    _write_inbox(box)
    seconds: dict[str, float] = {}
    real_check_all = report.check_all

    def check_all(received: list[Received], check: object, prog: Programme,
                  known: frozenset[str] | None, *args: object, **kwargs: object) -> list[Checked]:
        assert check is _REAL_CHECK
        results = real_check_all(received, timed_check, prog, known, *args, **kwargs)
        seconds.update((r.datei, getattr(c, "seconds", 0.0))
                       for r, c in zip(received, results, strict=True))
        return results

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(report, "check_all", check_all)
        started = time.perf_counter()
        run_report(box, root / "ausgabe", None, STICHTAG)
        total = time.perf_counter() - started
    rows = _csv(root / "ausgabe" / "eingaenge.csv")
    return Outcome(root / "ausgabe", root, {r["datei"]: r["status"] for r in rows},
                   {r["datei"]: r["eingang"] for r in rows},
                   _csv(root / "ausgabe" / "befunde.csv"), seconds, total)


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", INBOX_CASES, ids=lambda c: c.id)
def test_case_through_the_pipeline(case: Case, corpus: Outcome) -> None:
    assert corpus.status.get(case.shown) == case.status, (case.shown, corpus.status)
    mine = [f for f in corpus.findings if f["datei"] == case.shown]
    if case.rule:
        hits = [f for f in mine if f["regel"] == case.rule and case.fragment in f["meldung"]]
        assert hits, [(f["regel"], f["meldung"]) for f in mine]
    if case.status == "verwendet":
        assert not [f for f in mine if f["schwere"] == "Fehler"], mine
    assert corpus.seconds[case.shown] <= SECONDS_PER_FILE, corpus.seconds[case.shown]


@pytest.mark.parametrize("case", [c for c in CASES if c.limits], ids=lambda c: c.id)
def test_case_with_small_limits(case: Case, tmp_path: Path) -> None:
    path = tmp_path / case.name
    path.write_bytes(case.build())
    started = time.perf_counter()
    checked = check(path, **case.limits)
    assert time.perf_counter() - started <= SECONDS_PER_FILE
    assert checked.readable is (case.status != "abgelehnt")
    assert (checked.errors > 0) is (case.status != "verwendet")
    hits = [f for f in checked.findings if f.regel == case.rule and case.fragment in f.meldung]
    assert hits and all(f.datei == case.name for f in hits), rules_of(checked)


def test_every_file_level_rule_is_exercised(corpus: Outcome, tmp_path: Path) -> None:
    expected = {r.id for r in file_rules.UNREADABLE.values()}
    expected |= {r.id for r in file_rules.CONTAINER.values()}
    expected |= {file_rules.FOREIGN.id, file_rules.NOT_EXCEL_NAME.id, file_rules.MACROS.id,
                 file_rules.EXTERNAL.id, "EXCEL_FEHLERWERT"}
    seen = {f["regel"] for f in corpus.findings}
    seen |= {c.rule for c in CASES if c.limits}
    assert expected <= seen, sorted(expected - seen)


def test_the_whole_corpus_is_fast(corpus: Outcome) -> None:
    assert corpus.total_seconds <= 60, corpus.total_seconds


def test_findings_name_the_file_and_are_german(corpus: Outcome) -> None:
    shown = set(corpus.status)
    for f in corpus.findings:
        assert f["datei"] in shown
        assert f["meldung"][:1].isupper() or f["meldung"][:1] == "„", f
        assert f["meldung"].rstrip().endswith((".", ")")), f
        assert not f["meldung"].startswith(("Traceback", "Error")), f


def test_numbers_typed_as_text_are_not_lost(corpus: Outcome) -> None:
    rows = _csv(corpus.out / "kennzahlen.csv")
    figure = {r["kennzahl"]: Decimal(r["wert"]) for r in rows
              if (r["projekt_ags"], r["projektjahr"], r["quartal"]) == (ident(10).ags, "1", "2")}
    assert figure["honorar_gemeldet"] == Decimal("1234.56")
    assert figure["ehrenamt_gemeldet"] == Decimal("107.80")
    assert figure["tn_gesamt"] == 12 and figure["beratungen"] == 31


def test_formulas_give_their_cached_values(corpus: Outcome) -> None:
    rows = _csv(corpus.out / "kennzahlen.csv")
    figure = {r["kennzahl"]: Decimal(r["wert"]) for r in rows
              if (r["projekt_ags"], r["projektjahr"], r["quartal"]) == (ident(12).ags, "1", "2")}
    assert figure["honorar_gemeldet"] == Decimal("480.00") and figure["tn_gesamt"] == 12
    linked = {r["kennzahl"]: r["wert"] for r in rows
              if (r["projekt_ags"], r["projektjahr"], r["quartal"]) == (ident(16).ags, "1", "2")}
    assert linked["tn_gesamt"] == "12"


def test_mail_dates_and_file_times(corpus: Outcome) -> None:
    qp = f"qp.eml{SEP}Bericht März.xlsx"
    assert corpus.eingang[qp] == "2026-04-14T09:30:00+02:00"
    for datei in (f"ohne_datum.eml{SEP}Quartalsbericht Großstadt.xlsx",
                  f"datum_kaputt.eml{SEP}Bericht.xlsx"):
        assert corpus.eingang[datei] == FILE_TIME.isoformat()


def test_nothing_is_written_outside_the_output_folder(corpus: Outcome) -> None:
    made = {p.relative_to(corpus.root).parts[0] for p in corpus.root.rglob("*")}
    assert made == {"eingang", "ausgabe"}
    assert not list(corpus.root.parent.glob("x.xlsx"))
    objects = corpus.out / "eingangsarchiv" / "objects"
    for path in objects.rglob("*"):
        if path.is_file():
            assert len(path.name) == 64 and path.parent.name == path.name[:2]
    assert not [p for p in corpus.out.rglob("*") if p.name in ("x.xlsx", "passwd")]


def test_macros_are_never_copied_into_outputs(corpus: Outcome) -> None:
    objects = corpus.out / "eingangsarchiv" / "objects"
    kept = [p for p in objects.rglob("*") if p.is_file() and _holds_vba(p)]
    assert kept, "the raw .xlsm is kept in the store by design"
    for path in corpus.out.rglob("*"):
        if path.is_file() and objects not in path.parents:
            assert "vbaproject" not in path.name.lower()
            assert not _holds_vba(path), path


def _holds_vba(path: Path) -> bool:
    data = path.read_bytes()
    if b"vbaProject" in data or H.VBA_PROJECT[-40:] in data:
        return True
    if data.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as zf:
                return any("vbaproject" in n.lower() for n in zf.namelist())
        except zipfile.BadZipFile:
            return False
    return False


def test_odd_characters_survive_into_the_outputs(corpus: Outcome) -> None:
    import openpyxl

    book = openpyxl.load_workbook(corpus.out / "bericht_ministerium.xlsx", read_only=True)
    texts = {str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True)
             for c in row if isinstance(c, str)}
    book.close()
    assert any(EMOJI_TEXT in t for t in texts)
    assert any("\x01\x07\x1b" in t or "_x0001_" in t for t in texts)
    for name in ("befunde.csv", "eingaenge.csv", "kennzahlen.csv"):
        data = (corpus.out / name).read_bytes()
        data.decode("utf-8")  # strict: no surrogates, no stray bytes
        assert len(_csv(corpus.out / name)) >= 1

