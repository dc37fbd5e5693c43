"""Check many files on all cores, each file isolated from the others.

A worker that dies (a reader bug, memory exhaustion) must not take other files down: after a
broken pool the remaining files are retried one per fresh process, and a file that kills its
process again is rejected with a finding.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from pipeline.checkcache import CheckCache
from pipeline.intake import Received
from pipeline.rules import files as file_rules
from pipeline.spec import Programme
from pipeline.validate import Checked

MIN_FILES_FOR_POOL = 8


def workers() -> int:
    env = os.environ.get("KISI_WORKERS", "")
    return int(env) if env.isdigit() and int(env) > 0 else (os.cpu_count() or 1)


def check_all(received: list[Received], check: Callable[..., Checked], prog: Programme,
              known: frozenset[str] | None, cache: CheckCache | None = None,
              progress: Callable[[int], None] = lambda n: None) -> list[Checked]:
    results: list[Checked | None] = [None] * len(received)
    todo = []
    for i, r in enumerate(received):
        hit = cache.get(r.sha256, r.datei) if cache and r.problem is None else None
        if hit is not None:
            results[i] = hit
            progress(1)
        else:
            todo.append(i)
    n_workers = min(workers(), len(todo))
    if n_workers > 1 and len(todo) >= MIN_FILES_FOR_POOL:
        _pooled(received, todo, results, check, prog, known, n_workers, progress)
    else:
        for i in todo:
            results[i] = _guarded(check, received[i], prog, known)
            progress(1)
    if cache:
        for i in todo:
            if received[i].problem is None:
                cache.put(results[i])  # type: ignore[arg-type]
    return results  # type: ignore[return-value]


def _pooled(received, todo, results, check, prog, known, n_workers, progress) -> None:
    left = list(todo)
    try:
        with ProcessPoolExecutor(n_workers) as pool:
            futures = {pool.submit(_guarded, check, received[i], prog, known): i
                       for i in todo}
            for future in as_completed(futures):
                i = futures[future]
                results[i] = future.result()
                left.remove(i)
                progress(1)
    except BrokenProcessPool:
        for i in left:
            results[i] = _isolated(received[i], check, prog, known)
            progress(1)


def _isolated(r: Received, check, prog: Programme, known) -> Checked:
    try:
        with ProcessPoolExecutor(1) as pool:
            return pool.submit(_guarded, check, r, prog, known).result()
    except BrokenProcessPool:
        checked = Checked(r.datei, r.sha256, readable=False)
        checked.findings.append(file_rules.CRASH.finding().at_file(r.datei, r.sha256))
        return checked


def _guarded(check, r: Received, prog: Programme, known) -> Checked:
    """A bug while checking one file must not end the run: that file gets a finding."""
    try:
        return check(r, prog, known)
    except (MemoryError, RecursionError, Exception) as exc:  # noqa: BLE001
        checked = Checked(r.datei, r.sha256, readable=False)
        detail = f"{type(exc).__name__}: {str(exc)[:200]}"
        checked.findings.append(file_rules.INTERNAL.finding(detail=detail)
                                .at_file(r.datei, r.sha256))
        return checked
