"""Feedback per submission: the clerk's marked-up workbook, the confirmation, email drafts."""

from __future__ import annotations

import email
import hashlib
import os
import subprocess
import warnings
import zipfile
from datetime import date, datetime
from email.policy import default
from pathlib import Path

import openpyxl
import pytest

from pipeline.feedback import FOLDER, write_feedback
from pipeline.feedback.mail import draft
from pipeline.feedback.markup import mark_up
from pipeline.feedback.model import COLOURS, ReportInfo, result_text
from pipeline.findings import Finding, Severity
from pipeline.intake import TZ
from pipeline.report import run_report
from pipeline.spec import load_programme
from pipeline.template import Formula, Identity, build_workbook
from pipeline.template.libreoffice import XLSX_FILTER, soffice_path
from pipeline.template.sample import MUSTERSTADT, valid_data
from tests.support import check

PROG = load_programme()
STAND = datetime(2026, 5, 15, 8, 0, tzinfo=TZ)
# Several mistakes at once: a formula with a cached value (FORMEL_WERT), a sum that does not
# add up, a "davon" too large, a text that looks like a formula, no declaration; in the
# receipts a payment after the quarter, a cost kind not in the list, an amount typed as text
# and one that is text and negative (a note and an error on the same cell).
MISTAKES = {
    "TN_GESAMT": Formula("TN_WEIBLICH+TN_MAENNLICH+TN_DIVERS+TN_OHNE_ANGABE", 12),
    "TN_UNTER_18": 5,
    "TN_SPRACHKURS": 40,
    "EMAIL": '=HYPERLINK("http://example.invalid")',
    "ERKL_BESTAETIGT": "",
}


def _faulty(make_workbook) -> Path:
    rows = valid_data(MUSTERSTADT).rows["tblBelege"]
    rows[0]["Betrag"] = "1.234,56 €"
    rows[1]["Zahlungsdatum"] = date(2026, 4, 12)
    rows[2]["Kostenart"] = "Sachkosten"
    rows[2]["Betrag"] = "-5,00"
    return make_workbook(values=MISTAKES, rows={"tblBelege": rows})


def _info(path: Path, findings: list[Finding], **extra) -> ReportInfo:
    return ReportInfo(path.name, hashlib.sha256(path.read_bytes()).hexdigest(), "06431901",
                      "Musterstadt", "PJ1 Q2 (01.01.2026–31.03.2026)",
                      datetime(2026, 4, 20, 10, 12, tzinfo=TZ), result_text(findings),
                      date(2026, 4, 30), STAND, **extra)


def _mark(path: Path, out: Path, **extra) -> tuple[list[Finding], Path]:
    findings = check(path).findings
    return findings, mark_up(path.read_bytes(), findings, out, _info(path, findings, **extra))


def _values(path: Path, blank_is_none: bool = False) -> tuple[dict, dict]:
    """Everything our reader takes from a workbook: every field and every table row."""
    sub = check(path).submission

    def value(v):
        return None if blank_is_none and v.value == "" else v.value

    fields = {n: (value(v), v.raw, v.problem, v.formula) for n, v in sub.fields.items()}
    tables = {t: [(r.number, {c: (value(v), v.raw, v.problem) for c, v in r.values.items()})
                  for r in rows] for t, rows in sub.tables.items()}
    return fields, tables


def _places(findings: list[Finding]) -> list[tuple]:
    return [(f.regel, f.schwere, f.blatt, f.zelle, f.meldung) for f in findings]


def _structure(path: Path) -> dict:
    wb = openpyxl.load_workbook(path)
    sheets = [ws for ws in wb.worksheets if ws.title != "Prüfbericht"]
    return {
        "names": {n: d.attr_text for n, d in wb.defined_names.items()},
        "tables": {t.name: (ws.title, t.ref) for ws in sheets for t in ws.tables.values()},
        "validations": {ws.title: sorted((str(dv.sqref), dv.type or "", dv.formula1 or "")
                                         for dv in ws.data_validations.dataValidation)
                        for ws in sheets},
        "protected": {ws.title: bool(ws.protection.sheet) for ws in sheets},
        "formats": {(ws.title, c.coordinate): c.number_format for ws in sheets
                    for row in ws.iter_rows() for c in row if c.value is not None},
    }


