"""check_all: files stream in from intake, cached and checked results keep their order."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from pipeline.intake import TZ, Origin, Received
from pipeline.parallel import check_all
from pipeline.spec import load_programme
from pipeline.validate import Checked

PROG = load_programme()


def checked_where(r: Received, prog, known) -> Checked:
    """A stand-in check: records the process that checked the file."""
    return Checked(r.datei, r.sha256, readable=bool(os.getpid()), findings=[])


class HalfCache:
    """Every third file is cached; the rest must be checked (and are stored by the process
    that checked them, so into files)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def has(self, sha256: str) -> bool:
        return int(sha256) % 3 == 0

    def get(self, sha256: str, datei: str) -> Checked | None:
        return Checked(datei, sha256, readable=False) if self.has(sha256) else None

    def put_bytes(self, sha256: str, data: bytes) -> None:
        (self.folder / sha256).write_bytes(data)

    @property
    def stored(self) -> list[str]:
        return [p.name for p in self.folder.iterdir()]


def received(n: int, log: list[str]) -> Iterator[Received]:
    for i in range(n):
        log.append(f"stored {i}")
        yield Received(Path(f"/nirgends/{i}"), f"datei{i}.xlsx", str(i), 1,
                       datetime(2026, 1, 1, tzinfo=TZ), Origin("datei", f"datei{i}.xlsx"))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_streamed_files_keep_their_order_with_cache_hits_between(monkeypatch, workers,
                                                                 tmp_path):
    monkeypatch.setenv("KISI_WORKERS", workers)
    log: list[str] = []
    cache = HalfCache(tmp_path)
    seen: list[int] = []
    results = check_all(received(30, log), checked_where, PROG, None, cache,
                        progress=seen.append, meanwhile=lambda: log.append("meanwhile"),
                        arrived=lambda n: log.append("arrived"))
    assert [c.datei for c in results] == [f"datei{i}.xlsx" for i in range(30)]
    assert [c.readable for c in results] == [i % 3 != 0 for i in range(30)]
    assert len(seen) == 30 and log.count("arrived") == 30
    # meanwhile runs once, after the last file was handed out
    assert log.index("meanwhile") == len(log) - 1 and log.count("meanwhile") == 1
    assert sorted(cache.stored, key=int) == [str(i) for i in range(30) if i % 3 != 0]


class VanishingCache(HalfCache):
    """Every third file seems cached, but every sixth one's result is damaged when it is
    read (or was removed meanwhile): those must be checked after all."""

    def get(self, sha256: str, datei: str) -> Checked | None:
        return None if int(sha256) % 6 == 0 else super().get(sha256, datei)


@pytest.mark.parametrize(("workers", "files"), [("1", 30), ("2", 30), ("2", 4)])
def test_a_cached_result_that_cannot_be_loaded_is_checked(monkeypatch, workers, files,
                                                         tmp_path):
    monkeypatch.setenv("KISI_WORKERS", workers)
    cache = VanishingCache(tmp_path)
    results = check_all(received(files, []), checked_where, PROG, None, cache)
    assert [c.datei for c in results] == [f"datei{i}.xlsx" for i in range(files)]
    # loaded from the cache: not readable (the stand-in); checked: readable
    assert [c.readable for c in results] == [i % 3 != 0 or i % 6 == 0 for i in range(files)]
    # every checked one was stored by whoever checked it (here, a child or a worker)
    assert sorted(cache.stored, key=int) == [str(i) for i in range(files)
                                             if i % 3 != 0 or i % 6 == 0]


class MostlyVanished(HalfCache):
    """All but the first file seem cached, but no result can be loaded after all."""

    def has(self, sha256: str) -> bool:
        return sha256 != "0"

    def get(self, sha256: str, datei: str) -> Checked | None:
        return None


def test_many_cached_results_lost_are_checked_on_a_pool(monkeypatch, tmp_path):
    """The one uncached file goes to a forked child; the 29 that could not be loaded then
    to a pool: both sets of results come back, in order."""
    import pipeline.parallel as parallel

    monkeypatch.setenv("KISI_WORKERS", "2")
    pools = []
    real_pool = parallel._pool
    monkeypatch.setattr(parallel, "_pool", lambda n: pools.append(n) or real_pool(n))
    results = check_all(received(30, []), checked_where, PROG, None, MostlyVanished(tmp_path))
    assert [c.datei for c in results] == [f"datei{i}.xlsx" for i in range(30)]
    assert all(c.readable for c in results) and pools == [2]


