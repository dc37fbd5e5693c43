"""Check one file: read it defensively, map it onto the template, run every rule.

Never raises for bad input: an unreadable file yields a file-level finding and
`readable=False` (status `abgelehnt`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from pipeline.facts import Facts, extract
from pipeline.findings import Finding, counts, sort_key
from pipeline.read.submission import Row, Submission, read_submission
from pipeline.rules import files as file_rules
from pipeline.rules import run_submission_rules
from pipeline.rules.context import Context
from pipeline.rules.structure import TEMPLATE_ID, TEMPLATE_OLD, TEMPLATE_VERSION
from pipeline.spec import Programme, load_template, template_versions
from pipeline.xlsx import XlsxError, read_xlsx

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xltx", ".xltm"}


@dataclass
class Checked:
    datei: str
    sha256: str
    submission: Submission | None = None
    findings: list[Finding] = field(default_factory=list)
    readable: bool = True
    # The reported amounts and counts (computed where the file is checked, so the result
    # cache holds them too); None when the file could not be mapped onto a template.
    facts: Facts | None = None

    @property
    def errors(self) -> int:
        return counts(self.findings)[0]

    @property
    def warnings(self) -> int:
        """Open warnings: accepted ones (waivers) no longer count."""
        return counts(self.findings)[1]


def _sniff(data: bytes) -> str:
    head = data[:512].lstrip().lower()
    if head.startswith(b"%pdf"):
        return "ein PDF-Dokument"
    if head.startswith((b"<html", b"<!doctype html")) or b"<table" in head:
        return "eine HTML-Datei"
    if head.startswith(b"<?xml"):
        return "eine XML-Datei (z. B. „XML-Tabelle 2003“)"
    if b";" in head or b"," in head or b"\t" in head:
        return "eine Text- oder CSV-Datei"
    return "eine Datei in einem unbekannten Format"


def _unreadable(err: XlsxError, name: str, data: bytes, prog: Programme) -> Finding:
    suffix = Path(name).suffix.lower()
    if err.code == "not_zip" and suffix not in SPREADSHEET_SUFFIXES:
        return file_rules.NOT_EXCEL_NAME.finding(name=Path(name).name)
    rule = file_rules.UNREADABLE.get(err.code, file_rules.UNREADABLE["corrupt"])
    return rule.finding(art=_sniff(data), detail=err.detail or err.code,
                        groesse=f"{len(data) / 1e6:.1f} MB",
                        grenze=f"{prog.limits.max_file_bytes / 1e6:.0f} MB")


def check_bytes(data: bytes, datei: str, sha256: str, prog: Programme,
                known_ags: frozenset[str] | None = None) -> Checked:
    checked = Checked(datei, sha256)
    try:
        raw = read_xlsx(data, prog.limits, referenced_only=True)
    except XlsxError as err:
        checked.readable = False
        checked.findings.append(_unreadable(err, datei, data, prog))
        return _located(checked)
    sub = read_submission(raw, prog.limits.max_table_rows)
    checked.submission = sub
    found = checked.findings
    if raw.has_macros:
        found.append(file_rules.MACROS.finding())
    if raw.external_links:
        found.append(file_rules.EXTERNAL.finding(anzahl=raw.external_links))
    newest = load_template()
    if sub.spec is None:
        if not sub.template_id and not sub.version and not _has_any_table(raw, newest):
            checked.readable = False
            found.append(file_rules.FOREIGN.finding())
            return _located(checked)
        if sub.version:
            checked.readable = False
            found.append(TEMPLATE_VERSION.finding(
                "", "", sub.version, gefunden=sub.version,
                bekannt=", ".join(template_versions()), aktuell=newest.version))
            return _located(checked)
        # Template names damaged: read with the newest spec to say what else is wrong.
        sub = read_submission(raw, prog.limits.max_table_rows, spec=newest)
        checked.submission = sub
    if sub.spec.version != newest.version and sub.version == sub.spec.version:
        found.append(TEMPLATE_OLD.finding(gefunden=sub.version, aktuell=newest.version))
    if sub.template_id != sub.spec.id:
        found.append(TEMPLATE_ID.finding(gefunden=sub.template_id, erwartet=sub.spec.id))
    found.extend(run_submission_rules(Context(sub, sub.spec, prog, known_ags)))
    checked.facts = _facts(sub, prog)
    return _located(checked, prog.limits.max_findings_per_rule)


def for_report(checked: Checked) -> Checked:
    """What the report keeps of a checked file once its rules have run and its facts are
    computed: every field, the measures table (shown in the reports), of each receipt only
    its number (the cross-quarter duplicate check), of other table rows only the row (their
    count decides how feedback is written). Cuts a result to a fraction of its size: it
    travels from the worker, sits in the result cache and in memory for every file."""
    sub = checked.submission
    if sub is None or sub.spec is None or checked.facts is None:
        return checked
    roles = sub.spec.roles
    kept = {roles["measures_table"]: None, roles["receipts_table"]: roles["receipt_number"]}
    tables = {}
    for name, rows in sub.tables.items():
        column = kept.get(name, "")
        if column is None:
            tables[name] = rows
        else:
            tables[name] = [Row(r.number, {column: r.values[column]} if column in r.values
                                else {}, r.outside_table) for r in rows]
    return replace(checked, submission=replace(sub, tables=tables))


def _facts(sub: Submission, prog: Programme) -> Facts | None:
    """Facts are needed only if the file is used (no errors); a file with errors may hold
    anything, so a failure here must not turn into a finding: the report recomputes the
    facts of a used file when this gave None."""
    try:
        return extract(sub, prog)
    except Exception:  # noqa: BLE001
        return None


def _has_any_table(raw, spec) -> bool:
    names = {n.lower() for n in raw.tables}
    return any(t.name.lower() in names for t in spec.tables)


def _capped(findings: list[Finding], cap: int) -> list[Finding]:
    """At most `cap` findings per rule; the rest become one summary note."""
    per_rule: dict[str, int] = {}
    kept = []
    for f in sorted(findings, key=sort_key):
        per_rule[f.regel] = per_rule.get(f.regel, 0) + 1
        if per_rule[f.regel] <= cap:
            kept.append(f)
    for rule_id, n in sorted(per_rule.items()):
        if n > cap:
            kept.append(file_rules.TRUNCATED.finding(regel=rule_id, anzahl=n - cap, grenze=cap))
    return kept


def _located(checked: Checked, cap: int | None = None) -> Checked:
    sub = checked.submission
    ags = (sub.ags or "") if sub else ""
    pj = sub.projektjahr if sub else None
    q = sub.quartal if sub else None
    found = checked.findings if cap is None else _capped(checked.findings, cap)
    checked.findings = sorted(
        (replace(f, datei=checked.datei, sha256=checked.sha256, projekt_ags=ags,
                 projektjahr=pj, quartal=q) for f in found),
        key=sort_key,
    )
    return checked
