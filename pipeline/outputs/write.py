"""Write every output of a report run: one entry per file in `write_outputs`.

With a `state` folder (one per output folder, owned by the caller), a rerun does only what
changed (`pipeline.outputs.records`): a report whose inputs have the same digest as when it
was written, and that is still exactly the file written then, is left alone; otherwise
`herkunft.csv` and the Herkunft sheets of `pruefpfad.xlsx` copy the rows of every submission
that is unchanged from the previous run instead of rendering them again (the sheets: its
deflate chunk, if it is whole on one sheet), and the lineage parts of those submissions are
not sorted again (`PARTS_MEMO`). Either way the bytes are those of a full rendering
(tested).
"""

from __future__ import annotations

import hashlib
import importlib.util
import platform
import zlib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import xlsxwriter

import pipeline
from pipeline.checkcache import code_digest
from pipeline.forked import Background
from pipeline.outputs import TEMPLATE_DIR, csvs
from pipeline.outputs.amif_xlsx import write_amif_workbook
from pipeline.outputs.atomic import remove_stale_temp_files, synced_in_background
from pipeline.outputs.lineage import (
    Memo,
    Part,
    lineage_parts,
    memo,
    traced_figures,
    write_lineage_parts,
)
from pipeline.outputs.ministry import write_ministry_workbook
from pipeline.outputs.records import Records
from pipeline.outputs.view import ReportView
from pipeline.spec import Programme, load_template, template_versions

if TYPE_CHECKING:
    from pipeline.outputs.audit_lineage import Reuse

BACKGROUND = "pruefpfad.xlsx"
HTML = "uebersicht.html"
LINEAGE_CSV = "herkunft.csv"
IN_CHILD = (BACKGROUND, LINEAGE_CSV, HTML)  # rendered by the forked child, in this order
# (the two that show the lineage rows cut them once, there): the parent then needs
# neither jinja2, nor the audit modules, nor the lineage, and the two cores are evenly busy
STATE_FILE = "berichte.marshal"  # the records, in the caller's state folder
LINEAGE_CHUNKS = "herkunft.deflate"  # the Herkunft rows of pruefpfad.xlsx, compressed,
# same folder (`audit_lineage.Blob`)
PARTS_MEMO = "herkunft-teile"  # in the records' memo: the rows per figure of each lineage
# part (`lineage.memo`), valid while the environment is the same
T = TypeVar("T")
OLD_STATE = ("herkunft.xml", "berichte.json")  # what earlier versions kept there: removed


