"""Check many files on all cores, each file isolated from the others.

A worker that dies (a reader bug, memory exhaustion) must not take other files down: after a
broken pool the remaining files are retried one per fresh process, and a file that kills its
process again is rejected with a finding.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from pipeline.checkcache import CheckCache, dump
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
    """One result per received file, in order. Cached results are reused; the others are
    checked (on all cores when it pays), and their results stored in the cache."""
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
        _pooled(received, todo, results, check, prog, known, cache, n_workers, progress)
    else:
        for i in todo:
            results[i] = pickle.loads(_work(check, received[i], prog, known, cache))
            progress(1)
    return results  # type: ignore[return-value]


def _pooled(received, todo, results, check, prog, known, cache, n_workers, progress) -> None:
    left = set(todo)
    try:
        with ProcessPoolExecutor(n_workers) as pool:
            futures = {pool.submit(_work, check, received[i], prog, known, cache): i
                       for i in todo}
            for future in as_completed(futures):
                i = futures[future]
                results[i] = pickle.loads(future.result())
                left.discard(i)
                progress(1)
    except BrokenProcessPool:
        for i in sorted(left):
            results[i] = _isolated(received[i], check, prog, known, cache)
            progress(1)


def _isolated(r: Received, check, prog: Programme, known, cache) -> Checked:
    try:
        with ProcessPoolExecutor(1) as pool:
            return pickle.loads(pool.submit(_work, check, r, prog, known, cache).result())
    except BrokenProcessPool:
        checked = Checked(r.datei, r.sha256, readable=False)
        checked.findings.append(file_rules.CRASH.finding().at_file(r.datei, r.sha256))
        return checked


def _work(check, r: Received, prog: Programme, known, cache: CheckCache | None) -> bytes:
    """Check one file and return its pickled result, written to the cache as well (the
    worker pickles once; the parent only unpickles). A crash result is not cached."""
    checked, crashed = _guarded(check, r, prog, known)
    data = dump(checked)
    if cache is not None and r.problem is None and not crashed:
        cache.put_bytes(r.sha256, data)
    return data


def _guarded(check, r: Received, prog: Programme, known) -> tuple[Checked, bool]:
    """A bug while checking one file must not end the run: that file gets a finding."""
    try:
        return check(r, prog, known), False
    except (MemoryError, RecursionError, Exception) as exc:  # noqa: BLE001
        checked = Checked(r.datei, r.sha256, readable=False)
        detail = f"{type(exc).__name__}: {str(exc)[:200]}"
        checked.findings.append(file_rules.INTERNAL.finding(detail=detail)
                                .at_file(r.datei, r.sha256))
        return checked, True
