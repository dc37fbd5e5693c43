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
import os
import re
from datetime import date, datetime, time
from functools import cached_property
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

from pipeline.aggregate import FigureRows
from pipeline.feedback import kept
from pipeline.feedback.model import (
    KEY_FIGURES,
    ReportInfo,
    figure_lines,
    german_datetime,
    result_text,
)
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
    all_periods,
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


class _Who(NamedTuple):  # (432 are made per run: a tuple is made ≈ 5× faster)
    ags: str  # '' unless 8 digits
    period: Period | None
    name: str
    to: str  # the addresses of the first that has any: registry, workbook, sender


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
    run = _Run(result, folder, prog)
    records = Records(state, prog) if state is not None else None
    # The pre-rendered confirmation is kept next to the records (see confirm.template),
    # the email package's texts with them (kept.py).
    stored = (state / TEMPLATE_FILE, records.environment) if records is not None else None
    kept.begin(records.memo if records is not None else None)
    names: list[str] = []
    try:
        for e in _current(result.entries):
            job = _plan(e, run)
            if job is None:
                continue
            if records is None:
                job.write()
            else:
                digest = records.digest(job.inputs())
                paths = job.paths
                if not records.unchanged(job.base, digest, paths):
                    job.write(stored)
                    records.record(job.base, digest, paths)
            names += job.names
    except BaseException:
        if records is not None:  # keep what was recorded; the first error is the one to see
            records.memo = kept.end(records.memo)
            with contextlib.suppress(OSError):
                records.save(complete=False)
        raise
    if records is not None:
        records.memo = kept.end(records.memo)
        records.save(complete=True)
    _remove_stale(folder, names)
    return Written(folder, names)


class Written(list):
    """The paths written (`folder/name` each); pickled as the folder and the names, which
    the report's process turns into paths ≈ 3× faster than unpickling each path."""

    def __init__(self, folder: Path, names: list[str]) -> None:
        super().__init__(_paths(folder, names))
        self.folder, self.names = folder, names

    def __reduce__(self):
        return _paths, (self.folder, self.names)


def _paths(folder: Path, names: list[str]) -> list[Path]:
    """`[folder / name for name in names]` for plain file names; pathlib's own shortcut
    for a child's name (what `iterdir` uses, ≈ 3× faster) where it exists."""
    child = getattr(folder, "_make_child_relpath", folder.joinpath)
    return [child(name) for name in names]


class _Index:
    """What each submission looks up, built in one pass each (not one scan per file)."""

    def __init__(self, result, prog: Programme) -> None:
        self.prog = prog
        self.applications = result.applications
        self.findings: dict[tuple[str, str], list[Finding]] = {}
        for f in result.findings:
            self.findings.setdefault((f.sha256, f.datei), []).append(f)
        self.entries = result.entries
        self.rows = FigureRows.of(getattr(result, "figures", None))
        self.zeitraeume: dict[Period, str] = {}  # "PJ1 Q2 (01.01.2026–31.03.2026)"

    @cached_property
    def quarters(self) -> dict[tuple, _Who]:
        """Who a submission is from, by its key (ags, pj, q), for every quarter of the
        programme of each registry project with an address: what `_who` finds for such a
        submission from its values. Looked up by the key, whose equal strings are not
        read (the feedback runs in a forked process: reading an object copies its page)."""
        periods = [Period(p.projektjahr, p.quartal) for p in all_periods(self.prog)]
        found: dict[tuple, _Who] = {}
        for app in {a.ags: a for a in self.applications}.values():  # (as `_who`'s apps)
            to = ", ".join(_addresses(app.email))
            if to and isinstance(app.ags, str) and AGS.match(app.ags):
                name = one_line(app.name, 80)
                for p in periods:
                    found[(app.ags, p.projektjahr, p.quartal)] = _Who(app.ags, p, name, to)
        return found

    @cached_property
    def used(self) -> dict[tuple | None, list[Entry]]:
        used: dict[tuple | None, list[Entry]] = {}
        for u in self.entries:
            if u.status == USED:
                used.setdefault(u.key, []).append(u)
        return used

    def findings_of(self, e: Entry) -> list[Finding]:
        """The file's own findings plus cross-quarter ones located in it."""
        own = list(e.checked.findings)
        located = self.findings and self.findings.get((e.received.sha256, e.received.datei))
        if located:
            seen = set(own)
            own += [f for f in located if f not in seen]
        return sorted(own, key=sort_key) if len(own) > 1 else own

    def used_instead(self, e: Entry) -> str:
        used = next((u for u in self.used.get(e.key, ()) if u is not e), None)
        if used is None:
            return ""
        return (f"der zuvor eingereichte Bericht „{one_line(used.received.datei, 80)}“ vom "
                f"{german_datetime(used.received.eingang)}")

    def figures_of(self, who: _Who) -> tuple[tuple, ...]:
        """The kennzahlen rows of the submission's key figures, KEY_FIGURES order; their
        values are read (`figure_lines`) only when its files are written (the digest
        takes the rows' repr, which reads a value without writing its reference count:
        in the forked process, a value's memory page is then not copied)."""
        if who.period is None:
            return ()
        return tuple(self.rows.find(who.ags, who.period.projektjahr, who.period.quartal,
                                    _KEY_NAMES))


