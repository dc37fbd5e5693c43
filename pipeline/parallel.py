"""Check many files on all cores, each file isolated from the others.

A worker that dies (a reader bug, memory exhaustion) must not take other files down: after a
broken pool the remaining files are retried one per fresh process, and a file that kills its
process again is rejected with a finding.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from pipeline.checkcache import CheckCache, dump
from pipeline.forked import Background, ChildFailed
from pipeline.intake import Received
from pipeline.rules import files as file_rules
from pipeline.spec import Programme
from pipeline.validate import Checked

if TYPE_CHECKING:  # imported with the first pool (a warm run may need none)
    from concurrent.futures import Future, ProcessPoolExecutor

MIN_FILES_FOR_POOL = 8


def workers() -> int:
    env = os.environ.get("KISI_WORKERS", "")
    return int(env) if env.isdigit() and int(env) > 0 else (os.cpu_count() or 1)


def _pool(n_workers: int) -> ProcessPoolExecutor:
    """Workers are forked where the platform allows it (Linux): they start in milliseconds
    with the parent's imports and spec already loaded. Python 3.14 changes the default to
    'forkserver', which would re-import everything in every worker."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    return ProcessPoolExecutor(n_workers, mp_context=context)


def check_all(received: Iterable[Received], check: Callable[..., Checked], prog: Programme,
              known: frozenset[str] | None, cache: CheckCache | None = None,
              progress: Callable[[int], None] = lambda n: None,
              meanwhile: Callable[[], None] | None = None,
              arrived: Callable[[int], None] = lambda n: None,
              while_busy: Callable[[], None] | None = None) -> list[Checked]:
    """One result per received file, in order. Cached results are reused; the others are
    checked, on all cores once there are enough of them, while later files are still
    arriving (`received` may be a generator: intake stores file n+1 while file n is being
    checked). `meanwhile` runs in this process after the last file was handed out, while
    the workers are still busy (the report imports its rendering modules there);
    `while_busy` too, but only if there are workers (what it does is then free)."""
    results: list[Checked | None] = []
    todo: list[tuple[int, Received]] = []  # not cached, not yet handed to the pool
    cached: list[tuple[int, Received]] = []  # in the cache: loaded once the rest is handed out
    pending: dict[Future[bytes], tuple[int, Received]] = {}
    refused: list[tuple[int, Received]] = []  # the pool broke before taking them
    pool: ProcessPoolExecutor | None = None
    abandon: list[Background] = []  # forked children to stop if this fails
    n_workers = workers()
    try:
        for r in received:
            arrived(1)
            i = len(results)
            results.append(None)
            if cache is not None and r.problem is None and cache.has(r.sha256):
                cached.append((i, r))
                continue
            todo.append((i, r))
            if pool is None and n_workers > 1 and len(todo) >= MIN_FILES_FOR_POOL:
                pool = _pool(n_workers)
            if pool is not None:
                refused += _submit(pool, pending, todo, check, prog, known, cache)
                todo = []
        # Too few files to pay for a pool (a warm run: one new file): one forked child
        # checks them while this process loads the cached results and imports the
        # rendering modules.
        few = _fork_few(todo, pool, n_workers, check, prog, known, cache, abandon)
        late = _load_cached(cached, cache, results, progress)  # (None: damaged, vanished)
        if pool is None and n_workers > 1 and len(late) >= MIN_FILES_FOR_POOL:
            pool = _pool(n_workers)  # many damaged cache entries: all cores again
        if late and pool is not None:
            refused += _submit(pool, pending, late, check, prog, known, cache)
            late = []
        late_job = _fork_few(late, pool, n_workers, check, prog, known, cache, abandon)
        if meanwhile is not None:
            meanwhile()
        if while_busy is not None and pool is not None:
            while_busy()
        if pool is not None:
            _gather(pending, refused, results, check, prog, known, cache, progress)
        for job, files in ((few, todo), (late_job, late)):
            if files and (job is not None or pool is None):
                checked = _few(job, files, check, prog, known, cache)
                for (i, _r), data in zip(files, checked, strict=True):
                    results[i] = pickle.loads(data)
                    progress(1)
    except BaseException:
        for job in abandon:  # e.g. an import in `meanwhile` failed, or Ctrl-C
            job.abandon()
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return results  # type: ignore[return-value]


def _fork_few(todo, pool, n_workers: int, check, prog, known, cache,
              abandon: list[Background]) -> Background | None:
    """A forked child that checks `todo` (a few files, no pool), if there is a core for it."""
    if pool is not None or not todo or n_workers <= 1:
        return None
    job = Background(lambda: [_work(check, r, prog, known, cache) for _, r in todo])
    abandon.append(job)
    return job


def _load_cached(cached, cache: CheckCache | None, results: list,
                 progress: Callable[[int], None]) -> list[tuple[int, Received]]:
    """Fill in the cached results; returns the files whose result could not be loaded
    after all (removed or damaged meanwhile): they are checked."""
    late = []
    for i, r in cached:
        hit = cache.get(r.sha256, r.datei) if cache is not None else None
        if hit is None:
            late.append((i, r))
        else:
            results[i] = hit
            progress(1)
    return late


def _few(job: Background | None, todo, check, prog, known, cache) -> list[bytes]:
    """The results of the few files checked without a pool: from the child, or, if it
    died (a file that crashes the reader), one by one in a fresh process each."""
    if job is not None:
        try:
            return job.result()
        except ChildFailed:
            return [dump(_isolated(r, check, prog, known, cache)) for _, r in todo]
    return [_work(check, r, prog, known, cache) for _, r in todo]


def _submit(pool, pending, todo, check, prog, known, cache) -> list[tuple[int, Received]]:
    """Hand `todo` to the pool; returns what a broken pool refused."""
    from concurrent.futures.process import BrokenProcessPool

    for k, (i, r) in enumerate(todo):
        try:
            pending[pool.submit(_work, check, r, prog, known, cache)] = (i, r)
        except BrokenProcessPool:  # a worker died
            return todo[k:]
    return []


def _gather(pending, refused, results, check, prog, known, cache, progress) -> None:
    from concurrent.futures import as_completed
    from concurrent.futures.process import BrokenProcessPool

    left = dict(pending.values()) | dict(refused)
    try:
        for future in as_completed(pending):
            i, _r = pending[future]
            results[i] = pickle.loads(future.result())
            del left[i]
            progress(1)
    except BrokenProcessPool:
        pass
    for i, r in sorted(left.items()):  # one died: the rest one per fresh process
        results[i] = _isolated(r, check, prog, known, cache)
        progress(1)


def _isolated(r: Received, check, prog: Programme, known, cache) -> Checked:
    from concurrent.futures.process import BrokenProcessPool

    try:
        with _pool(1) as pool:
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
