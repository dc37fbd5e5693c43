"""What the benchmark measures: the parsing floor, the naive pandas baseline, `kisi report`
as a subprocess (with peak RSS of its process tree) and the phases of an in-process run."""

from __future__ import annotations

import csv
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
import xml.parsers.expat
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

PART = re.compile(r"xl/(worksheets/[^/]+|sharedStrings)\.xml")
SAMPLE_SECONDS = 0.02
KB = 1024


# --------------------------------------------------------------------------- helpers
@dataclass
class Timing:
    """Wall-clock seconds of repeated runs of one measurement."""

    runs: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def add(self, wall: float, cpu: float) -> None:
        self.runs.append(wall)
        self.cpu.append(cpu)

    def as_dict(self) -> dict[str, Any]:
        return {"median_s": round(self.median, 4), "runs_s": [round(r, 4) for r in self.runs],
                "cpu_median_s": round(statistics.median(self.cpu), 4) if self.cpu else None,
                "note": self.note}


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    """User + system CPU time of this process (all threads) or of its reaped children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def clock(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and the children it reaped meanwhile)."""
    cpu0 = cpu_seconds() + cpu_seconds(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    fn()
    wall = time.perf_counter() - start
    return wall, cpu_seconds() + cpu_seconds(resource.RUSAGE_CHILDREN) - cpu0


def repeat(fn: Callable[[], object], times: int, slow_after: float | None = None) -> Timing:
    """Median of `times` runs; with `slow_after`, one run is enough once it took longer."""
    timing = Timing()
    for _ in range(times):
        timing.add(*clock(fn))
        if slow_after is not None and timing.runs[-1] > slow_after and len(timing.runs) < times:
            timing.note = f"ran once: one run took > {slow_after:.0f} s"
            break
    return timing


# --------------------------------------------------------------------------- floor
def floor_parse(paths: Iterable[Path]) -> tuple[int, int]:
    """Unzip and expat-tokenise every worksheet and sharedStrings part (no handlers).
    Returns (parts, inflated bytes)."""
    parts = size = 0
    for path in paths:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if PART.fullmatch(name):
                    data = zf.read(name)
                    parser = xml.parsers.expat.ParserCreate()
                    parser.Parse(data, True)
                    parts += 1
                    size += len(data)
    return parts, size


def floor_parallel(paths: list[Path], workers: int) -> tuple[int, int]:
    """The floor on `workers` processes (pool start-up included)."""
    chunks = [paths[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(floor_parse, chunks))
    return sum(r[0] for r in results), sum(r[1] for r in results)


# --------------------------------------------------------------------------- naive
def naive_read(paths: Iterable[Path]) -> int:
    """What a first script would do: pandas + openpyxl, every sheet of every file."""
    import pandas as pd

    rows = 0
    for path in paths:
        frames = pd.read_excel(path, sheet_name=None, engine="openpyxl")
        rows += sum(len(f) for f in frames.values())
    return rows


# --------------------------------------------------------------------------- RSS
def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as fh:
                found.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return found


def process_tree(pid: int) -> list[int]:
    pids, stack = [], [pid]
    while stack:
        p = stack.pop()
        pids.append(p)
        stack.extend(_children(p))
    return pids


def _proc_kb(path: str, field: str) -> int:
    """Bytes of the `field:` line (in kB) of a /proc file; 0 when the process is gone."""
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1]) * KB
    except OSError:
        pass
    return 0


def rss_bytes(pid: int) -> int:
    return _proc_kb(f"/proc/{pid}/status", "VmRSS:")


def pss_bytes(pid: int) -> int:
    """Proportional set size: private pages plus each shared page divided by the number of
    processes sharing it. Summed over a process tree it counts memory once, where the RSS
    sum counts every page a forked child still shares with its parent again."""
    return _proc_kb(f"/proc/{pid}/smaps_rollup", "Pss:")


class RssSampler(threading.Thread):
    """Polls VmRSS and PSS of a process and all its descendants; keeps the peak of the RSS
    sum, of the PSS sum and of the largest single process."""

    def __init__(self, pid: int, interval: float = SAMPLE_SECONDS) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.stop = threading.Event()
        self.peak_tree = self.peak_single = self.samples = self.max_procs = 0
        self.peak_pss = 0

    def run(self) -> None:
        while not self.stop.is_set():
            tree = process_tree(self.pid)
            sizes = [rss_bytes(p) for p in tree]
            self.peak_tree = max(self.peak_tree, sum(sizes))
            self.peak_pss = max(self.peak_pss, sum(pss_bytes(p) for p in tree))
            self.peak_single = max(self.peak_single, max(sizes, default=0))
            self.max_procs = max(self.max_procs, sum(1 for s in sizes if s))
            self.samples += 1
            self.stop.wait(self.interval)


