"""Atomic, reproducible file writes: temp file in the target folder, then rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

FILE_MODE = 0o644  # mkstemp creates 0600; reports are meant to be shared


@contextmanager
def atomic_path(target: Path, durable: bool = True) -> Iterator[Path]:
    """Yield a temp path next to `target`; on success it replaces `target` in one step.

    `durable=False` skips the fsync (one per file, the largest cost of writing hundreds of
    small files): only for files that are checked before they are trusted and rewritten
    when wrong, i.e. cache entries and feedback (see docs/decisions.md). A killed process
    still leaves either the old or the new file; only a power cut can leave a short one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if durable:
            with tmp_path.open("rb") as fh:
                os.fsync(fh.fileno())
        tmp_path.chmod(FILE_MODE)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes(target: Path, data: bytes, durable: bool = True) -> None:
    with atomic_path(target, durable) as tmp:
        tmp.write_bytes(data)


def write_with(target: Path, writer: Callable[[Path], None]) -> None:
    with atomic_path(target) as tmp:
        writer(tmp)


def remove_stale_temp_files(folder: Path) -> None:
    """Temp files left by a killed run (only ever ours: '.<name>.<random>.tmp')."""
    for path in folder.glob(".*.tmp") if folder.is_dir() else []:
        path.unlink(missing_ok=True)
