"""Feedback a municipality can act on: per submission, the clerk's own workbook marked up
(or a short confirmation) and a ready-to-send email draft, in `<output>/rueckmeldungen/`.

Entry point: `write_feedback(result, out_dir, prog, state=None)`, called by the report after
selection; with a `state` folder, a rerun skips the submissions whose files would come out
the same (see state.py and docs/feedback.md).
File names are built only from checked values (AGS of 8 digits, a valid quarter, the
sha256), never from a received file's or attachment's name.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.feedback.model import ReportInfo, figure_lines, german_datetime, result_text
from pipeline.feedback.state import Records
from pipeline.feedback.texts import (
    Letter,
    confirmation_letter,
    findings_letter,
    one_line,
    rejected_letter,
)
from pipeline.findings import Finding, sort_key
from pipeline.outputs.atomic import write_bytes  # module-level: tests count the calls
from pipeline.periods import (
    Period,
    deadline,
    german_date,
    is_valid_period,
    quarter_end,
    quarter_start,
)
from pipeline.select import DUPLICATE, REJECTED, USED, Entry
from pipeline.spec import Programme, load_programme

__all__ = ["FOLDER", "write_feedback"]

FOLDER = "rueckmeldungen"
TEMPLATE_FILE = "bestaetigung.json"  # in the state folder
TZ = ZoneInfo("Europe/Berlin")
DRAFT_HOUR = time(8, 0)  # drafts are dated on the Stichtag at 08:00 (or at receipt, if later)
AGS = re.compile(r"^[0-9]{8}$")
EMAIL = re.compile(r"^[^@\s,;<>\"()\[\]]+@[^@\s,;<>\"()\[\]]+\.[^@\s,;<>\"()\[\]]+$")
OUR_FILE = re.compile(r"^(?:[0-9]{8}_PJ[0-9]+_Q[0-9]+|unbekannt)_[0-9a-f]{8}\.(?:xlsx|eml)$")


@dataclass(frozen=True)
class _Who:
    ags: str  # '' unless 8 digits
    period: Period | None
    name: str
    to: str


def write_feedback(result, out_dir: Path, prog: Programme, *,
                   state: Path | None = None) -> list[Path]:
    """Write the feedback of every current submission; returns its files.

    Skipped: byte-identical duplicates (the first copy gets the feedback) and submissions
    a newer one of the same project and quarter supersedes. Files of earlier runs that
    belong to no current submission are removed, so the folder shows only what to send.

    `state`: a folder the caller owns (one per output folder) where the inputs of the files
    written are recorded; a submission whose inputs are unchanged and whose files are still
    exactly as written is not rendered again (its files are still returned). None: always
    write everything.
    """
    folder = out_dir / FOLDER
    stichtag = result.stichtag or date.today()
    apps = {a.ags: a for a in result.applications}
    index = _Index(result)
    records = Records(state, prog) if state is not None else None
    # The pre-rendered confirmation is kept next to the records (see confirm.template).
    stored = (state / TEMPLATE_FILE, records.environment) if records is not None else None
    written: list[Path] = []
    try:
        for e in _current(result.entries):
            job = _plan(e, index, apps, folder, stichtag, prog)
            if job is None:
                continue
            if records is None:
                job.write()
            else:
                digest = records.digest(job.inputs())
                if not records.unchanged(job.base, digest, job.files):
                    job.write(stored)
                    records.record(job.base, digest, job.files)
            written += job.files
    except BaseException:
        if records is not None:  # keep what was recorded; the first error is the one to see
            with contextlib.suppress(OSError):
                records.save(complete=False)
        raise
    if records is not None:
        records.save(complete=True)
    _remove_stale(folder, written)
    return written


class _Index:
    """What each submission looks up, built in one pass each (not one scan per file)."""

    def __init__(self, result) -> None:
        self.findings: dict[tuple[str, str], list[Finding]] = {}
        for f in result.findings:
            self.findings.setdefault((f.sha256, f.datei), []).append(f)
        self.used: dict[tuple | None, list[Entry]] = {}
        for u in result.entries:
            if u.status == USED:
                self.used.setdefault(u.key, []).append(u)
        self.figures = _figure_index(getattr(result, "figures", None))
        self.zeitraeume: dict[Period, str] = {}  # "PJ1 Q2 (01.01.2026–31.03.2026)"

    def findings_of(self, e: Entry) -> list[Finding]:
        """The file's own findings plus cross-quarter ones located in it."""
        own = list(e.checked.findings)
        seen = set(own)
        own += [f for f in self.findings.get((e.received.sha256, e.received.datei), ())
                if f not in seen]
        return sorted(own, key=sort_key)

    def used_instead(self, e: Entry) -> str:
        used = next((u for u in self.used.get(e.key, ()) if u is not e), None)
        if used is None:
            return ""
        return (f"der zuvor eingereichte Bericht „{one_line(used.received.datei, 80)}“ vom "
                f"{german_datetime(used.received.eingang)}")

    def figures_of(self, who: _Who) -> dict[str, object]:
        if who.period is None:
            return {}
        return self.figures.get((who.ags, who.period.projektjahr, who.period.quartal), {})


