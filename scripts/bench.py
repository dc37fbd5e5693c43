"""Benchmark of the whole report run against the parsing floor and a naive pandas baseline.

    .venv/bin/python scripts/bench.py [--repeat 3] [--size 10000] [--quick]

Generates (once, cached under build/bench/<name>/) seeded inboxes with the project's own
template generator: 36 applications × 12 quarters = 432 valid workbooks (~100 receipts,
9 staff rows, 5 measures each), the same at 2× and 4× the applications, one workbook with
5,000 receipts and, with --size N, N workbooks. Then measures, on the same files, medians of
--repeat runs:

- floor: unzip + expat tokenising (no handlers) of every worksheet and sharedStrings part;
- naive: pandas.read_excel(sheet_name=None, engine="openpyxl") of every file;
- `kisi report` cold (fresh output and store) and warm (same store after one new file),
  with the peak RSS of its process tree;
- the cold run at 1×, 2× and 4× the files; the phases of an in-process run_report; a cProfile
  of a cold run on one worker.

Prints the tables and PASS/FAIL per target and writes build/bench/results.json. Timings
belong here, not in tests (tests/test_bench_smoke.py only keeps this script from rotting).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from benchlib import data, measure, profile, table
from benchlib.measure import KisiRun, Timing
from benchlib.table import MB, Target

STICHTAG = date(2028, 12, 31)
RUNS_DIR = data.BENCH_DIR / "runs"
RESULTS = data.BENCH_DIR / "results.json"
NAIVE_ONCE_AFTER_S = 20.0
# The new file of a warm run arrives this long after the cold run ended (a report is not
# rerun within milliseconds of the last; a `kisi server` loads the last run's results
# meanwhile, and the ended run's processes are gone). The same for runs with and without.
WARM_AFTER_S = 1.0
SIZE_LIMIT_S = 300.0


# --------------------------------------------------------------------------- measurements
def kisi_cold_warm(ib: data.Inbox, times: int, warm: bool = True, runs_dir: Path = RUNS_DIR,
                   inspect: Callable[[Path], None] | None = None,
                   env: dict[str, str] | None = None,
                   ) -> tuple[list[KisiRun], list[KisiRun]]:
    """`times` × (cold run on a fresh output folder and store, then, if `warm`, the same
    store after the inbox's extra file arrived). `inspect` sees the cold run's output;
    `env`: a `measure.Resident`'s, to run both through `kisi server`."""
    colds: list[KisiRun] = []
    warms: list[KisiRun] = []
    work = runs_dir / ib.name
    try:
        for _ in range(times):
            inbox = work / "eingang"
            data.link_tree(ib.files, inbox)
            if warm:
                data.settle(inbox)
            out = measure.fresh(work / "ausgabe")
            colds.append(measure.kisi_report(inbox, out, ib.registry, STICHTAG, env))
            if inspect is not None:
                inspect(out)
            if warm and ib.extra is not None:
                time.sleep(WARM_AFTER_S)
                os.link(ib.extra, inbox / ib.extra.name)
                warms.append(measure.kisi_report(inbox, out, ib.registry, STICHTAG, env))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return colds, warms


def kisi_empty(registry: Path, runs_dir: Path = RUNS_DIR) -> list[KisiRun]:
    """`kisi report` on an empty inbox: start-up, imports and the fixed costs of a run."""
    work = runs_dir / "empty"
    try:
        inbox = measure.fresh(work / "eingang")
        return [measure.kisi_report(inbox, measure.fresh(work / "ausgabe"), registry,
                                    STICHTAG)]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def timing_of(runs: list[KisiRun]) -> Timing:
    return Timing([r.seconds for r in runs], [r.cpu_seconds for r in runs])


def phases(ib: data.Inbox, times: int, runs_dir: Path = RUNS_DIR,
           warm: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """Median seconds per phase of an in-process run_report (process pool as in the CLI),
    cold and then warm (after the extra file arrived), with the files used and errors of
    the last run under "#files", "#used", "#errors"."""
    work = runs_dir / f"{ib.name}-inprocess"
    colds: list[measure.PhaseRun] = []
    warms: list[measure.PhaseRun] = []
    try:
        for _ in range(times):
            inbox, out = work / "eingang", work / "ausgabe"
            data.link_tree(ib.files, inbox)
            if warm:
                data.settle(inbox)
            shutil.rmtree(out, ignore_errors=True)
            colds.append(measure.run_phases(inbox, out, ib.registry, STICHTAG))
            if warm and ib.extra is not None:
                time.sleep(WARM_AFTER_S)
                os.link(ib.extra, inbox / ib.extra.name)
                warms.append(measure.run_phases(inbox, out, ib.registry, STICHTAG))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def median(collected: list[measure.PhaseRun]) -> dict[str, Any]:
        if not collected:
            return {}
        keys = dict.fromkeys(k for c in collected for k in c.seconds)
        last = collected[-1]
        return {**{k: statistics.median(c.seconds.get(k, 0.0) for c in collected)
                   for k in keys},
                "#files": last.files, "#used": last.used, "#errors": last.errors}

    return median(colds), median(warms)


def run_profile(ib: data.Inbox, runs_dir: Path = RUNS_DIR) -> dict[str, Any]:
    work = runs_dir / f"{ib.name}-profile"
    try:
        data.link_tree(ib.files, work / "eingang")
        return profile.profile_report(work / "eingang", work / "ausgabe", ib.registry,
                                      STICHTAG, dump=data.BENCH_DIR / "profile.pstats")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def git_state() -> str:
    """The commit measured (read-only git; '+dirty' when the working tree has changes) and a
    digest of the pipeline's source, which also tells uncommitted changes apart."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # read only: never touch the index

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, env=env, capture_output=True,
                              text=True, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        if git("status", "--porcelain", "--untracked-files=no"):
            commit += "+dirty"
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    digest = hashlib.sha256()
    for path in sorted((root / "pipeline").rglob("*")):
        if path.suffix in {".py", ".toml"} and path.is_file():
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return f"{commit} (pipeline source {digest.hexdigest()[:12]})"


def log(text: str) -> None:
    print(f"[bench] {text}", flush=True)


def memory(runs: list[KisiRun]) -> dict[str, Any]:
    return {"peak_tree_bytes": max(r.peak_tree_bytes for r in runs),
            "peak_pss_bytes": max(r.peak_pss_bytes for r in runs),
            "peak_single_bytes": max(r.peak_single_bytes for r in runs),
            "max_processes": max(r.max_procs for r in runs),
            "samples": sum(r.samples for r in runs)}


def kisi_dict(runs: list[KisiRun], files: int) -> dict[str, Any]:
    t = timing_of(runs)
    return {**t.as_dict(), "files": files, **memory(runs),
            "errors": [r.errors for r in runs], "warnings": [r.warnings for r in runs],
            "stdout_last": runs[-1].stdout}


# --------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    p.add_argument("--size", type=int, default=0,
                   help="also run N workbooks cold once (e.g. 10000)")
    p.add_argument("--quick", action="store_true",
                   help="skip the naive baseline, the 2×/4× scaling and the profile")
    p.add_argument("--no-naive", action="store_true")
    p.add_argument("--no-scaling", action="store_true")
    p.add_argument("--no-profile", action="store_true")
    p.add_argument("--output", type=Path, default=RESULTS, help="results JSON")
    p.add_argument("--markdown", type=Path, metavar="JSON",
                   help="only print the tables of an earlier results JSON as Markdown")
    args = p.parse_args(argv)
    if args.quick:
        args.no_naive = args.no_scaling = args.no_profile = True
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.markdown:
        print(report(json.loads(args.markdown.read_text(encoding="utf-8")), markdown=True))
        return 0
    r = args.repeat
    started = datetime.now().astimezone()
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"), "machine": table.machine(),
        "commit": git_state(), "data_version": data.data_version(), "repeat": r,
        "stichtag": STICHTAG.isoformat(),
        "loadavg_start": os.getloadavg(), "timings": {}, "kisi": {},
    }
    T: dict[str, Any] = results["timings"]
    K: dict[str, Any] = results["kisi"]

    log("inboxes (cached under build/bench/)")
    base = data.ensure_inbox("base", data.BASE_APPS)
    big = data.ensure_inbox("big", 1, n_files=1, receipts=data.BIG_RECEIPTS, extra=False)
    scaled = {} if args.no_scaling else {
        k: data.ensure_inbox(f"scale{k}", data.BASE_APPS * k) for k in (2, 4)}
    sized = None
    if args.size:
        n_apps = math.ceil(args.size / 12)
        sized = data.ensure_inbox(f"size{args.size}", n_apps, n_files=args.size, extra=False)
    files, big_files = base.files, big.files
    results["inboxes"] = {ib.name: {"files": len(ib.files), "apps": ib.apps,
                                    "receipts_per_workbook": ib.receipts,
                                    "bytes": sum(f.stat().st_size for f in ib.files)}
                          for ib in [base, big, *scaled.values(), *([sized] if sized else [])]}
    parts, inflated = measure.floor_parse(files)
    workers = os.cpu_count() or 1

    # Rounds: every measurement once per round, so that load from other work on the machine
    # (it drifts over minutes) hits all of them alike and the ratios stay fair.
    reading: dict[str, Timing] = defaultdict(Timing)
    runs: dict[str, list[KisiRun]] = defaultdict(list)
    loads: list[float] = []
    for i in range(r):
        log(f"round {i + 1}/{r}: floor, naive, kisi report cold/warm (alone and with kisi server)"
            "/2×/4×/5,000 receipts")
        loads.append(os.getloadavg()[0])
        reading["floor"].add(*measure.clock(lambda: measure.floor_parse(files)))
        reading["floor_parallel"].add(
            *measure.clock(lambda: measure.floor_parallel(files, workers)))
        naive = reading["naive"]
        if not args.no_naive and (not naive.runs or naive.runs[-1] <= NAIVE_ONCE_AFTER_S):
            naive.add(*measure.clock(lambda: measure.naive_read(files)))
            if naive.runs[-1] > NAIVE_ONCE_AFTER_S and i + 1 < r:
                naive.note = f"ran once: one run took > {NAIVE_ONCE_AFTER_S:.0f} s"
        runs["empty"] += kisi_empty(base.registry)
        cold, warm = kisi_cold_warm(base, 1)
        runs["cold"] += cold
        runs["warm"] += warm
        with measure.Resident(RUNS_DIR / "dienst") as server:  # the same through kisi server
            cold, warm = kisi_cold_warm(base, 1, env=server)
        runs["cold_server"] += cold
        runs["warm_server"] += warm
        for k, ib in scaled.items():
            runs[f"cold_{k}x"] += kisi_cold_warm(ib, 1, warm=False)[0]
        reading["big_floor"].add(*measure.clock(lambda: measure.floor_parse(big_files)))
        if not args.no_naive:
            reading["big_naive"].add(*measure.clock(lambda: measure.naive_read(big_files)))
        runs["big_cold"] += kisi_cold_warm(big, 1, warm=False)[0]
    results["loadavg_rounds"] = loads
    sizes = {"floor": len(files), "floor_parallel": len(files), "naive": len(files),
             "big_floor": 1, "big_naive": 1}
    for name, timing in reading.items():
        if timing.runs:
            T[name] = {**timing.as_dict(), "files": sizes[name]}
    T["floor"].update(parts=parts, inflated_bytes=inflated)
    T["floor_parallel"]["workers"] = workers
    n_files = {"empty": 0, "cold": len(files), "warm": len(files) + 1, "big_cold": 1,
               "cold_server": len(files), "warm_server": len(files) + 1,
               **{f"cold_{k}x": len(ib.files) for k, ib in scaled.items()}}
    for name, kisi_runs in runs.items():
        K[name] = kisi_dict(kisi_runs, n_files[name])

    log("phases of an in-process run_report")
    results["phases"], results["phases_warm"] = phases(base, r)
    if 4 in scaled:
        log("phases of an in-process run_report at 4× (once)")
        results["phases_4x"] = phases(scaled[4], 1, warm=False)[0]

    if sized is not None:
        log(f"kisi report cold on {len(sized.files)} files (once)")
        outputs: dict[str, Any] = {}
        K["size_cold"] = kisi_dict(kisi_cold_warm(
            sized, 1, warm=False, inspect=lambda out: outputs.update(
                measure.output_rows(out)))[0], len(sized.files))
        results["size_outputs"] = outputs

    if not args.no_profile:
        log("cProfile of a cold run on one worker")
        results["profile"] = run_profile(base)

    results["loadavg_end"] = os.getloadavg()
    results["commit_end"] = git_state()
    results["warnings"] = sanity(results)
    results["targets"] = [t.as_dict() for t in targets(results)]
    text = report(results)
    print()
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n",
                           encoding="utf-8")
    args.output.with_suffix(".txt").write_text(text + "\n", encoding="utf-8")
    print(f"\nResults: {args.output}")
    return 0


# --------------------------------------------------------------------------- verdicts
def sanity(results: dict[str, Any]) -> list[str]:
    """Reasons not to trust this run: invalid bench data, a run that rejected files, code
    that changed underneath."""
    found = []
    for name, k in results["kisi"].items():
        if any(e != 0 for e in k.get("errors", [])):
            found.append(f"kisi report {name}: errors {k['errors']} on data meant to be valid "
                         f"(last output: {k.get('stdout_last', '')!r})")
    for key, expected_used in (("phases", 0), ("phases_warm", 1), ("phases_4x", 0)):
        ph = results.get(key) or {}
        if "#files" in ph and (ph["#errors"] or ph["#used"] != ph["#files"] - expected_used):
            found.append(f"in-process {key}: {ph['#used']} of {ph['#files']} files used, "
                         f"{ph['#errors']} errors: the phase times measure something else")
    if results.get("commit_end", results.get("commit")) != results.get("commit"):
        found.append(f"the code changed during the run ({results['commit']} → "
                     f"{results['commit_end']}): rerun for comparable numbers")
    return found


def _ratio(d: dict[str, Any], top: str, bottom: str, key: str = "median_s") -> float | None:
    """d[top][key] / d[bottom][key]; None when either is missing."""
    if top not in d or bottom not in d or not d[top].get(key) or not d[bottom].get(key):
        return None
    return d[top][key] / d[bottom][key]


def targets(results: dict[str, Any]) -> list[Target]:
    """The issue's targets, judged on wall-clock medians. The same ratio in CPU seconds is
    given alongside: it is less sensitive to other work on the machine."""
    T, K = results["timings"], results["kisi"]
    both = {**{f"t.{k}": v for k, v in T.items()}, **{f"k.{k}": v for k, v in K.items()}}

    def ratio(top: str, bottom: str) -> tuple[float | None, float | None]:
        return _ratio(both, top, bottom), _ratio(both, top, bottom, "cpu_median_s")

    naive, naive_cpu = ratio("t.naive", "k.cold")
    floor, floor_cpu = ratio("k.cold", "t.floor")
    warm, warm_cpu = ratio("k.warm", "k.cold")
    x4, x4_cpu = ratio("k.cold_4x", "k.cold")
    found = [
        Target("cold ≥ 5× faster than naive reading", naive, 5.0, "×", higher_is_better=True,
               cpu_value=naive_cpu),
        Target("cold ≤ 5× the floor", floor, 5.0, "×", cpu_value=floor_cpu),
        Target("cold ≤ 3× the floor (stretch)", floor, 3.0, "×", stretch=True,
               cpu_value=floor_cpu),
        Target("warm ≤ 10 % of cold", warm, 0.10, "%", cpu_value=warm_cpu),
        # Through `kisi server` (no CPU ratio: the server's fork is not the command's child)
        Target("warm ≤ 10 % of cold, both with kisi server",
               _ratio(K, "warm_server", "cold_server"), 0.10, "%"),
        Target("peak memory of cold run ≤ 500 MB (PSS, process tree)",
               _pss(K["cold"]), 500 * MB, "MB"),
        Target("4× files ≤ 4.4× time", x4, 4.4, "×", cpu_value=x4_cpu),
    ]
    if "cold_4x" in K:
        found.append(Target("peak memory at 4× files ≤ 500 MB (PSS, process tree)",
                            _pss(K["cold_4x"]), 500 * MB, "MB"))
    if "size_cold" in K:
        n = K["size_cold"]["files"]
        found.append(Target(f"{n:,} workbooks cold ≤ 5 min", K["size_cold"]["median_s"],
                            SIZE_LIMIT_S, "s"))
        found.append(Target(f"peak memory at {n:,} workbooks ≤ 500 MB (PSS, process tree)",
                            _pss(K["size_cold"]), 500 * MB, "MB"))
    return found


def _pss(run: dict[str, Any]) -> int:
    """Peak PSS of the process tree (older result files: the RSS sum, an upper bound)."""
    return run.get("peak_pss_bytes") or run["peak_tree_bytes"]


# --------------------------------------------------------------------------- tables
def _times_table(results: dict[str, Any], markdown: bool) -> str:
    T, K = results["timings"], results["kisi"]
    floor, big_floor = T["floor"], T["big_floor"]
    rows: list[list[str]] = []

    def row(name: str, d: dict[str, Any] | None, ref: dict[str, Any] | None,
            note: str = "") -> None:
        if d is None:
            return
        med, files, cpu = d["median_s"], d["files"], d.get("cpu_median_s")
        ref_cpu = ref.get("cpu_median_s") if ref else None
        rows.append([
            name, f"{files:,}", f"{med:.2f}", "-" if cpu is None else f"{cpu:.2f}",
            f"{med / files * 1000:.1f}" if files else "",
            f"{med / ref['median_s']:.1f}×" if ref else "",
            f"{cpu / ref_cpu:.1f}×" if ref_cpu and cpu else "",
            str(len(d["runs_s"])), "; ".join(x for x in (note, d.get("note", "")) if x)])

    row("floor: unzip + expat, 1 process", floor, floor,
        f"{floor['parts']:,} XML parts, {floor['inflated_bytes'] / MB:.0f} MB inflated")
    row(f"floor on {T['floor_parallel']['workers']} processes", T["floor_parallel"], floor,
        "info (pool start-up included)")
    row("naive: pandas read_excel, openpyxl", T.get("naive"), floor, "1 process, reading only")
    row("kisi report, empty inbox", K.get("empty"), None, "start-up + imports + fixed costs")
    row("kisi report cold", K["cold"], floor, "fresh output + store")
    row("kisi report warm (+1 new file)", K.get("warm"), floor, "same store after cold")
    row("kisi report cold, kisi server", K.get("cold_server"), floor,
        "through a running server (CPU: the command only)")
    row("kisi report warm, kisi server", K.get("warm_server"), floor,
        f"{_ratio(K, 'warm_server', 'cold_server') * 100:.1f} % of cold with server"
        if "warm_server" in K else "")
    for k in (2, 4):
        x = _ratio(K, f"cold_{k}x", "cold")
        row(f"kisi report cold, {k}× files", K.get(f"cold_{k}x"), floor,
            f"{x:.2f}× the 1× time" if x else "")
    row("5,000 receipts: floor", big_floor, big_floor, "one workbook")
    row("5,000 receipts: naive", T.get("big_naive"), big_floor, "")
    row("5,000 receipts: kisi report cold", K.get("big_cold"), big_floor, "")
    row("kisi report cold, --size", K.get("size_cold"), None, "once")
    return "\n".join([
        f"Times: median of {results['repeat']} rounds (wall-clock and CPU seconds; × floor = "
        "ratio to the floor of the same files, by wall and by CPU)",
        table.render(["measurement", "files", "wall s", "CPU s", "ms/file", "× floor",
                      "× floor CPU", "runs", "note"], rows, markdown)])


def _memory_table(results: dict[str, Any], markdown: bool) -> str:
    K = results["kisi"]
    rows = [[name, f"{K[key]['files']:,}", f"{_pss(K[key]) / MB:.0f}",
             f"{K[key]['peak_tree_bytes'] / MB:.0f}",
             f"{K[key]['peak_single_bytes'] / MB:.0f}", str(K[key]["max_processes"])]
            for name, key in [("empty inbox", "empty"), ("cold", "cold"), ("warm", "warm"),
                              ("cold 2×", "cold_2x"), ("cold 4×", "cold_4x"),
                              ("5,000 receipts", "big_cold"), ("--size", "size_cold")]
            if key in K]
    return "\n".join([
        "Peak memory of `kisi report` (MB = 10^6 bytes; sampled every 20 ms; max over runs). "
        "PSS splits pages a forked child shares with its parent; the RSS sum counts them "
        "once per process (an upper bound).",
        table.render(["run", "files", "PSS, process tree", "RSS, process tree (sum)",
                      "RSS, largest process", "processes"], rows, markdown)])


def _phases_table(results: dict[str, Any], markdown: bool, which: str = "cold") -> str:
    key = "phases" if which == "cold" else f"phases_{which}"
    run = {"cold": "cold", "warm": "warm", "4x": "cold_4x"}[which]
    label = {"cold": "cold", "warm": "warm", "4x": "cold 4×"}[which]
    ph, cold = results[key], results["kisi"][run]["median_s"]
    total = ph["total"]
    top = [(n, v) for n, v in ph.items() if n != "total" and not n.startswith("#")
           and not n.startswith(measure.OUTPUT_PREFIX)]
    rows = []
    for name, v in sorted(top, key=lambda kv: -kv[1]):
        rows.append([name, f"{v:.2f}", f"{v / total * 100:.0f} %"])
        if name == "write_outputs":
            subs = [(n.removeprefix(measure.OUTPUT_PREFIX), x) for n, x in ph.items()
                    if n.startswith(measure.OUTPUT_PREFIX) and x >= 0.005]
            rows += [["  › " + n, f"{x:.2f}", f"{x / total * 100:.0f} %"]
                     for n, x in sorted(subs, key=lambda kv: -kv[1])]
    rows.append(["total in-process", f"{total:.2f}", "100 %"])
    # Rendering: write_outputs (with the feedback) and write_applied.
    render = [n for n in measure.RENDER_PHASES if n in ph]
    out = sum(ph[n] for n in render)
    counts = (f"{ph['#files']:,} files, {ph['#used']:,} used, {ph['#errors']:,} errors"
              if "#files" in ph else "")
    return "\n".join([
        f"Phases of a {label} run_report in-process ({counts}; median s over the rounds; "
        "checking on the process pool as in the CLI, rendering on one core; no interpreter "
        "start-up)",
        table.render(["phase", "s", "share"], rows, markdown),
        f"Report rendering on one core ({' + '.join(render)}) "
        f"{out:.2f} s = {out / total * 100:.0f} % of the "
        f"in-process {label} run, ≈ {out / cold * 100:.0f} % of the {label} subprocess "
        f"median ({cold:.2f} s)."])


def _profile_tables(results: dict[str, Any], markdown: bool) -> str:
    prof = results["profile"]
    areas = [[a["area"], f"{a['s']:.2f}", f"{a['share'] * 100:.1f} %"]
             for a in prof["areas"][:14]]
    top = [[f["function"], f"{f['calls']:,}", f"{f['tottime_s']:.2f}",
            f"{f['share'] * 100:.1f} %"] for f in prof["top_tottime"][:15]]
    return "\n".join([
        f"cProfile of a cold run in-process on 1 worker ({prof['wall_s']:.1f} s wall under "
        "the profiler): self time by area",
        table.render(["area", "self s", "share"], areas, markdown), "",
        "Top functions by self time",
        table.render(["function", "calls", "self s", "share"], top, markdown)])


def report(results: dict[str, Any], markdown: bool = False) -> str:
    parts = [_times_table(results, markdown), "", _memory_table(results, markdown)]
    if results.get("phases"):
        parts += ["", _phases_table(results, markdown)]
    if results.get("phases_warm"):
        parts += ["", _phases_table(results, markdown, "warm")]
    if results.get("phases_4x") and "cold_4x" in results["kisi"]:
        parts += ["", _phases_table(results, markdown, "4x")]
    if results.get("profile"):
        parts += ["", _profile_tables(results, markdown)]
    if results.get("size_outputs"):
        size = results["size_outputs"]
        parts += ["", f"--size outputs: rows per sheet/CSV {size}",
                  f"Sheets at Excel's row limit: {size.get('sheets_full') or 'none'}; "
                  "every herkunft.csv row on the Herkunft sheets of pruefpfad.xlsx: "
                  f"{'yes' if size.get('herkunft_complete') else 'NO'}"]
    if results.get("warnings"):
        parts += ["", "WARNINGS", *(f"- {w}" for w in results["warnings"])]
    tg = [Target.from_dict(t) for t in results["targets"]]
    parts += ["", "Targets (verdict on wall-clock; the CPU-time ratio for comparison)",
              table.render(["target", "measured", "CPU ratio", "limit", "verdict"],
                           table.target_rows(tg), markdown)]
    loads = ", ".join(f"{x:.1f}" for x in results.get("loadavg_rounds") or [])
    cpus = results.get("machine", {}).get("nproc", "?")
    parts += ["", f"1-min load average at the start of each round: {loads or '-'} on {cpus} "
              "CPUs (other work on the machine inflates wall-clock times)."]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
