"""The feedback's files are written atomically, like `pipeline.outputs.atomic.write_bytes`
with `durable=False` (temp file in the target's folder, mode 0644, rename), with fewer
system calls and no path objects: a cold run writes two files per submission, and
`write_bytes` costs ≈ 0.1 ms more a file (mkdir, a second open, chmod and stat by path)."""

from __future__ import annotations

import itertools
import os

from pipeline.outputs.atomic import FILE_MODE

_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
          | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
_ATTEMPTS = 1000
_serial = itertools.count()


def write_file(folder: str, name: str, data: bytes) -> None:
    """Replace `folder/name` with `data` in one step (the folder must exist). A killed
    process leaves either the old or the new file, and at most a temp file
    '.<name>.<tag>.tmp', which `remove_stale_temp_files` clears."""
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


_FCHMOD = hasattr(os, "fchmod")


def _create(folder: str, name: str) -> tuple[int, str]:
    """A new temp file next to the target: '.<name>.<pid>-<serial>.tmp', another serial
    if that exists (as `tempfile.mkstemp`, exclusive and without following links)."""
    for _ in range(_ATTEMPTS):
        tmp = os.path.join(folder, f".{name}.{os.getpid()}-{next(_serial)}.tmp")
        try:
            return os.open(tmp, _FLAGS, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp name for {name} in {folder}")  # pragma: no cover
