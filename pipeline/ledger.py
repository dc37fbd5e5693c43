"""The ledger: an embedded SQLite record of every received file and what became of it.

Schema in docs/ledger.md. Rows are inserted or updated, never deleted; every run appends
its statuses to `status_history`, so earlier decisions stay visible. One transaction per
run: a killed run leaves the previous state intact.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from datetime import date, datetime
from pathlib import Path

from pipeline import __version__
from pipeline.select import DUPLICATE, REPLACED, USED, Entry

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started TEXT NOT NULL, stichtag TEXT NOT NULL,
    program_version TEXT NOT NULL, spec_digest TEXT NOT NULL, template_digest TEXT NOT NULL,
    registry_sha256 TEXT NOT NULL, files INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS receipts (
    id INTEGER PRIMARY KEY, datei TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    origin_kind TEXT NOT NULL, origin_path TEXT NOT NULL, member TEXT NOT NULL,
    sender TEXT NOT NULL, subject TEXT NOT NULL, mail_date TEXT NOT NULL,
    eingang TEXT NOT NULL, first_run INTEGER NOT NULL, last_run INTEGER NOT NULL,
    UNIQUE (datei, sha256));
CREATE TABLE IF NOT EXISTS submissions (
    receipt_id INTEGER PRIMARY KEY REFERENCES receipts(id), projekt_ags TEXT,
    projektjahr INTEGER, quartal INTEGER, template_version TEXT, status TEXT NOT NULL,
    errors INTEGER NOT NULL, warnings INTEGER NOT NULL, notes INTEGER NOT NULL,
    superseded_by INTEGER REFERENCES receipts(id), last_run INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS status_history (
    run_id INTEGER NOT NULL REFERENCES runs(id), receipt_id INTEGER NOT NULL
    REFERENCES receipts(id), status TEXT NOT NULL, PRIMARY KEY (run_id, receipt_id));
"""
FILE_NAME = "ledger.sqlite"


def connect(store_root: Path) -> sqlite3.Connection:
    con = sqlite3.connect(store_root / FILE_NAME, timeout=30)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA foreign_keys=ON")
    con.executescript(SCHEMA)
    return con


def record_run(store_root: Path, entries: list[Entry], stichtag: date, digests: tuple[str, str],
               registry_sha256: str) -> int:
    with closing(connect(store_root)) as con, con:
        run_id = con.execute(
            "INSERT INTO runs (started, stichtag, program_version, spec_digest, template_digest,"
            " registry_sha256, files) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (datetime.now().isoformat(timespec="seconds"), stichtag.isoformat(), __version__,
             digests[0], digests[1], registry_sha256, len(entries))).lastrowid
        con.executemany(
            "INSERT INTO receipts (datei, sha256, size, origin_kind, origin_path, member,"
            " sender, subject, mail_date, eingang, first_run, last_run)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (datei, sha256) DO UPDATE SET last_run = excluded.last_run",
            [_receipt_row(e, run_id) for e in entries])
        by_name = {(datei, sha): rid for rid, datei, sha in con.execute(
            "SELECT id, datei, sha256 FROM receipts WHERE last_run = ?", (run_id,))}
        ids = {id(e): by_name[(e.received.datei, e.received.sha256)] for e in entries}
        # One row per receipt and run: the same bytes under the same name twice (two equal
        # attachments of one e-mail) are one receipt, as the first of them was decided.
        first: dict[int, Entry] = {}
        for e in entries:
            first.setdefault(ids[id(e)], e)
        con.executemany(
            "INSERT INTO submissions (receipt_id, projekt_ags, projektjahr, quartal,"
            " template_version, status, errors, warnings, notes, superseded_by, last_run)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (receipt_id) DO UPDATE SET"
            " status=excluded.status, errors=excluded.errors, warnings=excluded.warnings,"
            " notes=excluded.notes, superseded_by=excluded.superseded_by,"
            " last_run=excluded.last_run, template_version=excluded.template_version",
            [_submission_row(e, ids, _superseder(e, entries, ids), run_id)
             for e in first.values()])
        con.executemany(
            "INSERT INTO status_history (run_id, receipt_id, status) VALUES (?, ?, ?)",
            [(run_id, ids[id(e)], e.status) for e in first.values()])
    return run_id


def _receipt_row(e: Entry, run_id: int) -> tuple:
    r, o = e.received, e.received.origin
    return (r.datei, r.sha256, r.size, o.kind, o.path, o.member, o.sender, o.subject,
            o.mail_date, r.eingang.isoformat(), run_id, run_id)


def _superseder(e: Entry, entries: list[Entry], ids: dict[int, int]) -> int | None:
    """Which receipt replaced this one: the used one of its quarter, or the original copy."""
    if e.status == REPLACED:
        winner = next(x for x in entries if x.status == USED and x.key == e.key)
        return ids[id(winner)]
    if e.status == DUPLICATE:
        original = next(x for x in entries if x.received.sha256 == e.received.sha256
                        and x.status != DUPLICATE)
        return ids[id(original)]
    return None


def _submission_row(e: Entry, ids: dict[int, int], superseded_by: int | None,
                    run_id: int) -> tuple:
    sub = e.checked.submission
    key = e.key or (sub.ags if sub else None, sub.projektjahr if sub else None,
                    sub.quartal if sub else None)
    notes = sum(1 for f in e.checked.findings if f.schwere.value == "Hinweis")
    return (ids[id(e)], *key, sub.version if sub else None, e.status, e.checked.errors,
            e.checked.warnings, notes, superseded_by, run_id)


def latest(store_root: Path) -> Iterable[sqlite3.Row]:
    """Every receipt with its latest submission state, oldest first."""
    with closing(connect(store_root)) as con:
        con.row_factory = sqlite3.Row
        yield from con.execute(
            "SELECT r.*, s.projekt_ags, s.projektjahr, s.quartal, s.template_version, s.status,"
            " s.errors, s.warnings, s.notes, s.superseded_by FROM receipts r"
            " JOIN submissions s ON s.receipt_id = r.id ORDER BY r.eingang, r.datei")