def test_marked_copy_reads_back_to_the_same_values(make_workbook, tmp_path):
    original = _faulty(make_workbook)
    findings, marked = _mark(original, tmp_path / "marked.xlsx")
    assert {f.regel for f in findings} >= {"FORMEL_WERT", "SUMME", "DAVON", "ERKLAERUNG",
                                           "DATUM_QUARTAL", "LISTE", "ZAHL_ALS_TEXT",
                                           "BEREICH", "EMAIL_FORMAT"}
    assert _values(marked) == _values(original)
    assert _places(check(marked).findings) == _places(findings)
    assert _structure(marked) == _structure(original)


def test_cells_are_filled_and_commented_most_severe_first(make_workbook, tmp_path):
    findings, marked = _mark(_faulty(make_workbook), tmp_path / "marked.xlsx")
    wb = openpyxl.load_workbook(marked)
    by_cell: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        by_cell.setdefault((f.blatt, f.zelle), []).append(f)
    assert any(len({f.schwere for f in fs}) > 1 for fs in by_cell.values())
    for (sheet, ref), fs in by_cell.items():
        cell = wb[sheet][ref]
        worst = min((f.schwere for f in fs), key=lambda s: s.rank)
        assert cell.fill.fgColor.rgb == COLOURS[worst], (sheet, ref)
        assert cell.comment.author == "KISI-Prüfung"
        assert all(f.meldung in cell.comment.text for f in fs)
    assert wb["Angaben"].protection.sheet  # locked cells carry marks, protection stays


def test_pruefbericht_is_first_with_links_and_title(make_workbook, tmp_path):
    findings, marked = _mark(_faulty(make_workbook), tmp_path / "marked.xlsx")
    wb = openpyxl.load_workbook(marked)
    assert wb.sheetnames[0] == "Prüfbericht" and wb.active.title == "Prüfbericht"
    assert [ws.title for ws in wb.worksheets if ws.sheet_view.tabSelected] == ["Prüfbericht"]
    ws = wb["Prüfbericht"]
    text = "\n".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v)
    for part in ("06431901 Musterstadt", "PJ1 Q2", "06431901_PJ1_Q2.xlsx", "20.04.2026",
                 "30.04.2026", "Ergebnis", "Nicht verwendbar", "1 Warnung"):
        assert part in text, part
    links = {c.hyperlink.location for row in ws.iter_rows() for c in row if c.hyperlink}
    assert links == {f"'{f.blatt}'!{f.zelle}" for f in findings if f.zelle}
    listed = [row[5].value for row in ws.iter_rows() if row[5].value in
              {f.meldung for f in findings}]
    assert len(listed) == len(findings)
    assert listed[0] in {f.meldung for f in findings if f.schwere is Severity.ERROR}


def test_municipal_text_never_becomes_a_formula(make_workbook, tmp_path):
    path = make_workbook()
    finding = Finding("TYP", Severity.ERROR, '=HYPERLINK("http://x","klick")', blatt="Angaben",
                      zelle="B12")
    info = ReportInfo(datei="=1+2.xlsx", sha256="ab", name="=SUM(A1)")
    mark_up(path.read_bytes(), [finding], tmp_path / "m.xlsx", info)
    with zipfile.ZipFile(tmp_path / "m.xlsx") as zf:
        report = zf.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in report and "=1+2.xlsx" in report and "=SUM(A1)" in report


def test_findings_without_a_cell_are_listed_without_a_link(make_workbook, tmp_path):
    path = make_workbook()
    loose = [Finding("DATEI_MAKROS", Severity.NOTE, "Makros ignoriert."),
             Finding("STRUKTUR_TABELLE", Severity.ERROR, "Tabelle fehlt.", blatt="Belege"),
             Finding("TYP", Severity.ERROR, "Blatt gibt es nicht.", blatt="Weg", zelle="A1")]
    mark_up(path.read_bytes(), loose, tmp_path / "m.xlsx", _info(path, loose))
    ws = openpyxl.load_workbook(tmp_path / "m.xlsx")["Prüfbericht"]
    assert not [c for row in ws.iter_rows() for c in row if c.hyperlink]
    assert sum(1 for row in ws.iter_rows(values_only=True) if row[5] in
               {f.meldung for f in loose}) == 3


