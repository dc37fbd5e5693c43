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
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
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
SIZE_LIMIT_S = 300.0


# --------------------------------------------------------------------------- measurements
def kisi_cold_warm(ib: data.Inbox, times: int, warm: bool = True,
                   runs_dir: Path = RUNS_DIR) -> tuple[list[KisiRun], list[KisiRun]]:
    """`times` × (cold run on a fresh output folder and store, then, if `warm`, the same
    store after the inbox's extra file arrived)."""
    colds: list[KisiRun] = []
    warms: list[KisiRun] = []
    work = runs_dir / ib.name
    try:
        for _ in range(times):
            inbox = work / "eingang"
            data.link_tree(ib.files, inbox)
            out = measure.fresh(work / "ausgabe")
            colds.append(measure.kisi_report(inbox, out, ib.registry, STICHTAG))
            if warm and ib.extra is not None:
                os.link(ib.extra, inbox / ib.extra.name)
                warms.append(measure.kisi_report(inbox, out, ib.registry, STICHTAG))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return colds, warms


def timing_of(runs: list[KisiRun]) -> Timing:
    return Timing([r.seconds for r in runs], [r.cpu_seconds for r in runs])


def phases(ib: data.Inbox, times: int, runs_dir: Path = RUNS_DIR) -> dict[str, float]:
    """Median seconds per phase of an in-process run_report (process pool as in the CLI)."""
    work = runs_dir / f"{ib.name}-inprocess"
    collected: list[dict[str, float]] = []
    try:
        for _ in range(times):
            data.link_tree(ib.files, work / "eingang")
            out = work / "ausgabe"
            shutil.rmtree(out, ignore_errors=True)
            collected.append(measure.run_phases(work / "eingang", out, ib.registry, STICHTAG))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {k: statistics.median(c.get(k, 0.0) for c in collected) for k in collected[0]}


