"""What earlier runs wrote, so a rerun can leave unchanged files alone or reuse their parts.

Used by the feedback (`feedback/state.py`: one record per submission) and by the
consolidated reports (`outputs/write.py`: one record per report file). Per name one record:
the digest of everything the files are made of, size, mtime, ctime and inode of each file
as it was when we wrote it, and optionally what the writer wants to find again (e.g. where
each submission's rows are in the file). Files are trusted only if every one is still
exactly the one we wrote: a deleted, replaced or edited file changes at least its ctime,
which no program can set back. The records live in one JSON file in a folder the caller
owns; anything unreadable there, or written under another `environment` (program,
specs, library versions), just means "write everything again".
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pipeline.outputs.atomic import write_bytes

FORMAT = 2

Stat = list[int]  # [size, mtime_ns, ctime_ns, inode]


def file_stat(path: Path) -> Stat | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


class Records:
    """The records kept in the JSON file `path`, valid for `environment` only."""

    def __init__(self, path: Path, environment: str) -> None:
        self.path = path
        self.environment = environment
        self.old: dict[str, list] = {}
        self.new: dict[str, list] = {}
        self.raw = b""
        try:
            self.raw = self.path.read_bytes()
            data = json.loads(self.raw)
            if data.get("format") == FORMAT and data.get("environment") == environment \
                    and isinstance(data.get("files"), dict):
                self.old = data["files"]
        except (OSError, ValueError, AttributeError):
            self.old = {}

    def digest(self, inputs: tuple) -> str:
        """The digest of one name's inputs (plain values, dataclasses, dates: their repr is
        stable from run to run)."""
        text = repr((self.environment, inputs))
        return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()

    def intact(self, name: str, files: list[Path]) -> list | None:
        """The record of `name` if its files are exactly `files` and each is still as
        written (whatever it was made from), else None."""
        old = self.old.get(name)
        try:
            stats = old[1]  # type: ignore[index]
            same = sorted(stats) == sorted(p.name for p in files)
            same = same and all(file_stat(p) == stats[p.name] for p in files)
        except (TypeError, IndexError, KeyError, AttributeError):
            return None
        return old if same else None

    def unchanged(self, name: str, digest: str, files: list[Path]) -> bool:
        """True if the files of `name` were made from `digest` and are still as written;
        the record is then kept for the next run."""
        old = self.intact(name, files)
        same = old is not None and old[0] == digest
        if same:
            self.new[name] = old  # type: ignore[assignment]
        return same

    def extra(self, name: str, files: list[Path]) -> object:
        """What the writer recorded with `name` (see `record`), if its files are intact."""
        old = self.intact(name, files)
        return old[2] if old is not None and len(old) > 2 else None

    def record(self, name: str, digest: str, files: list[Path], extra: object = None) -> None:
        """Remember files just written (call after every file of `name` is in place);
        `extra` (JSON) comes back from `extra` on a later run while the files are intact."""
        stats = {p.name: file_stat(p) for p in files}
        if all(stats.values()):
            self.new[name] = [digest, stats] if extra is None else [digest, stats, extra]
        else:
            self.new.pop(name, None)

    def forget(self, name: str) -> None:
        self.new.pop(name, None)

    def save(self, complete: bool) -> None:
        """Write the records. After an interrupted run, the records of names not reached yet
        are kept: their files were not touched."""
        files = self.new if complete else {**self.old, **self.new}
        data = json.dumps({"format": FORMAT, "environment": self.environment,
                           "files": files}, sort_keys=True,
                          separators=(",", ":")).encode("utf-8")
        if data != self.raw:
            write_bytes(self.path, data)