# --------------------------------------------------------------------------- kisi report
@dataclass
class KisiRun:
    seconds: float
    cpu_seconds: float
    peak_tree_bytes: int
    peak_single_bytes: int
    peak_pss_bytes: int
    samples: int
    max_procs: int
    errors: int | None
    warnings: int | None
    stdout: str


SUMMARY = re.compile(r"(\d+) Fehler, (\d+) Warnungen")


def kisi_executable() -> list[str]:
    exe = Path(sys.executable).parent / "kisi"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("kisi")
    if found is None:
        raise SystemExit("kisi is not installed: run `make install` first.")
    return [found]


def kisi_report(inbox: Path, out: Path, registry: Path | None, stichtag: date,
                env: dict[str, str] | None = None) -> KisiRun:
    """Run `kisi report` as a subprocess, sampling the RSS of its process tree. On its own
    (`KISI_SERVER=0`: a server the user may have running is not asked) unless `env` is a
    `Resident`'s: then the command runs in the server, and the memory and CPU time of the
    fork that runs it are not seen here (it is not a child of the command)."""
    cmd = [*kisi_executable(), "report", "--input", str(inbox), "--output", str(out),
           "--stichtag", stichtag.isoformat()]
    if registry is not None:
        cmd += ["--registry", str(registry)]
    cpu0 = cpu_seconds(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "KISI_SERVER": "0", **(env or {})})
    sampler = RssSampler(proc.pid)
    sampler.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - cpu0
    sampler.stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"kisi report failed ({proc.returncode}):\n{stdout}\n{stderr}")
    m = SUMMARY.search(stdout)
    return KisiRun(seconds, cpu, sampler.peak_tree, sampler.peak_single, sampler.peak_pss,
                   sampler.samples,
                   sampler.max_procs, int(m[1]) if m else None, int(m[2]) if m else None,
                   stdout.strip())


