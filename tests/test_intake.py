"""Intake from what analysts receive: e-mails, zip archives, a store and a ledger."""

from __future__ import annotations

import csv
import io
import sqlite3
import zipfile
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import main
from pipeline.report import run_report
from pipeline.template.sample import MUSTERSTADT
from tests.test_report import REGISTRY

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _mail(attachments: list[tuple[str, bytes, str]], subject: str = "KISI Bericht",
          when: datetime = datetime(2026, 4, 20, 8, 15, tzinfo=UTC)) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Erika Mustermann <integration@musterstadt.example>"
    msg["To"] = "kisi@ministerium.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg.set_content("Sehr geehrte Damen und Herren,\nanbei unser Bericht.\n")
    for name, data, mime in attachments:
        maintype, subtype = mime.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _run(tmp_path: Path, box: Path, out: str = "out"):
    registry = tmp_path / "r.csv"
    registry.write_text(REGISTRY, encoding="utf-8")
    return run_report(box, tmp_path / out, registry, date(2026, 5, 15))


def test_mail_attachment_is_a_submission_dated_by_the_mail(make_workbook, tmp_path):
    box = tmp_path / "in"
    box.mkdir()
    data = make_workbook().read_bytes()
    # RFC 2231 file name with umlauts, encoded-word subject
    (box / "bericht.eml").write_bytes(_mail([("Bericht März PJ1 Q2.xlsx", data, XLSX)],
                                            subject="Quartalsbericht für März – Musterstadt"))
    result = _run(tmp_path, box)
    rows = _rows(tmp_path / "out" / "eingaenge.csv")
    assert [(r["datei"], r["status"]) for r in rows] == [
        ("bericht.eml › Bericht März PJ1 Q2.xlsx", "verwendet")]
    # Date header 20.04.2026 08:15 UTC = 10:15 in Germany (summer time)
    assert rows[0]["eingang"] == "2026-04-20T10:15:00+02:00"
    origin = result.entries[0].received.origin
    assert origin.sender.startswith("Erika Mustermann") and "März" in origin.subject


def test_mail_without_spreadsheet_is_rejected_with_a_reason(tmp_path):
    box = tmp_path / "in"
    box.mkdir()
    (box / "nur_pdf.eml").write_bytes(_mail([("Anschreiben.pdf", b"%PDF-1.4", "application/pdf")]))
    _run(tmp_path, box)
    (row,) = _rows(tmp_path / "out" / "eingaenge.csv")
    assert row["status"] == "abgelehnt"
    (finding,) = _rows(tmp_path / "out" / "befunde.csv")
    assert finding["regel"] == "EMAIL_OHNE_ANHANG" and "Anschreiben.pdf" in finding["meldung"]


def test_nested_zip_and_hostile_member_names_stay_data(make_workbook, tmp_path):
    box = tmp_path / "in"
    box.mkdir()
    data = make_workbook().read_bytes()
    inner = _zip({"../../x.xlsx": data})
    (box / "sammlung.zip").write_bytes(_zip({"Q2/innen.zip": inner, "/etc/passwd": b"root"}))
    _run(tmp_path, box)
    rows = {r["datei"]: r["status"] for r in _rows(tmp_path / "out" / "eingaenge.csv")}
    assert rows == {"sammlung.zip › /etc/passwd": "abgelehnt",
                    "sammlung.zip › Q2/innen.zip › ../../x.xlsx": "verwendet"}
    # nothing was written outside the output folder under a member's name
    assert not list(tmp_path.parent.glob("x.xlsx")) and not list(tmp_path.rglob("x.xlsx"))


def test_archives_nested_too_deep_are_refused(make_workbook, tmp_path):
    box = tmp_path / "in"
    box.mkdir()
    blob = make_workbook().read_bytes()
    for level in range(5):
        blob = _zip({f"ebene{level}.zip" if level else "bericht.xlsx": blob})
    (box / "tief.zip").write_bytes(blob)
    _run(tmp_path, box)
    findings = _rows(tmp_path / "out" / "befunde.csv")
    assert [f["regel"] for f in findings] == ["ARCHIV_ZU_TIEF"]


def test_store_keeps_every_file_once_and_reruns_are_idempotent(make_workbook, tmp_path):
    box = tmp_path / "in"
    box.mkdir()
    (box / "a.xlsx").write_bytes(make_workbook().read_bytes())
    (box / "b.eml").write_bytes(_mail([("a.xlsx", (box / "a.xlsx").read_bytes(), XLSX)]))
    _run(tmp_path, box)
    _run(tmp_path, box)
    store = tmp_path / "out" / "eingangsarchiv"
    objects = sorted(p for p in (store / "objects").rglob("*") if p.is_file())
    assert len(objects) == 2  # the workbook (once, though received twice) and the e-mail
    assert all(not (p.stat().st_mode & 0o222) for p in objects)  # read-only
    con = sqlite3.connect(store / "ledger.sqlite")
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM receipts").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM status_history").fetchone()[0] == 4
    statuses = dict(con.execute("SELECT r.datei, s.status FROM receipts r JOIN submissions s"
                                " ON s.receipt_id = r.id"))
    assert sorted(statuses.values()) == ["doppelt", "verwendet"]


def test_one_mail_with_the_same_attachment_twice_is_one_receipt(make_workbook, tmp_path):
    box = tmp_path / "in"
    box.mkdir()
    data = make_workbook().read_bytes()
    (box / "b.eml").write_bytes(_mail([("a.xlsx", data, XLSX), ("a.xlsx", data, XLSX)]))
    result = _run(tmp_path, box)
    assert [e.status for e in result.entries] == ["verwendet", "doppelt"]
    con = sqlite3.connect(tmp_path / "out" / "eingangsarchiv" / "ledger.sqlite")
    assert con.execute("SELECT r.datei, s.status, s.superseded_by FROM receipts r JOIN"
                       " submissions s ON s.receipt_id = r.id").fetchall() == [
        ("b.eml › a.xlsx", "verwendet", None)]
    assert con.execute("SELECT count(*) FROM status_history").fetchone()[0] == 1