def run_profile(ib: data.Inbox, runs_dir: Path = RUNS_DIR) -> dict[str, Any]:
    work = runs_dir / f"{ib.name}-profile"
    try:
        data.link_tree(ib.files, work / "eingang")
        return profile.profile_report(work / "eingang", work / "ausgabe", ib.registry,
                                      STICHTAG, dump=data.BENCH_DIR / "profile.pstats")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def git_state() -> str:
    """The commit measured (read-only git), '+dirty' when the working tree has changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty=+dirty"], cwd=root,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def log(text: str) -> None:
    print(f"[bench] {text}", flush=True)


def memory(runs: list[KisiRun]) -> dict[str, Any]:
    return {"peak_tree_bytes": max(r.peak_tree_bytes for r in runs),
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
    files = base.files
    results["inboxes"] = {ib.name: {"files": len(ib.files), "apps": ib.apps,
                                    "receipts_per_workbook": ib.receipts,
                                    "bytes": sum(f.stat().st_size for f in ib.files)}
                          for ib in [base, big, *scaled.values(), *([sized] if sized else [])]}

    log(f"floor on {len(files)} files")
    parts, inflated = measure.floor_parse(files)
    T["floor"] = {**measure.repeat(lambda: measure.floor_parse(files), r).as_dict(),
                  "files": len(files), "parts": parts, "inflated_bytes": inflated}
    workers = os.cpu_count() or 1
    T["floor_parallel"] = {**measure.repeat(lambda: measure.floor_parallel(files, workers),
                                            r).as_dict(), "files": len(files),
                           "workers": workers}
    if not args.no_naive:
        log("naive pandas/openpyxl baseline (slow)")
        T["naive"] = {**measure.repeat(lambda: measure.naive_read(files), r,
                                       slow_after=NAIVE_ONCE_AFTER_S).as_dict(),
                      "files": len(files)}

    log("kisi report cold + warm")
    colds, warms = kisi_cold_warm(base, r)
    K["cold"] = kisi_dict(colds, len(files))
    K["warm"] = kisi_dict(warms, len(files) + 1)

    log("phases of an in-process run_report")
    results["phases"] = phases(base, r)

    for k, ib in scaled.items():
        log(f"kisi report cold at {k}× ({len(ib.files)} files)")
        K[f"cold_{k}x"] = kisi_dict(kisi_cold_warm(ib, r, warm=False)[0], len(ib.files))

    log("one workbook with 5,000 receipts")
    big_files = big.files
    T["big_floor"] = {**measure.repeat(lambda: measure.floor_parse(big_files), r).as_dict(),
                      "files": 1}
    if not args.no_naive:
        T["big_naive"] = {**measure.repeat(lambda: measure.naive_read(big_files), r).as_dict(),
                          "files": 1}
    K["big_cold"] = kisi_dict(kisi_cold_warm(big, r, warm=False)[0], 1)

    if sized is not None:
        log(f"kisi report cold on {len(sized.files)} files (once)")
        K["size_cold"] = kisi_dict(kisi_cold_warm(sized, 1, warm=False)[0], len(sized.files))

    if not args.no_profile:
        log("cProfile of a cold run on one worker")
        results["profile"] = run_profile(base)

    results["loadavg_end"] = os.getloadavg()
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
def _median(d: dict[str, Any], key: str) -> float | None:
    return d[key]["median_s"] if key in d else None


def targets(results: dict[str, Any]) -> list[Target]:
    T, K = results["timings"], results["kisi"]
    cold, warm, floor = _median(K, "cold"), _median(K, "warm"), _median(T, "floor")
    naive, x4 = _median(T, "naive"), _median(K, "cold_4x")
    assert cold is not None and floor is not None
    found = [
        Target("cold ≥ 5× faster than naive reading", naive / cold if naive else None, 5.0,
               "×", higher_is_better=True),
        Target("cold ≤ 5× the floor", cold / floor, 5.0, "×"),
        Target("cold ≤ 3× the floor (stretch)", cold / floor, 3.0, "×", stretch=True),
        Target("warm ≤ 10 % of cold", warm / cold if warm else None, 0.10, "%"),
        Target("peak RSS of cold run ≤ 500 MB (sum over process tree)",
               K["cold"]["peak_tree_bytes"], 500 * MB, "MB"),
        Target("4× files ≤ 4.4× time", x4 / cold if x4 else None, 4.4, "×"),
    ]
    if "size_cold" in K:
        n = K["size_cold"]["files"]
        found.append(Target(f"{n:,} workbooks cold ≤ 5 min", K["size_cold"]["median_s"],
                            SIZE_LIMIT_S, "s"))
    return found


def report(results: dict[str, Any], markdown: bool = False) -> str:
    T, K = results["timings"], results["kisi"]
    floor = T["floor"]["median_s"]
    big_floor = T["big_floor"]["median_s"]
    rows: list[list[str]] = []

    def row(name: str, d: dict[str, Any] | None, ref: float | None, note: str = "") -> None:
        if d is None:
            return
        med, files, cpu = d["median_s"], d["files"], d.get("cpu_median_s")
        rows.append([name, f"{files:,}", f"{med:.2f}", "-" if cpu is None else f"{cpu:.2f}",
                     f"{med / files * 1000:.1f}",
                     f"{med / ref:.2f}×" if ref else "", str(len(d["runs_s"])),
                     "; ".join(x for x in (note, d.get("note", "")) if x)])

    row("floor: unzip + expat, 1 process", T["floor"], floor,
        f"{T['floor']['parts']} XML parts, {T['floor']['inflated_bytes'] / MB:.0f} MB")
    row(f"floor on {T['floor_parallel']['workers']} processes", T["floor_parallel"], floor,
        "info only")
    row("naive: pandas read_excel (openpyxl)", T.get("naive"), floor, "reading only")
    row("kisi report cold", K["cold"], floor, "subprocess, fresh output + store")
    row("kisi report warm (+1 new file)", K["warm"], floor, "same store after cold")
    for k in (2, 4):
        if f"cold_{k}x" in K:
            ratio = K[f"cold_{k}x"]["median_s"] / K["cold"]["median_s"]
            row(f"kisi report cold, {k}× files", K[f"cold_{k}x"], floor,
                f"{ratio:.2f}× the 1× time")
    row("5,000 receipts: floor", T["big_floor"], big_floor, "one workbook")
    row("5,000 receipts: naive", T.get("big_naive"), big_floor, "")
    row("5,000 receipts: kisi report cold", K["big_cold"], big_floor, "incl. start-up")
    if "size_cold" in K:
        row("kisi report cold, --size", K["size_cold"], None, "")
    parts = [f"Times (median of up to {results['repeat']} runs; × floor = ratio to the "
             "floor of the same files)",
             table.render(["measurement", "files", "wall s", "CPU s", "ms/file", "× floor",
                           "runs", "note"], rows, markdown)]

    mem_rows = [[name, f"{K[key]['peak_tree_bytes'] / MB:.0f}",
                 f"{K[key]['peak_single_bytes'] / MB:.0f}", str(K[key]["max_processes"])]
                for name, key in [("cold", "cold"), ("warm", "warm"), ("cold 2×", "cold_2x"),
                                  ("cold 4×", "cold_4x"), ("5,000 receipts", "big_cold"),
                                  ("--size", "size_cold")] if key in K]
    parts += ["", "Peak RSS of `kisi report` (MB, sampled every 20 ms, max over runs)",
              table.render(["run", "process tree (sum)", "largest process", "processes"],
                           mem_rows, markdown)]

    ph = results.get("phases")
    if ph:
        total = ph["total"]
        cold = K["cold"]["median_s"]
        top = [(n, s) for n, s in ph.items()
               if n != "total" and not n.startswith(measure.OUTPUT_PREFIX)]
        ph_rows = []
        for name, s in sorted(top, key=lambda kv: -kv[1]):
            ph_rows.append([name, f"{s:.2f}", f"{s / total * 100:.0f} %",
                            f"{s / cold * 100:.0f} %"])
            if name == "write_outputs":
                subs = [(n, v) for n, v in ph.items()
                        if n.startswith(measure.OUTPUT_PREFIX) and v >= 0.005]
                ph_rows += [["  › " + n.removeprefix(measure.OUTPUT_PREFIX), f"{v:.2f}",
                             f"{v / total * 100:.0f} %", f"{v / cold * 100:.0f} %"]
                            for n, v in sorted(subs, key=lambda kv: -kv[1])]
        ph_rows.append(["total in-process", f"{total:.2f}", "100 %",
                        f"{total / cold * 100:.0f} %"])
        ph_rows.append(["start-up + imports (cold subprocess − in-process)",
                        f"{cold - total:.2f}", "", f"{(cold - total) / cold * 100:.0f} %"])
        parts += ["", "Phases of run_report in-process (median s; share of the in-process "
                  "total and of the cold subprocess run)",
                  table.render(["phase", "s", "of in-process", "of cold"], ph_rows, markdown)]

    prof = results.get("profile")
    if prof:
        area_rows = [[a["area"], f"{a['s']:.2f}", f"{a['share'] * 100:.1f} %"]
                     for a in prof["areas"][:14]]
        parts += ["", f"cProfile of a cold run on 1 worker ({prof['wall_s']:.1f} s wall with "
                  "profiler), self time by area",
                  table.render(["area", "self s", "share"], area_rows, markdown)]
        top_rows = [[f["function"], f"{f['calls']:,}", f"{f['tottime_s']:.2f}",
                     f"{f['share'] * 100:.1f} %"] for f in prof["top_tottime"][:15]]
        parts += ["", "Top functions by self time",
                  table.render(["function", "calls", "self s", "share"], top_rows, markdown)]

    tg = [Target.from_dict(t) for t in results["targets"]]
    parts += ["", "Targets", table.render(["target", "measured", "limit", "verdict"],
                                          table.target_rows(tg), markdown)]
    la0, la1 = results["loadavg_start"], results.get("loadavg_end", results["loadavg_start"])
    parts += ["", f"Load average at start {la0[0]:.2f}, at end {la1[0]:.2f} "
              f"(other work on the machine inflates timings)."]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
