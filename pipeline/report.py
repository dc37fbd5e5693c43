"""The main job: inbox -> intake -> validate -> select -> aggregate -> outputs."""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pipeline import waivers
from pipeline.checkcache import CheckCache, app_key
from pipeline.facts import Facts, extract
from pipeline.findings import Finding, sort_key
from pipeline.intake import Received, Store, iter_collect, sha256_file
from pipeline.ledger import record_run
from pipeline.lock import Busy, run_lock
from pipeline.outputs.atomic import remove_stale_temp_files
from pipeline.parallel import check_all, workers
from pipeline.periods import Period
from pipeline.progress import Progress
from pipeline.registry import Application, read_registry
from pipeline.rules import files as file_rules
from pipeline.rules import run_application_rules
from pipeline.rules.context import AppContext, SubmissionRef
from pipeline.select import USED, Entry, decide
from pipeline.spec import Programme, load_programme, load_template
from pipeline.validate import Checked, check_bytes, for_report

if TYPE_CHECKING:  # imported when needed (see import_rendering)
    from pipeline.aggregate import AppInfo, FigureRow

STORE_DIR = "eingangsarchiv"
T = TypeVar("T")


class ConfigError(Exception):
    """The run cannot start (bad registry, unusable folder); German message for the user."""


@dataclass
class ReportResult:
    entries: list[Entry]
    findings: list[Finding]
    figures: list[FigureRow]  # kennzahlen rows, report order (pipeline.aggregate)
    applications: list[Application]
    registry_findings: list[Finding] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)
    # The submission used per application and quarter, and the facts read from it.
    used: dict[tuple[str, Period], Entry] = field(default_factory=dict)
    facts: dict[tuple[str, Period], Facts] = field(default_factory=dict)
    registry_path: Path | None = None
    registry_sha256: str = ""
    stichtag: date | None = None
    waivers_applied: list = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.is_error)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.schwere.value == "Warnung")


def check_received(r: Received, prog: Programme, known: frozenset[str] | None) -> Checked:
    if r.problem is not None:
        rule_id, params = r.problem
        checked = Checked(r.datei, r.sha256, readable=False)
        checked.findings.append(file_rules.CONTAINER[rule_id].finding(**dict(params))
                                .at_file(r.datei, r.sha256))
        return checked
    if r.size > prog.limits.max_file_bytes:
        checked = Checked(r.datei, r.sha256, readable=False)
        checked.findings.append(file_rules.UNREADABLE["too_large"].finding(
            groesse=f"{r.size / 1e6:.1f} MB",
            grenze=f"{prog.limits.max_file_bytes / 1e6:.0f} MB").at_file(r.datei, r.sha256))
        return checked
    return for_report(check_bytes(r.path.read_bytes(), r.datei, r.sha256, prog, known))


def _app_findings(entries: list[Entry], prog: Programme,
                  cache: CheckCache | None = None) -> list[Finding]:
    """Cross-quarter findings; with a cache, an application whose used files are all as in
    an earlier run gets that run's findings (its receipts are then never unpacked)."""
    by_app: dict[str, list[SubmissionRef]] = {}
    for e in entries:
        if e.status == USED:
            by_app.setdefault(e.key[0], []).append(
                SubmissionRef(e.received.datei, e.received.sha256, e.period,
                              e.checked.submission))
    found = []
    for ags, refs in sorted(by_app.items()):
        key = app_key(ags, [(r.datei, r.sha256, r.period.projektjahr, r.period.quartal)
                            for r in refs]) if cache is not None else ""
        known = cache.get_findings(key) if cache is not None else None
        if known is None:
            known = run_application_rules(AppContext(ags, prog, refs))
            if cache is not None:
                cache.put_findings(key, known)
            for ref in refs:  # read by those rules, hardly by anything after
                ref.sub.release_tables()
        found.extend(known)
    return found


def _attach(entries: list[Entry], findings: list[Finding]) -> None:
    """Cross-quarter findings belong to the file they point at."""
    by_file = {e.received.datei: e for e in entries}
    for f in findings:
        checked = by_file[f.datei].checked
        checked.findings = sorted([*checked.findings, f], key=sort_key)


