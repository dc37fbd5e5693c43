"""Atomic, reproducible file writes: temp file in the target folder, then rename."""

from __future__ import annotations

import itertools
import os
import queue
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

FILE_MODE = 0o644  # mkstemp creates 0600; reports are meant to be shared


class _Syncer:
    """A thread that makes finished temp files durable and puts them in place, one after
    the other, while the thread that wrote them renders the next file (fsync waits for
    the disk and releases the GIL). Used in the process that opened it only (a forked
    child has no such thread)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.queue: queue.SimpleQueue[tuple[Path, Path] | None] = queue.SimpleQueue()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="kisi-fsync", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            tmp, target = item
            try:
                if self.error is None:
                    _sync_and_replace(tmp, target)
            except BaseException as err:  # noqa: BLE001 - raised again by close()
                self.error = err
            finally:
                if os.path.lexists(tmp):
                    tmp.unlink()

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()


_syncer: _Syncer | None = None


@contextmanager
def synced_in_background() -> Iterator[None]:
    """Within the block, durable writes of this process return once their temp file is
    written; fsync and rename follow on a background thread, in order. On leaving the
    block every file is in place (or the first error is raised). A file is still only
    renamed into place once its bytes are on disk."""
    global _syncer
    outer, _syncer = _syncer, _Syncer()
    mine = _syncer
    try:
        yield
    except BaseException:
        _syncer = outer
        mine.close()
        raise
    _syncer = outer
    mine.close()
    if mine.error is not None:
        raise mine.error


def _sync_and_replace(tmp: Path, target: Path) -> None:
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    tmp.chmod(FILE_MODE)
    os.replace(tmp, target)


@contextmanager
def atomic_path(target: Path, durable: bool = True) -> Iterator[Path]:
    """Yield a temp path next to `target`; on success it replaces `target` in one step.

    `durable=False` skips the fsync (one per file, the largest cost of writing hundreds of
    small files): only for files that are checked before they are trusted and rewritten
    when wrong, i.e. cache entries and feedback (see docs/decisions.md). A killed process
    still leaves either the old or the new file; only a power cut can leave a short one.
    Inside `synced_in_background`, a durable file is put in place by its thread."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    handed_over = False
    try:
        yield tmp_path
        syncer = _syncer
        if durable and syncer is not None and syncer.pid == os.getpid():
            syncer.queue.put((tmp_path, target))
            handed_over = True
        elif durable:
            _sync_and_replace(tmp_path, target)
        else:
            tmp_path.chmod(FILE_MODE)
            os.replace(tmp_path, target)
    finally:
        if not handed_over and tmp_path.exists():
            tmp_path.unlink()


def write_bytes(target: Path, data: bytes, durable: bool = True) -> None:
    """`data` into `target` in one step (see atomic_path). Not durable: written with fewer
    system calls (`_replace_file`), the folder made only when it is missing; a cold report
    writes two feedback files and a cache entry per submission this way."""
    if durable:
        with atomic_path(target, durable) as tmp:
            tmp.write_bytes(data)
        return
    folder, name = os.path.split(target)
    try:
        _replace_file(folder, name, data)
    except FileNotFoundError:
        if os.path.isdir(folder):
            raise
        Path(folder).mkdir(parents=True, exist_ok=True)
        _replace_file(folder, name, data)


_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
          | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
_FCHMOD = hasattr(os, "fchmod")
_serial = itertools.count()


def _replace_file(folder: str, name: str, data: bytes) -> None:
    """Replace `folder/name` with `data` in one step, without fsync (the folder must exist):
    as atomic_path(durable=False) with ≈ 0.1 ms less per file (no mkdir, a single open,
    fchmod, no path objects). A killed process leaves either the old or the new file, and at
    most a temp file '.<name>.<pid>-<serial>.tmp', which `remove_stale_temp_files` clears."""
    fd, tmp = _create(folder, name)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if _FCHMOD:
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    try:
        os.close(fd)
        if not _FCHMOD:  # pragma: no cover - Windows
            os.chmod(tmp, FILE_MODE)
        os.replace(tmp, os.path.join(folder, name))
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def _create(folder: str, name: str) -> tuple[int, str]:
    """A new temp file next to the target, another serial if the name is taken (as
    `tempfile.mkstemp`: exclusive, mode 0600, without following links)."""
    for _ in range(1000):
        tmp = os.path.join(folder, f".{name}.{os.getpid()}-{next(_serial)}.tmp")
        try:
            return os.open(tmp, _FLAGS, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp name for {name} in {folder}")  # pragma: no cover


def write_with(target: Path, writer: Callable[[Path], None]) -> None:
    with atomic_path(target) as tmp:
        writer(tmp)


def remove_stale_temp_files(folder: Path) -> None:
    """Temp files left by a killed run (only ever ours: '.<name>.<tag>.tmp')."""
    for path in folder.glob(".*.tmp") if folder.is_dir() else []:
        path.unlink(missing_ok=True)