_KEY_NAMES = tuple(KEY_FIGURES)


def _current(entries: list[Entry]) -> list[Entry]:
    """The entries that get feedback, by file name (and sha256): all but byte-identical
    duplicates and submissions a newer one of the same project and quarter supersedes."""
    newest: dict[tuple, Entry] = {}
    current: list[Entry] = []
    for e in entries:
        if e.status == DUPLICATE:
            continue
        current.append(e)
        key = e.key
        if key is not None:
            best = newest.get(key)
            if best is None or e.order() > best.order():
                newest[key] = e
    current = [e for e in current if (key := e.key) is None or newest[key] is e]
    return sorted(current, key=_by_name)


_by_name = attrgetter("received.datei", "received.sha256")


def _addresses(text: object) -> list[str]:
    return list(_addresses_in(str(text or "")))


def _addresses_in(text: str) -> tuple[str, ...]:
    """The valid addresses in `text`, parsed by the email package (results kept from run
    to run, see kept.py: a warm run's drafts then do not import it)."""
    return tuple(kept.text(f"addresses\n{text}", lambda: _parsed_addresses(text)))


def _parsed_addresses(text: str) -> list[str]:
    from email.utils import parseaddr  # (imports socket: in the feedback child, not at start)

    found = []
    for part in re.split(r"[;,]", text):
        address = parseaddr(part.strip())[1]
        if EMAIL.match(address) and address not in found:
            found.append(address)
    return found


def _who(e: Entry, index: _Index, apps: dict, prog: Programme) -> _Who:
    """Who the submission is from and whom to write. A registry project's quarter with an
    address in the registry (the usual case) is looked up by the submission's key alone,
    without reading the workbook's values again (see _Index.quarters)."""
    known = index.quarters.get(e.key)
    if known is not None:
        return known
    sub = e.checked.submission
    ags = sub.ags if sub is not None and sub.ags and AGS.match(sub.ags) else ""
    pj, q = (sub.projektjahr, sub.quartal) if sub is not None else (None, None)
    period = Period(pj, q) if pj is not None and q is not None and \
        is_valid_period(prog, pj, q) else None
    app = apps.get(ags)
    name = one_line(app.name if app else (sub.get("PROJEKT_NAME") or "") if sub else "", 80)
    origin = getattr(e.received, "origin", None)
    for candidate in (lambda: app.email if app else "", lambda: sub.get("EMAIL") if sub else "",
                      lambda: getattr(origin, "sender", "")):
        to = ", ".join(_addresses(candidate()))
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


class _Run:
    """What every submission's feedback of one run shares."""

    def __init__(self, result, folder: Path, prog: Programme) -> None:
        self.folder = folder
        self.prefix = f"{folder}{os.sep}"
        self.prog = prog
        self.stichtag = result.stichtag or date.today()
        self.stichtag_iso = self.stichtag.isoformat()
        self.draft_time = datetime.combine(self.stichtag, DRAFT_HOUR, TZ)
        self.draft_iso = self.draft_time.isoformat()
        self.apps = {a.ags: a for a in result.applications}
        self.index = _Index(result, prog)