def _apply_waivers(inbox: Path, entries: list[Entry]) -> tuple[list, list[Finding]]:
    path = waivers.find_file(inbox)
    if path is None:
        return [], []
    loaded, problems = waivers.load(path)
    every = [f for e in entries for f in e.checked.findings]
    _marked, applied, about = waivers.apply(loaded, every, path.name)
    accepted = {id(original): marked for original, marked in zip(every, _marked, strict=True)}
    for e in entries:
        e.checked.findings = [accepted[id(f)] for f in e.checked.findings]
    return applied, problems + about


def _apps_for_figures(apps: list[Application], entries: list[Entry],
                      prog: Programme) -> list[AppInfo]:
    """Registry applications; without a registry, every AGS seen in a used submission at
    the programme's maximum approval (documented in docs/decisions.md)."""
    from pipeline.aggregate import AppInfo

    if apps:
        return [AppInfo(a.ags, a.bewilligung_eur) for a in sorted(apps, key=lambda a: a.ags)]
    seen = sorted({e.key[0] for e in entries if e.status == USED})
    return [AppInfo(ags, prog.money.max_approval) for ags in seen]


@contextmanager
def relaxed_gc(threshold: int = 200_000) -> Iterator[None]:
    """A run builds millions of long-lived, acyclic objects (values, findings, figures);
    with the default threshold (700) the cyclic collector walks the growing heap again and
    again (measured: two thirds of loading 432 cached results). Collect rarely instead."""
    old = gc.get_threshold()
    gc.freeze()  # what is alive now (modules, specs) is never garbage
    gc.set_threshold(threshold, old[1], old[2])
    try:
        yield
    finally:
        # The run's objects are still in the youngest generation: restoring the threshold
        # would make the next allocation walk all of them (≈ 20 ms after a warm run, just
        # before `kisi` exits). Frozen first, they go to the oldest generation instead.
        gc.freeze()
        gc.set_threshold(*old)
        gc.unfreeze()


def run_report(inbox: Path, out_dir: Path, registry: Path | None,
               stichtag: date | None = None, store_dir: Path | None = None,
               progress: Progress | None = None, use_cache: bool = True) -> ReportResult:
    prog = load_programme()
    spec = load_template()
    if not inbox.is_dir():
        raise ConfigError(f"Der Eingangsordner „{inbox}“ existiert nicht.")
    if not os.access(inbox, os.R_OK | os.X_OK):
        raise ConfigError(f"Der Eingangsordner „{inbox}“ ist nicht lesbar (fehlende "
                          "Berechtigung). Bitte die Rechte des Ordners prüfen.")
    apps, reg_findings = read_registry(registry, prog) if registry else ([], [])
    known = frozenset(a.ags for a in apps) if registry else None
    store_root = store_dir or out_dir / STORE_DIR
    try:
        with run_lock(out_dir, store_root), relaxed_gc():
            return _run(prog, spec, inbox, out_dir, registry, apps, reg_findings, known,
                        Store(store_root), stichtag, progress, use_cache)
    except Busy as err:
        raise ConfigError(str(err)) from err


class Recorded(Iterable[T]):
    """An iterator whose items are kept: consumed once (by the checking, which starts on
    the first files while intake stores the next), then iterated again from `items`."""

    def __init__(self, items: Iterator[T]) -> None:
        self._source: Iterator[T] | None = items
        self.items: list[T] = []

    def __iter__(self) -> Iterator[T]:
        if self._source is None:
            return iter(self.items)
        return self._consume()

    def _consume(self) -> Iterator[T]:
        source, self._source = self._source, None
        for item in source:  # type: ignore[union-attr]
            self.items.append(item)
            yield item


def import_rendering() -> None:
    """Import what aggregation and the parent's writers need (xlsxwriter, the report
    writers) while the workers check files, not before: the workers never need them. The
    forked children import theirs (jinja2, the feedback, the audit workbook) themselves,
    on the other core."""
    import pipeline.aggregate  # noqa: F401
    import pipeline.outputs.waivers_csv  # noqa: F401
    import pipeline.outputs.write  # noqa: F401
    import pipeline.startup

    pipeline.startup.save()  # (the dataclasses' compiled code, when `kisi` kept it)


