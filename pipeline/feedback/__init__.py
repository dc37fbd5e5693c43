"""Feedback a municipality can act on: per submission, the clerk's own workbook marked up
(or a short confirmation) and a ready-to-send email draft, in `<output>/rueckmeldungen/`.

Entry point: `write_feedback(result, out_dir, prog)`, called by the report after selection.
File names are built only from checked values (AGS of 8 digits, a valid quarter, the
sha256), never from a received file's or attachment's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from email.utils import parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.feedback.confirm import confirmation, figure_lines, findings_only
from pipeline.feedback.mail import draft
from pipeline.feedback.markup import marked_up_bytes
from pipeline.feedback.model import ReportInfo, german_datetime, result_text
from pipeline.feedback.texts import (
    Letter,
    confirmation_letter,
    findings_letter,
    one_line,
    rejected_letter,
)
from pipeline.findings import Finding, sort_key
from pipeline.outputs.atomic import write_bytes
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


def write_feedback(result, out_dir: Path, prog: Programme) -> list[Path]:
    """Write the feedback of every current submission; returns the files written.

    Skipped: byte-identical duplicates (the first copy gets the feedback) and submissions
    a newer one of the same project and quarter supersedes. Files of earlier runs that
    belong to no current submission are removed, so the folder shows only what to send.
    """
    folder = out_dir / FOLDER
    stichtag = result.stichtag or date.today()
    apps = {a.ags: a for a in result.applications}
    entries = _current(result.entries)
    written: list[Path] = []
    for e in entries:
        written += _one(e, _findings_of(e, result.findings), result, apps, folder,
                        stichtag, prog)
    _remove_stale(folder, written)
    return written


def _current(entries: list[Entry]) -> list[Entry]:
    newest: dict[tuple, Entry] = {}
    for e in entries:
        if e.status != DUPLICATE and e.key is not None:
            if e.key not in newest or e.order() > newest[e.key].order():
                newest[e.key] = e
    return [e for e in sorted(entries, key=lambda e: (e.received.datei, e.received.sha256))
            if e.status != DUPLICATE and (e.key is None or newest[e.key] is e)]


def _findings_of(e: Entry, all_findings: list[Finding]) -> list[Finding]:
    """The file's own findings plus cross-quarter ones located in it."""
    own = list(e.checked.findings)
    seen = set(own)
    own += [f for f in all_findings if f.sha256 == e.received.sha256
            and f.datei == e.received.datei and f not in seen]
    return sorted(own, key=sort_key)


def _addresses(text: object) -> list[str]:
    found = []
    for part in re.split(r"[;,]", str(text or "")):
        address = parseaddr(part.strip())[1]
        if EMAIL.match(address) and address not in found:
            found.append(address)
    return found


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
          prog: Programme) -> ReportInfo:
    zeitraum = ""
    if who.period is not None:
        zeitraum = (f"{who.period.label} ({german_date(quarter_start(prog, who.period))}–"
                    f"{german_date(quarter_end(prog, who.period))})")
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


def _one(e: Entry, findings: list[Finding], result, apps: dict, folder: Path,
         stichtag: date, prog: Programme) -> list[Path]:
    who = _who(e, apps, prog)
    stand = max(datetime.combine(stichtag, DRAFT_HOUR, TZ), e.received.eingang)
    base = folder / _base(e, who)
    xlsx, eml = base.with_suffix(".xlsx"), base.with_suffix(".eml")
    if e.status == REJECTED or e.checked.submission is None:
        info = _info(e, who, findings, "Nicht lesbar.", stand, prog)
        letter = rejected_letter(info, findings, stichtag, bool(who.to))
        return [_mail(eml, who, letter, None, "", stand, e, "abgelehnt")]
    if findings:
        info = _info(e, who, findings, result_text(findings, _used_instead(e, result)),
                     stand, prog)
        name = _attachment_name(who, "Prüfbericht")
        marked = _mark_up(e, findings, xlsx, info)
        letter = findings_letter(info, findings, name, stichtag, marked, bool(who.to))
        return [xlsx, _mail(eml, who, letter, xlsx, name, stand, e, "befunde")]
    if e.status != USED:
        return []
    info = _info(e, who, findings, "", stand, prog)
    figures = figure_lines(_figures(result, who))
    confirmation(info, xlsx, figures)
    name = _attachment_name(who, "Eingangsbestätigung")
    letter = confirmation_letter(info, figures, name, bool(who.to))
    return [xlsx, _mail(eml, who, letter, xlsx, name, stand, e, "bestaetigung")]


def _mark_up(e: Entry, findings: list[Finding], xlsx: Path, info: ReportInfo) -> bool:
    """The marked-up copy; if openpyxl cannot copy a file our reader could read, the
    findings-only workbook instead (False). Reading and writing our own files stay outside
    the `except`, so a full disk still stops the run."""
    sub = e.checked.submission
    rows = sum(len(r) for r in sub.tables.values()) if sub is not None else 0
    if rows > load_programme().limits.max_markup_rows:
        findings_only(info, findings, xlsx)
        return False
    original = e.received.path.read_bytes()
    try:
        data = marked_up_bytes(original, findings, info)
    except Exception:  # noqa: BLE001 - openpyxl raises anything, even OSError, on odd files
        findings_only(info, findings, xlsx)
        return False
    write_bytes(xlsx, data)
    return True


def _used_instead(e: Entry, result) -> str:
    used = next((u for u in result.entries if u.status == USED and u.key == e.key
                 and u is not e), None)
    if used is None:
        return ""
    return (f"der zuvor eingereichte Bericht „{one_line(used.received.datei, 80)}“ vom "
            f"{german_datetime(used.received.eingang)}")


def _figures(result, who: _Who) -> dict[str, object]:
    df = getattr(result, "figures", None)
    if df is None or who.period is None or len(df) == 0:
        return {}
    try:
        rows = df[(df["projekt_ags"] == who.ags) & (df["projektjahr"] == who.period.projektjahr)
                  & (df["quartal"] == who.period.quartal)]
        return dict(zip(rows["kennzahl"], rows["wert"], strict=True))
    except KeyError:
        return {}


def _mail(eml: Path, who: _Who, letter: Letter, attachment: Path | None, name: str,
          stand: datetime, e: Entry, kind: str) -> Path:
    write_bytes(eml, draft(who.to, letter.subject, letter.body, attachment, date=stand,
                           sha256=e.received.sha256, attachment_name=name or None, kind=kind))
    return eml


def _remove_stale(folder: Path, written: list[Path]) -> None:
    if not folder.is_dir():
        return
    keep = {p.name for p in written}
    for path in folder.iterdir():
        if path.is_file() and OUR_FILE.match(path.name) and path.name not in keep:
            path.unlink()