def _figure_index(rows) -> dict[tuple, dict[str, object]]:
    """{(ags, pj, q): {kennzahl: wert}} in one pass over the kennzahlen rows (a later row
    of the same kennzahl wins, as in a dict built from the filtered rows)."""
    index: dict[tuple, dict[str, object]] = {}
    for ags, pj, q, kennzahl, wert in rows or ():
        index.setdefault((ags, pj, q), {})[kennzahl] = wert
    return index


def _current(entries: list[Entry]) -> list[Entry]:
    keys = {id(e): e.key for e in entries if e.status != DUPLICATE}  # (a key costs 4 looks)
    newest: dict[tuple, Entry] = {}
    for e in entries:
        key = keys.get(id(e))
        if key is not None:
            best = newest.get(key)
            if best is None or e.order() > best.order():
                newest[key] = e
    return [e for e in sorted(entries, key=lambda e: (e.received.datei, e.received.sha256))
            if id(e) in keys and (keys[id(e)] is None or newest[keys[id(e)]] is e)]


def _addresses(text: object) -> list[str]:
    return list(_addresses_in(str(text or "")))


@lru_cache(maxsize=1024)  # a project's address comes again with each of its files
def _addresses_in(text: str) -> tuple[str, ...]:
    from email.utils import parseaddr  # (imports socket: in the feedback child, not at start)

    found = []
    for part in re.split(r"[;,]", text):
        address = parseaddr(part.strip())[1]
        if EMAIL.match(address) and address not in found:
            found.append(address)
    return tuple(found)


def _who(e: Entry, apps: dict, prog: Programme) -> _Who:
    sub = e.checked.submission
    ags = sub.ags if sub is not None and sub.ags and AGS.match(sub.ags) else ""
    pj, q = (sub.projektjahr, sub.quartal) if sub is not None else (None, None)
    period = Period(pj, q) if pj is not None and q is not None and \
        is_valid_period(prog, pj, q) else None
    app = apps.get(ags)
    name = one_line(app.name if app else (sub.get("PROJEKT_NAME") or "") if sub else "", 80)
    origin = getattr(e.received, "origin", None)
    for candidate in (app.email if app else "", sub.get("EMAIL") if sub else "",
                      getattr(origin, "sender", "")):
        to = ", ".join(_addresses(candidate))
        if to:
            break
    return _Who(ags, period, name, to)


def _info(e: Entry, who: _Who, findings: list[Finding], ergebnis: str, stand: datetime,
          prog: Programme, zeitraeume: dict[Period, str]) -> ReportInfo:
    zeitraum = ""
    if who.period is not None:
        zeitraum = zeitraeume.get(who.period) or zeitraeume.setdefault(who.period, (
            f"{who.period.label} ({german_date(quarter_start(prog, who.period))}–"
            f"{german_date(quarter_end(prog, who.period))})"))
    return ReportInfo(e.received.datei, e.received.sha256, who.ags, who.name, zeitraum,
                      e.received.eingang, ergebnis or result_text(findings),
                      deadline(prog, who.period) if who.period else None, stand)


def _base(e: Entry, who: _Who) -> str:
    sha8 = e.received.sha256[:8]
    if who.ags and who.period is not None:
        return f"{who.ags}_PJ{who.period.projektjahr}_Q{who.period.quartal}_{sha8}"
    return f"unbekannt_{sha8}"


def _attachment_name(who: _Who, suffix: str) -> str:
    if who.ags and who.period is not None:
        return f"{who.ags}_PJ{who.period.projektjahr}_Q{who.period.quartal}_{suffix}.xlsx"
    return f"KISI_{suffix}.xlsx"