def import_openpyxl() -> None:
    """openpyxl (≈ 0.15 s with numpy) writes marked-up copies and renders the first
    confirmation of a store: imported while workers check files (then it is free, and the
    feedback's process inherits it). A run with nothing to check does not load it unless
    the feedback needs it (a warm run usually does not)."""
    import openpyxl  # noqa: F401


# The phases below import their modules on first call (import_rendering has usually done
# it already), so `kisi report` starts without pandas, openpyxl and jinja2 and the check
# workers are forked without them. They are also the names the benchmark times.
def kennzahlen(*args, **kwargs):
    from pipeline.aggregate import kennzahlen as compute

    return compute(*args, **kwargs)


def write_outputs(*args, **kwargs):
    from pipeline.outputs.write import write_outputs as write

    return write(*args, **kwargs)


def write_applied(*args, **kwargs) -> None:
    from pipeline.outputs.waivers_csv import write_applied as write

    write(*args, **kwargs)


def write_feedback(*args, **kwargs) -> list[Path]:
    from pipeline.feedback import write_feedback as write

    return write(*args, **kwargs)


def _folder_key(folder: Path) -> str:
    """Feedback and reports written into one output folder are remembered per folder (a
    store may serve several output folders; then each keeps its own record)."""
    return hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]


def _run(prog, spec, inbox, out_dir, registry, apps, reg_findings, known, store, stichtag,
         progress, use_cache) -> ReportResult:
    remove_stale_temp_files(out_dir)
    progress = progress or Progress(quiet=True)
    progress.start(0)
    cache = CheckCache(store.root, prog, known) if use_cache else None
    received = Recorded(iter_collect(inbox, store, prog.limits, trust_stat=use_cache))
    checked = check_all(received, check_received, prog, known, cache, progress.advance,
                        meanwhile=import_rendering, arrived=progress.expect,
                        while_busy=import_openpyxl)
    received = received.items
    progress.finish()
    entries = decide([Entry(r, c) for r, c in zip(received, checked, strict=True)])
    _attach(entries, _app_findings(entries, prog, cache))
    applied, waiver_findings = _apply_waivers(inbox, entries)
    used = {(e.key[0], e.period): e for e in entries if e.status == USED}
    facts = {key: e.checked.facts or extract(e.checked.submission, prog)
             for key, e in used.items()}
    infos = _apps_for_figures(apps, entries, prog)
    figures = kennzahlen(prog, spec, infos, {k: v for k, v in facts.items()
                                             if k[0] in {i.ags for i in infos}})
    findings = sorted([f for e in entries for f in e.checked.findings], key=sort_key)
    findings += list(reg_findings) + waiver_findings
    result = ReportResult(entries, findings, figures, apps, list(reg_findings), used=used,
                          waivers_applied=applied,
                          facts=facts, registry_path=registry,
                          registry_sha256=sha256_file(registry) if registry else "",
                          stichtag=stichtag or date.today())
    # The ledger first: a run that cannot record what it received changes no report.
    record_run(store.root, entries, result.stichtag, (prog.digest, spec.digest),
               result.registry_sha256)
    progress.note("Schreibe Berichte, Prüfpfad und Rückmeldungen …")
    # Feedback (one pair of files per submission) and the audit trail in a child on the
    # other core, the other consolidated outputs here: independent files, so the bytes do
    # not depend on this.
    folder = _folder_key(out_dir)
    state = store.root / "cache" / f"feedback-{folder}"
    feedback = write_outputs(
        result, out_dir, prog, result.stichtag, parallel=workers() > 1,
        state=store.root / "cache" / f"berichte-{folder}",
        beside=lambda: write_feedback(result, out_dir, prog, state=state))
    write_applied(out_dir / "ausnahmen_angewendet.csv", applied)
    result.outputs.append(out_dir / "ausnahmen_angewendet.csv")
    result.outputs += feedback
    return result