def test_macros_are_never_copied(make_workbook, tmp_path):
    path = make_workbook()
    macro = tmp_path / "mit_makro.xlsm"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(macro, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
            dst.writestr(item, data)
        dst.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not really a macro")
    findings, marked = _mark(macro, tmp_path / "m.xlsx")
    assert "DATEI_MAKROS" in {f.regel for f in findings}
    with zipfile.ZipFile(marked) as zf:
        assert "xl/vbaProject.bin" not in zf.namelist()
        assert b"macroEnabled" not in zf.read("[Content_Types].xml")


def test_resubmitted_marked_copy_is_marked_afresh(make_workbook, tmp_path):
    """The clerk corrects the marked copy and sends it back: cells she fixed lose their
    mark and comment, her own comment survives, there is one Prüfbericht."""
    original = make_workbook(values={"TN_SPRACHKURS": 40, "TN_WEIBLICH": 9})
    wb = openpyxl.load_workbook(original)
    wb["Angaben"]["B33"].comment = openpyxl.comments.Comment("Zahl vom Träger", "Erika")
    wb.save(tmp_path / "with_comment.xlsx")
    first_yellow = wb["Angaben"]["B33"].fill.fgColor.rgb
    _, marked = _mark(tmp_path / "with_comment.xlsx", tmp_path / "round1.xlsx")
    wb = openpyxl.load_workbook(marked)
    assert wb["Angaben"]["B33"].fill.fgColor.rgb == COLOURS[Severity.ERROR]
    assert "Zahl vom Träger" in wb["Angaben"]["B33"].comment.text
    wb["Angaben"]["B33"].value = 4  # corrected; TN_WEIBLICH still wrong
    wb.save(tmp_path / "resent.xlsx")
    findings, again = _mark(tmp_path / "resent.xlsx", tmp_path / "round2.xlsx")
    assert {f.regel for f in findings} == {"SUMME"}
    wb = openpyxl.load_workbook(again)
    assert wb.sheetnames.count("Prüfbericht") == 1 and wb.sheetnames[0] == "Prüfbericht"
    fixed = wb["Angaben"]["B33"]
    assert fixed.fill.fgColor.rgb == first_yellow
    assert fixed.comment.text == "Zahl vom Träger" and fixed.comment.author == "Erika"
    assert wb["Angaben"]["B16"].fill.fgColor.rgb == COLOURS[Severity.ERROR]


def _libreoffice_resave(source: Path, out_dir: Path, profile: Path) -> Path:
    done = subprocess.run(
        [soffice_path(), "--headless", f"-env:UserInstallation=file://{profile}",
         "--convert-to", XLSX_FILTER, "--outdir", str(out_dir), str(source)],
        capture_output=True, text=True, timeout=180, check=False)
    result = out_dir / (source.stem + ".xlsx")
    assert done.returncode == 0 and result.exists(), done.stderr
    return result


def test_libreoffice_keeps_marks_and_values(libreoffice, make_workbook, tmp_path):
    if not libreoffice:
        warnings.warn("KISI_NO_LIBREOFFICE=1: LibreOffice round trip not checked", stacklevel=1)
        return
    original = _faulty(make_workbook)
    findings, marked = _mark(original, tmp_path / "marked.xlsx")
    resaved = _libreoffice_resave(marked, tmp_path / "lo_out", tmp_path / "lo")
    # Calc stores a cell holding "" as an empty cell: both are blank to every rule.
    fields, tables = _values(resaved, blank_is_none=True)
    want_fields, want_tables = _values(original, blank_is_none=True)
    assert tables == want_tables
    formula = "TN_GESAMT"  # Calc stores its own spelling of a formula; value and cell stay
    assert fields.pop(formula)[0] == want_fields.pop(formula)[0] == 12
    assert fields == want_fields
    wb = openpyxl.load_workbook(resaved)
    assert wb.sheetnames[0] == "Prüfbericht"
    links = {c.hyperlink.location for row in wb["Prüfbericht"].iter_rows() for c in row
             if c.hyperlink}
    assert links == {f"'{f.blatt}'!{f.zelle}" for f in findings if f.zelle}
    f = next(f for f in findings if f.regel == "SUMME")
    cell = wb[f.blatt][f.zelle]
    assert cell.fill.fgColor.rgb == COLOURS[Severity.ERROR] and f.meldung in cell.comment.text


def test_mail_draft_parses_back(tmp_path):
    attachment = tmp_path / "a.xlsx"
    attachment.write_bytes(b"PK\x03\x04 workbook bytes")
    raw = draft("a@musterstadt.example", "KISI-Quartalsbericht PJ1 Q2 – Musterstadt: 2 Fehler",
                "Guten Tag,\nÜberprüfung mit Umlauten: äöüß €\n", attachment, date=STAND,
                sha256="ab" * 32, attachment_name="06431901_PJ1_Q2_Prüfbericht.xlsx")
    assert b"\r\n" in raw and b"filename*=utf-8''06431901_PJ1_Q2_Pr%C3%BCfbericht.xlsx" in raw
    msg = email.message_from_bytes(raw, policy=default)
    assert msg["To"] == "a@musterstadt.example" and msg["X-Unsent"] == "1"
    assert msg["Subject"] == "KISI-Quartalsbericht PJ1 Q2 – Musterstadt: 2 Fehler"
    assert msg["Date"].datetime == STAND and "abab" in msg["Message-ID"]
    assert "äöüß €" in msg.get_body(("plain",)).get_content()
    (part,) = list(msg.iter_attachments())
    assert part.get_content_type() == ("application/vnd.openxmlformats-officedocument."
                                       "spreadsheetml.sheet")
    assert part.get_filename() == "06431901_PJ1_Q2_Prüfbericht.xlsx"
    assert part.get_content() == attachment.read_bytes()
    again = draft("a@musterstadt.example", msg["Subject"], "Guten Tag,\nÜberprüfung mit "
                  "Umlauten: äöüß €\n", attachment, date=STAND, sha256="ab" * 32,
                  attachment_name="06431901_PJ1_Q2_Prüfbericht.xlsx")
    assert again == raw
    with pytest.raises(ValueError):
        draft("a@x.example\nBcc: b@y.example", "x", "y", None, date=STAND, sha256="ab")


# ------------------------------------------------------------------ write_feedback
REGISTRY = """ags;name;landkreis;einwohner;verbund_ags;bewilligung_eur;email
06431901;Musterstadt;Bergstraße;20000;;290657.90;integration@musterstadt.example
06431902;Beispielheim;Bergstraße;15000;;290657.90;
"""
BEISPIELHEIM = Identity("06431902", "Beispielheim", 1, 1)


def _received(path: Path, day: int) -> Path:
    stamp = datetime(2026, 4, day, 9, 30, tzinfo=TZ).timestamp()
    os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def report(make_workbook, tmp_path):
    box = tmp_path / "eingang"
    box.mkdir()
    faulty = _faulty(make_workbook)
    _received(faulty.replace(box / "bericht_musterstadt.xlsx"), 3)
    q3 = Identity("06431901", "Musterstadt", 1, 3)
    _received(build_workbook(box / "06431901_PJ1_Q3.xlsx", q3, valid_data(q3)), 4)
    data = valid_data(BEISPIELHEIM)
    data.values["EMAIL"] = "kein Name <guide@beispielheim.example>; zweite@beispielheim.example"
    _received(build_workbook(box / "06431902_PJ1_Q1.xlsx", BEISPIELHEIM, data), 5)
    (box / "Teilnehmer.csv").write_text("Name;Wert\nx;1\n", encoding="utf-8")
    _received(box / "Teilnehmer.csv", 6)
    registry = tmp_path / "verzeichnis.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    out = tmp_path / "ausgabe"
    return run_report(box, out, registry, date(2026, 5, 15)), out


def _mails(folder: Path) -> dict[str, email.message.EmailMessage]:
    return {p.name: email.message_from_bytes(p.read_bytes(), policy=default)
            for p in sorted(folder.glob("*.eml"))}


def test_write_feedback_writes_markup_confirmation_and_drafts(report):
    result, out = report
    paths = write_feedback(result, out, PROG)
    folder = out / FOLDER
    assert sorted(p.name for p in paths) == sorted(p.name for p in folder.iterdir())
    faulty = next(e for e in result.entries if e.received.datei == "bericht_musterstadt.xlsx")
    base = f"06431901_PJ1_Q2_{faulty.received.sha256[:8]}"
    assert (folder / f"{base}.xlsx").exists()
    mails = _mails(folder)
    msg = mails[f"{base}.eml"]
    assert msg["To"] == "integration@musterstadt.example"
    assert msg["Subject"] == ("KISI-Quartalsbericht PJ1 Q2 – Musterstadt: 6 Fehler, "
                              "1 Warnung, 3 Hinweise")
    body = msg.get_body(("plain",)).get_content()
    assert "„bericht_musterstadt.xlsx“ am 03.04.2026, 09:30 Uhr" in body
    assert body.index("1. Fehler – Blatt") < body.index("3. Fehler")
    assert "Weitere 7 Punkte" in body and "rot markierten Zellen" in body
    assert "bis zum 30.04.2026" not in body and "30.04.2026 ist bereits verstrichen" in body
    assert body.rstrip().endswith("Ihr KISI-Team im HMSI, Referat V2")
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_content() == (folder / f"{base}.xlsx").read_bytes()
    assert attachment.get_filename() == "06431901_PJ1_Q2_Prüfbericht.xlsx"
    confirmation = next(m for m in mails.values() if "PJ1 Q3" in m["Subject"])
    assert confirmation["Subject"].endswith("Eingang bestätigt, vollständig")
    assert "Personalausgaben (gemeldet):" in confirmation.get_body(("plain",)).get_content()
    fallback = next(m for m in mails.values() if "Beispielheim" in m["Subject"])
    assert fallback["To"] == "guide@beispielheim.example, zweite@beispielheim.example"
    rejected = [name for name in mails if name.startswith("unbekannt_")]
    assert len(rejected) == 1 and not (folder / rejected[0]).with_suffix(".xlsx").exists()
    assert mails[rejected[0]]["To"] is None
    assert "keine E-Mail-Adresse" in mails[rejected[0]].get_body(("plain",)).get_content()


def test_rerun_gives_identical_bytes_and_drops_stale_files(report, tmp_path):
    result, out = report
    first = {p.name: p.read_bytes() for p in write_feedback(result, out, PROG)}
    stale = out / FOLDER / "06431999_PJ1_Q1_deadbeef.eml"
    stale.write_text("alt", encoding="utf-8")
    mine = out / FOLDER / "notizen.txt"
    mine.write_text("bleibt", encoding="utf-8")
    second = {p.name: p.read_bytes() for p in write_feedback(result, out, PROG)}
    assert first == second
    assert not stale.exists() and mine.exists()


def test_names_come_from_checked_values_only(make_workbook, tmp_path):
    box = tmp_path / "eingang"
    box.mkdir()
    evil = make_workbook(values={"PROJEKT_AGS": "../../x"}, filename="..bericht.xlsx")
    evil.replace(box / "bericht.xlsx")
    result = run_report(box, tmp_path / "out", None, date(2026, 5, 15))
    paths = write_feedback(result, tmp_path / "out", PROG)
    assert paths and all(p.parent == tmp_path / "out" / FOLDER for p in paths)
    assert all(p.name.startswith("unbekannt_") for p in paths)


def test_control_characters_in_a_file_name_do_not_stop_the_run(make_workbook, tmp_path):
    """An attachment or archive member may be named with control characters (which XML,
    and so a workbook, cannot hold): the feedback shows them as U+FFFD instead of failing."""
    box = tmp_path / "eingang"
    box.mkdir()
    (box / "bericht\x07\x1b[31m.xlsx").write_bytes(_faulty(make_workbook).read_bytes())
    result = run_report(box, tmp_path / "out", None, date(2026, 5, 15))
    assert [e.status for e in result.entries] == ["fehlerhaft"]
    marked = next((tmp_path / "out" / FOLDER).glob("*.xlsx"))
    sheet = openpyxl.load_workbook(marked).worksheets[0]
    shown = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert any("bericht\ufffd\ufffd[31m.xlsx" in v for v in shown)