def write_outputs(result, out_dir: Path, prog: Programme, stichtag: date,
                  parallel: bool = False, state: Path | None = None,
                  beside: Callable[[], T] | None = None) -> T | None:
    """`beside` runs first in the child (the report's feedback); its result is returned.

    One child, not one for the feedback and one for these reports: after each fork, every
    page either process writes to is copied first (measured: a second child cost ≈ 7,000
    more page faults in the parent, ≈ 20 ms of a warm run)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    intake_rows = []
    for e in result.entries:
        key = e.key or ("", None, None)
        errors, warnings = e.checked.errors, e.checked.warnings
        intake_rows.append([e.received.datei, e.received.sha256,
                            e.received.eingang.isoformat(), key[0], key[1], key[2],
                            e.status, errors, warnings])
    view = ReportView(result, prog, stichtag)
    run = _Run(out_dir, state, prog, result, stichtag)
    targets: dict[str, Callable[[Path], object]] = {
        "befunde.csv": lambda p: csvs.write_findings(p, result.findings),
        "eingaenge.csv": lambda p: csvs.write_intake(p, intake_rows),
        "kennzahlen.csv": lambda p: csvs.write_figures(p, view.figure_rows),
        LINEAGE_CSV: lambda p: write_lineage_parts(p, run.parts(view), run.previous_csv()),
        "bericht_ministerium.xlsx": lambda p: write_ministry_workbook(p, view),
        "bericht_amif.xlsx": lambda p: write_amif_workbook(p, view),
        BACKGROUND: lambda p: _audit(p, view, run),
        HTML: lambda p: _html(p, view, run),
    }
    order = list(targets)
    job = None
    try:
        # pruefpfad.xlsx (the largest), herkunft.csv and the HTML page in a forked child on
        # the other core (the feedback, the other large part, runs in a child of the
        # report); it sends back what to record, with the lineage memo.
        in_child = {name: targets.pop(name) for name in IN_CHILD}
        todo = [name for name in IN_CHILD if not run.unchanged(name)]
        view.prepare()  # what both processes read, computed once

        def child() -> tuple[T | None, list[tuple[str, object]], Memo | None]:
            first = beside() if beside is not None else None
            return first, [(name, in_child[name](out_dir / name)) for name in todo], \
                run.memo()

        job = Background(child, enabled=parallel and (bool(todo) or beside is not None))
        # Each report is fsynced and put in place by a thread while the next one is
        # rendered; the records (which stat the files) are taken once all are in place.
        written = []
        with synced_in_background():
            for name, write in targets.items():
                if not run.unchanged(name):
                    written.append((name, write(out_dir / name)))
        first, done, lineage_memo = job.result()
        written += done
        run.adopt(lineage_memo)
        for name, extra in written:
            run.record(name, extra)
        result.outputs += [out_dir / name for name in order]
    except BaseException:
        if job is not None:
            job.abandon()
        run.save(complete=False)
        raise
    run.save(complete=True)
    return first


def _html(path: Path, view: ReportView, run: _Run) -> None:
    from pipeline.outputs.html import write_html  # (imports jinja2: only where rendered)

    # The compiled template is kept in the state folder.
    write_html(path, view, run.blob_path.parent if run.blob_path is not None else None)


def _audit(path: Path, view: ReportView, run: _Run) -> dict | None:
    """Write pruefpfad.xlsx; returns what to record for the next run (where its Herkunft
    rows are kept), None without a state folder."""
    from pipeline.outputs.audit import write_audit_workbook  # (only the child renders it)
    from pipeline.outputs.audit_lineage import Blob

    blob = Blob(run.blob_path) if run.blob_path is not None else None
    write_audit_workbook(path, view, run.parts(view), run.previous_chunks(), blob)
    return None if blob is None else {"styles": blob.styles, "chunks": blob.index}


def environment(prog: Programme) -> str:
    """Everything besides the run's inputs that shapes the reports: the program, the
    specs, the HTML template and the versions of the libraries that write the bytes."""
    parts = [pipeline.__version__, code_digest(), prog.digest,
             *(load_template(v).digest for v in template_versions()),
             xlsxwriter.__version__, _source_digest("jinja2"), platform.python_implementation(),
             platform.python_version(), zlib.ZLIB_RUNTIME_VERSION]
    for path in sorted(TEMPLATE_DIR.rglob("*")):
        if path.is_file():
            parts += [path.relative_to(TEMPLATE_DIR).as_posix(),
                      hashlib.sha256(path.read_bytes()).hexdigest()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _source_digest(package: str) -> str:
    """A library's version without importing it: the digest of its `__init__.py` (which
    holds `__version__`). jinja2 is imported only where the page is rendered."""
    spec = importlib.util.find_spec(package)
    origin = spec.origin if spec is not None else None
    return hashlib.sha256(Path(origin).read_bytes()).hexdigest() if origin else "-"


def run_inputs(result, stichtag: date) -> tuple:
    """Every input of the reports besides the program (see `environment`): what was
    received and decided, the findings, the registry, the Stichtag. What a file holds is
    named by its sha256 (its check result is a function of its bytes and the program)."""
    registry = result.registry_path
    return (stichtag, registry.name if registry else None, result.registry_sha256,
            tuple(result.applications), tuple(result.registry_findings),
            tuple(result.findings), tuple(result.waivers_applied),
            tuple((e.received, e.status, e.checked.readable, tuple(e.checked.findings))
                  for e in result.entries))


class _Run:
    """What this run knows of the previous one (nothing without a state folder)."""

    def __init__(self, out_dir: Path, state: Path | None, prog: Programme, result,
                 stichtag: date) -> None:
        self.out_dir = out_dir
        if state is not None:
            state.mkdir(parents=True, exist_ok=True)
            remove_stale_temp_files(state)  # e.g. the chunks of a run that was killed
            for name in OLD_STATE:
                (state / name).unlink(missing_ok=True)
        self.records = Records(state / STATE_FILE, environment(prog)) if state else None
        self.blob_path = state / LINEAGE_CHUNKS if state else None
        self.digest = self.records.digest(run_inputs(result, stichtag)) \
            if self.records is not None else ""
        self._parts: list[Part] | None = None
        self._figures: list[str] = []
        self._memo: Memo | None = None

    def files(self, name: str) -> list[Path]:
        if name == BACKGROUND and self.blob_path is not None:
            return [self.out_dir / name, self.blob_path]
        return [self.out_dir / name]

    def unchanged(self, name: str) -> bool:
        return self.records is not None and \
            self.records.unchanged(name, self.digest, self.files(name))

    def record(self, name: str, extra: object = None) -> None:
        if self.records is not None:
            self.records.record(name, self.digest, self.files(name), extra)

    def memo(self) -> Memo | None:
        """The lineage memo for the next run, if the parts were cut in this process."""
        return None if self._parts is None else memo(self._parts, self._figures)

    def adopt(self, lineage_memo: Memo | None) -> None:
        """Keep the memo of the parts cut where the lineage was rendered (the child)."""
        self._memo = lineage_memo

    def save(self, complete: bool) -> None:
        if self.records is None:
            return
        if self._memo is not None:  # else not cut this time: the previous memo still holds
            self.records.memo[PARTS_MEMO] = self._memo
        self.records.save(complete)

    def parts(self, view: ReportView) -> list[Part]:
        """The lineage parts (cut once; parts known from the previous run are not
        sorted again unless they are rendered)."""
        if self._parts is None:
            known = self.records.memo.get(PARTS_MEMO) if self.records is not None else None
            self._parts = lineage_parts(view, known if isinstance(known, dict) else None)
            self._figures = traced_figures(view)
        return self._parts

    def previous_csv(self) -> tuple[Path, dict[str, list[int]]] | None:
        """The herkunft.csv of the previous run (while it is the file we wrote) and where
        each part is in it."""
        if self.records is None:
            return None
        index = self.records.extra(LINEAGE_CSV, self.files(LINEAGE_CSV))
        return (self.out_dir / LINEAGE_CSV, index) if isinstance(index, dict) else None

    def previous_chunks(self) -> Reuse | None:
        """The Herkunft chunks of the previous run and where each part's is."""
        if self.records is None or self.blob_path is None:
            return None
        extra = self.records.extra(BACKGROUND, self.files(BACKGROUND))
        if not isinstance(extra, dict) or not isinstance(extra.get("chunks"), dict) \
                or not isinstance(extra.get("styles"), list):
            return None
        from pipeline.outputs.audit_lineage import Reuse

        return Reuse(self.blob_path, extra["chunks"], extra["styles"])