class _Job:
    """The feedback of one submission: what goes into its files, and how to write them."""

    def __init__(self, kind: str, e: Entry, who: _Who, findings: list[Finding],
                 ergebnis: str, stand: datetime, run: _Run, figures: tuple = ()) -> None:
        self.kind = kind  # abgelehnt | befunde | bestaetigung (also part of the Message-ID)
        self.e, self.who, self.findings, self.stand, self.run = e, who, findings, stand, run
        self.ergebnis = ergebnis  # '' for the standard text of `findings`
        self.figures = figures  # kennzahlen rows, see _Index.figures_of
        self.base = base = _base(e, who)
        self.names = [f"{base}.eml"] if kind == "abgelehnt" else \
            [f"{base}.xlsx", f"{base}.eml"]

    @property
    def paths(self) -> list[str]:
        return [self.run.prefix + name for name in self.names]

    @cached_property
    def info(self) -> ReportInfo:
        run = self.run
        return _info(self.e, self.who, self.findings, self.ergebnis, self.stand, run.prog,
                     run.index.zeitraeume)

    def inputs(self) -> tuple:
        """Every value the two files are made of, or what the program (covered besides,
        see state.py) makes it from: the original's bytes are named by their sha256; the
        title block (`info`) is made from the file's name, receipt and the values below;
        the key figure lines from the values in the rows `figures`."""
        r, who, stand = self.e.received, self.who, self.stand
        period = (who.period.projektjahr, who.period.quartal) if who.period else None
        return (self.kind, self.base, r.sha256, r.datei, r.eingang.isoformat(), self.e.status,
                who.ags, period, who.name, who.to, self.ergebnis,
                self.run.draft_iso if stand is self.run.draft_time else stand.isoformat(),
                tuple(self.findings), self.figures, self.run.stichtag_iso,
                self.kind == "befunde" and _too_big(self.e))  # (only a marked-up copy)

    def write(self, stored: tuple[Path, str] | None = None) -> None:
        """`stored`: where the pre-rendered confirmation is kept, for which environment."""
        info, who, findings, stichtag = self.info, self.who, self.findings, self.run.stichtag
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
            lines = figure_lines({row[3]: row[4] for row in self.figures})
            data = confirmation_bytes(info, lines, *(stored or ()))
            self._write(".xlsx", data)
            name = _attachment_name(who, "Eingangsbestätigung")
            letter = confirmation_letter(info, lines, name, bool(who.to))
        self._mail(letter, data, name)

    def _mail(self, letter: Letter, attachment: bytes | None, name: str) -> None:
        from pipeline.feedback.mail import draft  # the email package: only to write

        self._write(".eml", draft(self.who.to, letter.subject, letter.body, attachment,
                                  date=self.info.stand, sha256=self.e.received.sha256,
                                  attachment_name=name or None, kind=self.kind))

    def _write(self, suffix: str, data: bytes) -> None:
        """Not durable: checked by size, mtime and inode on the next run."""
        write_bytes(self.run.folder / f"{self.base}{suffix}", data, durable=False)


def _plan(e: Entry, run: _Run) -> _Job | None:
    index = run.index
    who = _who(e, index, run.apps, run.prog)
    findings = index.findings_of(e)
    eingang = e.received.eingang
    stand = run.draft_time if run.draft_time >= eingang else eingang
    if e.status == REJECTED or (e.key is None and e.checked.submission is None):
        return _Job("abgelehnt", e, who, findings, "Nicht lesbar.", stand, run)
    if findings:
        return _Job("befunde", e, who, findings, result_text(findings, index.used_instead(e)),
                    stand, run)
    if e.status != USED:
        return None
    return _Job("bestaetigung", e, who, findings, "", stand, run, index.figures_of(who))


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


def _remove_stale(folder: Path, written: list[str]) -> None:
    """Remove our files (by name pattern) that are not among the names `written`."""
    keep = set(written)
    try:
        found = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    with found:
        for entry in found:
            if entry.name not in keep and OUR_FILE.match(entry.name) and entry.is_file():
                os.unlink(entry.path)