def test_ledger_records_which_submission_replaced_which(make_workbook, tmp_path):
    import os

    box = tmp_path / "in"
    box.mkdir()
    old = box / "alt.xlsx"
    old.write_bytes(make_workbook().read_bytes())
    new = box / "neu.xlsx"
    new.write_bytes(make_workbook(values={"TELEFON": "0611 1"}).read_bytes())
    os.utime(old, (1_770_000_000, 1_770_000_000))
    os.utime(new, (1_770_100_000, 1_770_100_000))
    _run(tmp_path, box)
    con = sqlite3.connect(tmp_path / "out" / "eingangsarchiv" / "ledger.sqlite")
    rows = dict(con.execute(
        "SELECT r.datei, (SELECT datei FROM receipts WHERE id = s.superseded_by)"
        " FROM receipts r JOIN submissions s ON s.receipt_id = r.id"))
    assert rows == {"alt.xlsx": "neu.xlsx", "neu.xlsx": None}


def test_waiver_accepts_a_warning_and_is_listed(make_workbook, tmp_path):
    from decimal import Decimal

    from pipeline.template.sample import valid_data

    staff = [dict(r) for r in valid_data(MUSTERSTADT).rows["tblPersonal"]]
    staff[0]["Arbeitgeberbrutto"] = Decimal("6500.00")  # above cap/12 + 10 %: a warning
    box = tmp_path / "in"
    box.mkdir()
    path = box / "bericht.xlsx"
    path.write_bytes(make_workbook(rows={"tblPersonal": staff}).read_bytes())
    result = _run(tmp_path, box)
    warning = next(f for f in result.findings if f.regel == "PERSONAL_MONAT_HOCH")
    (box / "ausnahmen.csv").write_text(
        "sha256;regel;zelle;begruendung;von;datum\n"
        f"{warning.sha256[:12]};PERSONAL_MONAT_HOCH;{warning.zelle};Nachzahlung Tariferhöhung;"
        "A. Analyst;2026-05-10\n"
        f"{warning.sha256[:12]};SUMME;;soll nicht gehen;A. Analyst;\n", encoding="utf-8")
    result = _run(tmp_path, box, "out2")
    (row,) = _rows(tmp_path / "out2" / "eingaenge.csv")
    assert row["warnungen"] == "0" and row["status"] == "verwendet"
    (applied,) = _rows(tmp_path / "out2" / "ausnahmen_angewendet.csv")
    assert applied["begruendung"] == "Nachzahlung Tariferhöhung" and applied["von"] == "A. Analyst"
    accepted = next(f for f in result.findings if f.regel == "PERSONAL_MONAT_HOCH")
    assert "akzeptiert von A. Analyst" in accepted.akzeptiert
    unused = [f for f in result.findings if f.regel == "AUSNAHME_OHNE_TREFFER"]
    assert len(unused) == 1 and unused[0].datei == "ausnahmen.csv" and unused[0].zelle == "A3"


def test_waiver_cannot_accept_an_error(make_workbook, tmp_path):
    box = tmp_path / "in"
    box.mkdir()
    (box / "b.xlsx").write_bytes(make_workbook(values={"TN_WEIBLICH": 30}).read_bytes())
    (box / "ausnahmen.csv").write_text("datei,regel,begruendung,von\nb.xlsx,SUMME,egal,X\n",
                                       encoding="utf-8")
    result = _run(tmp_path, box)
    assert result.entries[0].status == "fehlerhaft"
    assert [f.regel for f in result.findings if f.datei == "ausnahmen.csv"] == [
        "AUSNAHME_FUER_FEHLER"]


def test_status_command_prints_the_ledger(make_workbook, tmp_path):
    box = tmp_path / "in"
    box.mkdir()
    (box / "a.xlsx").write_bytes(make_workbook().read_bytes())
    _run(tmp_path, box)
    registry = tmp_path / "r.csv"
    result = CliRunner().invoke(main, ["status", "--output", str(tmp_path / "out"),
                                       "--registry", str(registry), "--stichtag", "2026-05-15"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("06431901"))
    # PJ1 Q1 deadline 31.01.2026 passed: overdue; PJ1 Q2 received; PJ1 Q3 not yet due
    assert line.split()[2:6] == ["ÜBERF.", "ok", "(1)", "·"]
    none = CliRunner().invoke(main, ["status", "--output", str(tmp_path / "leer")])
    assert none.exit_code == 2 and "Eingangsbuch" in none.output


def test_the_waiver_file_is_found_by_name_csv_first(tmp_path):
    from pipeline.waivers import find_file

    box = tmp_path / "in"
    box.mkdir()
    assert find_file(box) is None and find_file(tmp_path / "fehlt") is None
    (box / "Ausnahmen.xlsx").write_bytes(b"x")
    (box / "ausnahmen_alt.csv").write_text("x", encoding="utf-8")  # another stem
    (box / "ausnahmen.csv.bak").write_text("x", encoding="utf-8")  # another suffix
    assert find_file(box) == box / "Ausnahmen.xlsx"
    (box / "AUSNAHMEN.CSV").mkdir()  # a folder is not the file
    assert find_file(box) == box / "Ausnahmen.xlsx"
    (box / "ausnahmen.CSV").write_text("x", encoding="utf-8")
    assert find_file(box) == box / "ausnahmen.CSV"