class Resident:
    """`kisi server` running for the `with` block, in a private folder of its own; the block
    gets the environment that sends `kisi` commands to it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = {"KISI_SERVER_DIR": str(folder), "KISI_SERVER": "1"}

    def _kisi(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*kisi_executable(), "server", *args], capture_output=True,
                              text=True, timeout=120, env={**os.environ, **self.env})

    def __enter__(self) -> dict[str, str]:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        done = self._kisi("start", "--leerlauf", "30")
        if done.returncode != 0:
            raise RuntimeError(f"kisi server start failed:\n{done.stdout}{done.stderr}")
        return self.env

    def __exit__(self, *exc: object) -> None:
        self._kisi("stop")


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# --------------------------------------------------------------------------- phases
# Names run_report looks up at call time in pipeline.report's namespace (missing ones are
# skipped, so the bench survives refactorings; what is not wrapped lands in "other").
PHASES = ["read_registry", "collect", "check_all", "decide", "_app_findings",
          "_apply_waivers", "extract", "kennzahlen", "record_run", "write_outputs",
          "write_applied", "write_feedback"]
# The phases that render reports (the rest reads, checks and computes).
RENDER_PHASES = ["write_outputs", "write_applied"]
OUTPUT_PREFIX = "write_outputs › "
# Called from within write_outputs (the feedback, beside the audit trail): shown under it,
# so that the top-level phases add up to the run.
NESTED = ("write_feedback",)
# What write_outputs' child renders (here in-process): the feedback, pruefpfad.xlsx,
# herkunft.csv and the HTML page; those four are shown beside it too.
CHILD_PART = "the child's part (feedback, pruefpfad.xlsx, herkunft.csv, HTML)"


def _timed(spent: dict[str, float], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - start
    return wrapper


def _output_writers() -> list[tuple[Any, str, str]]:
    """(namespace, attribute, label) of what write_outputs calls per output file: the
    functions and classes of pipeline.outputs.write, and write_* of modules it imports."""
    import inspect

    import pipeline.outputs.write as write

    found = []
    for name, obj in vars(write).items():
        if name.startswith("_") or name == "write_outputs":
            continue
        if inspect.ismodule(obj) and obj.__name__.startswith("pipeline."):
            found += [(obj, sub, f"{name}.{sub}") for sub, fn in vars(obj).items()
                      if sub.startswith("write") and inspect.isfunction(fn)
                      and fn.__module__ == obj.__name__]
        elif (inspect.isfunction(obj) or inspect.isclass(obj)) and \
                getattr(obj, "__module__", "").startswith("pipeline."):
            found.append((write, name, CHILD_PART if name == "Background" else name))
    found += [(write, "_audit", "pruefpfad.xlsx"), (write, "_html", "uebersicht.html")]
    return found


@dataclass
class PhaseRun:
    """Seconds per phase of one in-process run_report, and what it decided (to notice a
    run that measured something else, e.g. every file rejected)."""

    seconds: dict[str, float]
    files: int
    used: int
    errors: int


def run_phases(inbox: Path, out: Path, registry: Path | None, stichtag: date) -> PhaseRun:
    """run_report in this process with each phase timed (by wrapping the functions it calls
    through module namespaces); 'other' is what is left of the total. Keys starting with
    OUTPUT_PREFIX break write_outputs down by what it calls."""
    import pipeline.report as report

    spent: dict[str, float] = defaultdict(float)
    patched = [(report, name, name) for name in PHASES if hasattr(report, name)]
    patched += [(ns, attr, OUTPUT_PREFIX + lbl) for ns, attr, lbl in _output_writers()]
    originals = [(ns, attr, getattr(ns, attr)) for ns, attr, _ in patched]
    for ns, attr, lbl in patched:
        setattr(ns, attr, _timed(spent, lbl, getattr(ns, attr)))
    # Rendering on one core, in this process (what a forked child renders would not be
    # timed here); the checking keeps its process pool (`pipeline.parallel.workers`).
    real_workers = report.workers
    report.workers = lambda: 1  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        done = report.run_report(inbox, out, registry, stichtag)
        total = time.perf_counter() - start
    finally:
        for ns, attr, fn in originals:
            setattr(ns, attr, fn)
        report.workers = real_workers  # type: ignore[assignment]
    result = {lbl: spent.get(lbl, 0.0) for _, _, lbl in patched}
    for name in NESTED:
        if name in result:
            result[OUTPUT_PREFIX + name] = result.pop(name)
    top = {k: v for k, v in result.items() if not k.startswith(OUTPUT_PREFIX)}
    result["other"] = total - sum(top.values())
    result["total"] = total
    return PhaseRun(result, len(done.entries), len(done.used), done.errors)


# --------------------------------------------------------------------------- outputs
EXCEL_MAX_ROWS = 1_048_576


def xlsx_sheet_rows(path: Path) -> dict[str, int]:
    """Last used row of every sheet, from each worksheet's <dimension> (as xlsxwriter
    writes it)."""
    with zipfile.ZipFile(path) as zf:
        book = zf.read("xl/workbook.xml").decode("utf-8")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        targets = {}
        for rel in re.findall(r"<Relationship [^>]*>", rels):
            rid, target = re.search(r'Id="([^"]+)"', rel), re.search(r'Target="([^"]+)"', rel)
            if rid and target:
                targets[rid[1]] = target[1].removeprefix("/xl/")
        rows = {}
        for sheet in re.findall(r"<sheet [^>]*>", book):
            name, rid = re.search(r'name="([^"]*)"', sheet), re.search(r'r:id="([^"]+)"', sheet)
            if not (name and rid and rid[1] in targets):
                continue
            with zf.open("xl/" + targets[rid[1]]) as fh:
                head = fh.read(4096).decode("utf-8", errors="replace")
            dim = re.search(r'<dimension ref="[A-Z]+\d+(?::[A-Z]+(\d+))?"', head)
            rows[name[1]] = int(dim[1]) if dim and dim[1] else (1 if dim else 0)
        return rows


def output_rows(out: Path) -> dict[str, Any]:
    """Rows per sheet of every .xlsx output and lines of every .csv output (data rows):
    shows whether a sheet hit Excel's row limit."""
    found: dict[str, Any] = {}
    for path in sorted(out.glob("*.xlsx")):
        found[path.name] = xlsx_sheet_rows(path)
    for path in sorted(out.glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            found[path.name] = max(sum(1 for _ in csv.reader(fh)) - 1, 0)
    found["sheets_full"] = [f"{name} › {sheet}" for name, sheets in found.items()
                            if isinstance(sheets, dict)
                            for sheet, n in sheets.items() if n >= EXCEL_MAX_ROWS]
    # The audit trail continues on "Herkunft 2", … past Excel's limit: every lineage row
    # of herkunft.csv must be on one of those sheets (one header row each).
    audit = found.get("pruefpfad.xlsx", {})
    on_sheets = sum(n - 1 for sheet, n in audit.items() if sheet.startswith("Herkunft"))
    found["herkunft_complete"] = on_sheets == found.get("herkunft.csv", -1)
    return found