@dataclass(frozen=True)
class _Job:
    """The feedback of one submission: what goes into its files, and how to write them."""

    kind: str  # abgelehnt | befunde | bestaetigung (also part of the Message-ID)
    e: Entry
    who: _Who
    info: ReportInfo
    findings: list[Finding]
    stichtag: date
    folder: Path
    figures: list[tuple[str, str]] = field(default_factory=list)

    @cached_property
    def base(self) -> str:
        return _base(self.e, self.who)

    @cached_property
    def xlsx(self) -> Path:
        return self.folder / f"{self.base}.xlsx"

    @cached_property
    def eml(self) -> Path:
        return self.folder / f"{self.base}.eml"

    @property
    def files(self) -> list[Path]:
        return [self.eml] if self.kind == "abgelehnt" else [self.xlsx, self.eml]

    def inputs(self) -> tuple:
        """Every value the two files are made of (besides the program, see state.py): the
        original's bytes are named by their sha256, the rest is passed to the renderers."""
        r = self.e.received
        return (self.kind, self.base, r.sha256, r.datei, r.eingang.isoformat(), self.e.status,
                self.who, self.info, self.info.stand.isoformat(), tuple(self.findings),
                tuple(self.figures), self.stichtag, _too_big(self.e))

    def write(self, stored: tuple[Path, str] | None = None) -> None:
        """`stored`: where the pre-rendered confirmation is kept, for which environment."""
        info, who, findings, stichtag = self.info, self.who, self.findings, self.stichtag
        if self.kind == "abgelehnt":
            letter = rejected_letter(info, findings, stichtag, bool(who.to))
            self._mail(letter, None, "")
            return
        from pipeline.feedback.confirm import confirmation_bytes  # (imported when writing)

        if self.kind == "befunde":
            name = _attachment_name(who, "Prüfbericht")
            data, marked = _mark_up(self.e, findings, info)
            self._write(".xlsx", data)
            letter = findings_letter(info, findings, name, stichtag, marked, bool(who.to))
        else:
            data = confirmation_bytes(info, self.figures, *(stored or ()))
            self._write(".xlsx", data)
            name = _attachment_name(who, "Eingangsbestätigung")
            letter = confirmation_letter(info, self.figures, name, bool(who.to))
        self._mail(letter, data, name)

    def _mail(self, letter: Letter, attachment: bytes | None, name: str) -> None:
        from pipeline.feedback.mail import draft  # the email package: only to write

        self._write(".eml", draft(self.who.to, letter.subject, letter.body, attachment,
                                  date=self.info.stand, sha256=self.e.received.sha256,
                                  attachment_name=name or None, kind=self.kind))

    def _write(self, suffix: str, data: bytes) -> None:
        """Not durable: checked by size, mtime and inode on the next run."""
        write_bytes(self.xlsx if suffix == ".xlsx" else self.eml, data, durable=False)


def _plan(e: Entry, index: _Index, apps: dict, folder: Path, stichtag: date,
          prog: Programme) -> _Job | None:
    who = _who(e, apps, prog)
    findings = index.findings_of(e)
    stand = max(datetime.combine(stichtag, DRAFT_HOUR, TZ), e.received.eingang)
    if e.status == REJECTED or e.checked.submission is None:
        info = _info(e, who, findings, "Nicht lesbar.", stand, prog, index.zeitraeume)
        return _Job("abgelehnt", e, who, info, findings, stichtag, folder)
    if findings:
        info = _info(e, who, findings, result_text(findings, index.used_instead(e)), stand,
                     prog, index.zeitraeume)
        return _Job("befunde", e, who, info, findings, stichtag, folder)
    if e.status != USED:
        return None
    info = _info(e, who, findings, "", stand, prog, index.zeitraeume)
    figures = figure_lines(index.figures_of(who))
    return _Job("bestaetigung", e, who, info, findings, stichtag, folder, figures)


def _too_big(e: Entry) -> bool:
    sub = e.checked.submission
    rows = sum(len(r) for r in sub.tables.values()) if sub is not None else 0
    return rows > load_programme().limits.max_markup_rows


def _mark_up(e: Entry, findings: list[Finding], info: ReportInfo) -> tuple[bytes, bool]:
    """The marked-up copy and True; if openpyxl cannot copy a file our reader could read,
    the findings-only workbook and False. Reading the original stays outside the
    `except`, so an I/O error there still stops the run."""
    from pipeline.feedback.confirm import summary_bytes
    from pipeline.feedback.markup import marked_up_bytes

    if _too_big(e):
        return summary_bytes(info, findings), False
    original = e.received.path.read_bytes()
    try:
        return marked_up_bytes(original, findings, info), True
    except Exception:  # noqa: BLE001 - openpyxl raises anything, even OSError, on odd files
        return summary_bytes(info, findings), False


def _remove_stale(folder: Path, written: list[Path]) -> None:
    if not folder.is_dir():
        return
    keep = {p.name for p in written}
    for path in folder.iterdir():
        if path.is_file() and OUR_FILE.match(path.name) and path.name not in keep:
            path.unlink()
