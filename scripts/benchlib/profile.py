"""cProfile of a cold `run_report` in this process, on one worker (so the checking of the
files is profiled too), summarised by function and by area of the code."""

from __future__ import annotations

import cProfile
import os
import pstats
import shutil
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

# First match wins: (substring of the code's file path or of a built-in's name, area).
AREAS = [
    ("pipeline/xlsx/", "XLSX reader (pipeline/xlsx)"),
    ("pipeline/read/", "mapping to the spec (pipeline/read)"),
    ("pipeline/rules/", "rules (pipeline/rules)"),
    ("pipeline/outputs/", "outputs (pipeline/outputs)"),
    ("pipeline/intake/", "intake and store (pipeline/intake)"),
    ("pipeline/", "pipeline, other"),
    ("xlsxwriter/", "xlsxwriter"),
    ("openpyxl/", "openpyxl"),
    ("pandas/", "pandas"),
    ("numpy/", "numpy"),
    ("jinja2/", "jinja2"),
    ("pyexpat", "expat parsing (C)"),
    ("zlib", "zlib inflate/deflate (C)"),
    ("_hashlib", "SHA-256 (C)"),
    ("pickle", "pickle"),
    ("decimal", "decimal"),
    ("zipfile", "zipfile (stdlib)"),
    ("posix.", "file system calls"),
    ("io.", "file I/O"),
    ("_io.", "file I/O"),
]


def area(func: tuple[str, int, str]) -> str:
    filename, _line, name = func
    where = filename.replace(os.sep, "/") if filename != "~" else name
    for needle, label in AREAS:
        if needle in where:
            return label
    if filename == "~":
        return "built-ins, other"
    return "stdlib/other: " + Path(filename).stem


def label(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return name
    path = filename.replace(os.sep, "/")
    for marker in ("/pipeline/", "/site-packages/", "/lib/python"):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "/pipeline/":
                path = "pipeline/" + path
            elif marker == "/lib/python":
                path = "stdlib/" + path.split("/", 1)[1]
            break
    return f"{path}:{line}({name})"


def profile_report(inbox: Path, out: Path, registry: Path | None, stichtag: date,
                   dump: Path | None = None, top: int = 25) -> dict[str, Any]:
    import pipeline.report as report

    shutil.rmtree(out, ignore_errors=True)
    old = os.environ.get("KISI_WORKERS")
    os.environ["KISI_WORKERS"] = "1"
    prof = cProfile.Profile()
    try:
        start = time.perf_counter()
        prof.runcall(report.run_report, inbox, out, registry, stichtag)
        wall = time.perf_counter() - start
    finally:
        if old is None:
            os.environ.pop("KISI_WORKERS", None)
        else:
            os.environ["KISI_WORKERS"] = old
    stats = pstats.Stats(prof)
    if dump is not None:
        dump.parent.mkdir(parents=True, exist_ok=True)
        stats.dump_stats(str(dump))
    raw: dict = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values()) or 1.0
    by_area: dict[str, float] = defaultdict(float)
    for func, (_cc, _nc, tottime, _ct, _callers) in raw.items():
        by_area[area(func)] += tottime
    ranked = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    cumulative = sorted(raw.items(), key=lambda kv: kv[1][3], reverse=True)
    pipeline_cum = [kv for kv in cumulative if "/pipeline/" in kv[0][0]][:top]
    return {
        "wall_s": round(wall, 3),
        "profiled_s": round(total, 3),
        "areas": [{"area": a, "s": round(s, 3), "share": round(s / total, 4)}
                  for a, s in sorted(by_area.items(), key=lambda kv: kv[1], reverse=True)],
        "top_tottime": [{"function": label(f), "calls": v[1], "tottime_s": round(v[2], 3),
                         "share": round(v[2] / total, 4)} for f, v in ranked],
        "top_cumulative_pipeline": [{"function": label(f), "calls": v[1],
                                     "cumtime_s": round(v[3], 3),
                                     "share": round(v[3] / total, 4)}
                                    for f, v in pipeline_cum],
    }
