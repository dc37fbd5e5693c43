"""One report run per output folder (and store) at a time: an advisory lock file.

The lock is held by the open file descriptor, so a run killed with SIGKILL releases it at
once; a stale lock file on disk means nothing.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

LOCK_NAME = ".kisi.lock"


class Busy(Exception):
    """Another run holds the lock; the message is German."""


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unbekannt"
            raise Busy(f"Ein anderer Berichtslauf (Prozess {holder}) arbeitet gerade in "
                       f"„{folder}“. Bitte warten Sie, bis er fertig ist, und starten Sie "
                       "dann erneut.") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


@contextmanager
def run_lock(*folders: Path) -> Iterator[None]:
    """Lock every folder (sorted, so two runs never wait on each other crosswise)."""
    with ExitStack() as stack:
        for folder in sorted({f.resolve() for f in folders}):
            stack.enter_context(_locked(folder))
        yield