def test_checking_starts_before_intake_has_finished(monkeypatch):
    """With a pool, the first files are handed out while later ones are still stored."""
    monkeypatch.setenv("KISI_WORKERS", "2")
    log: list[str] = []
    handed: list[int] = []
    real_submit = __import__("pipeline.parallel", fromlist=["_submit"])._submit

    def submit(pool, pending, todo, *args):
        handed.append(len([x for x in log if x.startswith("stored")]))
        return real_submit(pool, pending, todo, *args)

    monkeypatch.setattr("pipeline.parallel._submit", submit)
    check_all(received(40, log), checked_where, PROG, None, None)
    assert handed[0] < 40 and handed[-1] == 40


def dies_on_file_3(r: Received, prog, known) -> Checked:
    """A stand-in check that kills its worker process on one file (a reader crash)."""
    if r.datei == "datei3.xlsx":
        os._exit(70)
    return Checked(r.datei, r.sha256, findings=[])


def test_a_worker_dying_while_files_still_arrive_costs_only_that_file(monkeypatch):
    """The pool breaks during intake: files it refused and files it lost are checked one
    per fresh process; only the file that kills its process again is rejected."""
    monkeypatch.setenv("KISI_WORKERS", "2")
    results = check_all(received(30, []), dies_on_file_3, PROG, None, None)
    assert [c.datei for c in results] == [f"datei{i}.xlsx" for i in range(30)]
    rejected = [c.datei for c in results if not c.readable]
    assert rejected == ["datei3.xlsx"]
    assert [f.regel for f in results[3].findings] == ["DATEI_ABSTURZ"]


@pytest.mark.parametrize("n", [1, 5])
def test_a_few_files_are_checked_in_a_child_that_may_die(monkeypatch, n):
    """Too few files for a pool (a warm run's new file): one forked child checks them while
    the parent goes on; a file that kills the child costs only that file."""
    monkeypatch.setenv("KISI_WORKERS", "2")
    results = check_all(received(n, []), checked_where, PROG, None, None)
    assert [c.datei for c in results] == [f"datei{i}.xlsx" for i in range(n)]
    assert all(c.readable for c in results)
    if n > 3:
        results = check_all(received(n, []), dies_on_file_3, PROG, None, None)
        assert [c.datei for c in results if not c.readable] == ["datei3.xlsx"]
        assert [f.regel for f in results[3].findings] == ["DATEI_ABSTURZ"]
        assert all(c.findings == [] for i, c in enumerate(results) if i != 3)


def test_a_few_files_are_not_checked_in_the_parent(monkeypatch):
    monkeypatch.setenv("KISI_WORKERS", "2")
    results = check_all(received(2, []), checked_where_pid, PROG, None, None)
    assert len(results) == 2
    assert not any(c.datei.endswith(f"@{os.getpid()}") for c in results)


def checked_where_pid(r: Received, prog, known) -> Checked:
    return Checked(f"{r.datei}@{os.getpid()}", r.sha256, findings=[])


def sleeps(r: Received, prog, known) -> Checked:
    import time

    time.sleep(60)
    return Checked(r.datei, r.sha256, findings=[])


def test_a_failing_parent_stops_the_child_checking_a_few_files(monkeypatch):
    """If the parent fails while the child checks (here: its imports), the child is killed
    and reaped, not left running or as a zombie."""
    import time

    import pipeline.parallel

    monkeypatch.setenv("KISI_WORKERS", "2")
    forked: list[int] = []

    class Recorded(pipeline.parallel.Background):
        def __init__(self, fn, enabled=True):
            super().__init__(fn, enabled)
            forked.append(self._pid)

    monkeypatch.setattr(pipeline.parallel, "Background", Recorded)

    def broken_imports():
        raise ImportError("kaputt")

    start = time.monotonic()
    with pytest.raises(ImportError, match="kaputt"):
        check_all(received(2, []), sleeps, PROG, None, None, meanwhile=broken_imports)
    assert time.monotonic() - start < 30  # the child's 60 s sleep was not waited for
    assert len(forked) == 1 and forked[0] > 0
    with pytest.raises(ChildProcessError):  # reaped already: not running, not a zombie
        os.waitpid(forked[0], os.WNOHANG)
