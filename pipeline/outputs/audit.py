"""pruefpfad.xlsx: the audit trail (CPR Art. 69, Annex XIII) for the Prüfbehörde.

Sheets: Lauf (run manifest: program and spec versions, digests, registry, Stichtag, every
input file with sha256), Eingänge (submissions register), Regeln (rule catalogue),
Befunde (all findings), Herleitung (every money figure per application and quarter from the
reported amount to the funding, linked to its source cells), Herkunft (one row per source
cell, continued on Herkunft 2, … past Excel's row limit). Someone with the same inputs,
registry and Stichtag can rerun and compare.
"""

from __future__ import annotations

import io
from pathlib import Path

import pipeline
from pipeline.outputs import audit_derivation, audit_lineage, xlsxstream
from pipeline.outputs.atomic import write_with
from pipeline.outputs.lineage import Lineage, Part, lineage_parts
from pipeline.outputs.ministry_text import findings_sheet
from pipeline.outputs.streamtable import stream_table
from pipeline.outputs.tables import Col, Table
from pipeline.outputs.view import ReportView
from pipeline.outputs.xlsxkit import Book
from pipeline.periods import german_date
from pipeline.rules import RULES, load_all  # noqa: F401  (registers every rule)
from pipeline.spec import load_template, template_versions

TITLE = "KISI – Prüfpfad"


def write_audit_workbook(path: Path, view: ReportView,
                         rows: list[Lineage] | list[Part] | None = None,
                         reuse: audit_lineage.Reuse | None = None,
                         blob: audit_lineage.Blob | None = None) -> None:
    """`rows`: lineage(view) or lineage_parts(view), if the caller has it already (it also
    writes herkunft.csv). `reuse`, `blob`: the Herkunft XML of the previous run to copy
    unchanged parts from, and where to keep this run's (see `audit_lineage`)."""
    lineage_rows = lineage_parts(view) if rows is None else rows
    try:
        write_with(path, lambda tmp: build(tmp, view, lineage_rows, reuse, blob))
    except BaseException:
        if blob is not None:
            blob.close()
        raise
    if blob is not None:
        blob.commit()


def build(path: Path, view: ReportView, rows: list[Lineage] | list[Part],
          reuse: audit_lineage.Reuse | None = None,
          blob: audit_lineage.Blob | None = None) -> None:
    """xlsxwriter builds the package in memory, every sheet but Befunde as a frame only;
    `xlsxstream.finish` writes it to `path` with their rows streamed in."""
    frame = io.BytesIO()
    book = Book(frame, TITLE, view.created)
    streamed = [manifest_sheet(book, view, rows), register_sheet(book, view),
                rules_sheet(book)]
    findings_sheet(book, view.result.findings, with_hash=True)
    streamed.append(audit_derivation.derivation_sheet(book, view, rows))
    streamed += audit_lineage.lineage_sheets(book, view, rows, reuse, blob)
    with xlsxstream.stored_frame():
        book.close()
    xlsxstream.finish(frame.getvalue(), path, book.wb, streamed)


def manifest(view: ReportView) -> list[tuple[str, str]]:
    """(what, value) of the run: enough to rerun it and compare."""
    result, prog = view.result, view.prog
    registry = result.registry_path
    items = [
        ("Programmversion (KISI-Berichtswesen)", pipeline.__version__),
        ("Stichtag", german_date(view.stichtag)),
        ("Programmspezifikation programm.toml, SHA-256", prog.digest),
    ]
    items += [(f"Vorlagenspezifikation vorlage_v{v}.toml, SHA-256", load_template(v).digest)
              for v in template_versions()]
    items += [
        ("Projektverzeichnis", registry.name if registry else "keins"),
        ("Projektverzeichnis, SHA-256", result.registry_sha256 or "–"),
        ("Anträge im Projektverzeichnis", str(len(result.applications))),
        ("eingegangene Dateien", str(len(result.entries))),
        ("verwendete Quartalsberichte", str(len(result.used))),
        ("Befunde", str(len(result.findings))),
    ]
    return items


def manifest_sheet(book: Book, view: ReportView, rows: list[Lineage] | list[Part]
                   ) -> xlsxstream.StreamedSheet:
    table = Table([Col("Angabe / Datei", 48, "wrap"), Col("Wert / SHA-256", 68, "mono"),
                   Col("Größe (Bytes)", 13, "int"), Col("Eingang", 17, "datetime"),
                   Col("Quelle", 40, "wrap")])
    count = sum(map(len, rows)) if rows and isinstance(rows[0], Part) else len(rows)
    for what, value in [*manifest(view), *audit_lineage.notes(view, count)]:
        table.add([what, value, None, None, None], total=True)
    for e in sorted(view.result.entries, key=lambda e: (e.received.datei, e.received.sha256)):
        r = e.received
        table.add([r.datei, r.sha256, r.size, r.eingang, _origin(r)])
    return stream_table(book, "Lauf", table)


def _origin(received) -> str:
    origin = getattr(received, "origin", None)
    if origin is None:
        return ""
    parts = [origin.kind, origin.path, origin.member, origin.sender, origin.mail_date]
    return " · ".join(p for p in parts if p)


def register_sheet(book: Book, view: ReportView) -> xlsxstream.StreamedSheet:
    declared = view.spec.roles["declaration_date"]
    table = Table([Col("Datei", 32), Col("SHA-256", 20, "mono"), Col("Eingang", 17, "datetime"),
                   Col("AGS", 10), Col("PJ", 5, "int"), Col("Quartal", 7, "int"),
                   Col("Vorlagenversion", 10), Col("erklärt am", 11, "date"),
                   Col("Status", 11), Col("Fehler", 7, "int"), Col("Warnungen", 9, "int")])
    for e in sorted(view.result.entries, key=lambda e: (e.received.datei, e.received.sha256)):
        sub = e.checked.submission
        key = e.key or ("", None, None)
        table.add([e.received.datei, e.received.sha256, e.received.eingang, key[0], key[1],
                   key[2], sub.version if sub else "", sub.get(declared) if sub else None,
                   e.status, e.checked.errors, e.checked.warnings])
    return stream_table(book, "Eingänge", table, freeze_cols=1)


def rules_sheet(book: Book) -> xlsxstream.StreamedSheet:
    table = Table([Col("Regel", 24), Col("Bereich", 12), Col("Schwere", 9),
                   Col("Bedeutung", 40, "wrap"), Col("Meldung (Vorlage)", 80, "wrap"),
                   Col("Grundlage", 40, "wrap")])
    for rule in sorted(RULES.values(), key=lambda r: (r.scope, r.id)):
        table.add([rule.id, rule.scope, rule.severity.value, rule.title, rule.message,
                   rule.basis])
    return stream_table(book, "Regeln", table, freeze_cols=1)
