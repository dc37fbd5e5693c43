"""What earlier runs wrote, so a rerun can leave unchanged files alone or reuse their parts.

Used by the feedback (`feedback/state.py`: one record per submission) and by the
consolidated reports (`outputs/write.py`: one record per report file). Per name one record:
the digest of everything the files are made of, size, mtime, ctime and inode of each file
as it was when we wrote it (`stamp`), and optionally what the writer wants to find again (e.g. where
each submission's rows are in the file). Files are trusted only if every one is still
exactly the one we wrote: a deleted, replaced or edited file changes at least its ctime,
which no program can set back. The records live in one file in a folder the caller owns,
in `marshal`'s format (plain values: a third of JSON's time to read and write, ≈ 4 ms of
a warm run; the file is this program's own, like the pickled results beside it); anything
unreadable there, or written under another `environment` (program, specs, library and
Python versions), just means "write everything again".
"""

from __future__ import annotations

import hashlib
import marshal
import os
from pathlib import Path

from pipeline.outputs.atomic import write_bytes

FORMAT = 4  # 4: marshal (was JSON); 3: a record's files as one text (`stamp`)

AnyPath = Path | str  # a path as Path or as str (cheaper to make for hundreds of files)


def stamp(files: list[AnyPath]) -> str | None:
    """Name, size, mtime, ctime and inode of each of `files` (by name) in one text, as a
    record keeps them (one string: a record file of 432 submissions loads ≈ 3× faster
    than with a list per file); None if one is missing. NUL, which no file name holds,
    separates the values."""
    parts = []
    for path in files:
        try:
            st = os.stat(path)
        except OSError:
            return None
        parts.append(f"{os.fspath(path).rpartition(os.sep)[2]}\0{st.st_size}"
                     f"\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}")
    parts.sort()
    return "\0\0".join(parts)


class Records:
    """The records kept in the file `path`, valid for `environment` only."""

    def __init__(self, path: Path, environment: str) -> None:
        self.path = path
        self.environment = environment
        self.old: dict[str, list] = {}
        self.new: dict[str, list] = {}
        # Whatever else the writer keeps for the next run under this environment (plain
        # values: dicts, lists, texts, numbers;
        # the feedback: texts of the email package, feedback/kept.py; the reports: the
        # lineage parts' rows per figure, write.PARTS_MEMO). Saved if not empty.
        self.memo: dict = {}
        self.raw = b""
        try:
            self.raw = self.path.read_bytes()
            data = marshal.loads(self.raw)
            if isinstance(data, dict) and data.get("format") == FORMAT \
                    and data.get("environment") == environment \
                    and isinstance(data.get("files"), dict):
                self.old = data["files"]
                memo = data.get("memo", {})
                self.memo = memo if isinstance(memo, dict) else {}
        except Exception:  # noqa: BLE001 - damaged (even a huge length read): write everything
            self.old = {}

    def digest(self, inputs: tuple) -> str:
        """The digest of one name's inputs (plain values, dataclasses, dates: their repr is
        stable from run to run)."""
        text = repr((self.environment, inputs))
        return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()

    def intact(self, name: str, files: list[AnyPath]) -> list | None:
        """The record of `name` if its files are exactly `files` and each is still as
        written (whatever it was made from), else None."""
        old = self.old.get(name)
        try:
            recorded = old[1]  # type: ignore[index]
        except (TypeError, IndexError, KeyError):
            return None
        return old if isinstance(recorded, str) and recorded == stamp(files) else None

    def unchanged(self, name: str, digest: str, files: list[AnyPath]) -> bool:
        """True if the files of `name` were made from `digest` and are still as written;
        the record is then kept for the next run."""
        old = self.intact(name, files)
        same = old is not None and old[0] == digest
        if same:
            self.new[name] = old  # type: ignore[assignment]
        return same

    def extra(self, name: str, files: list[AnyPath]) -> object:
        """What the writer recorded with `name` (see `record`), if its files are intact."""
        old = self.intact(name, files)
        return old[2] if old is not None and len(old) > 2 else None

    def record(self, name: str, digest: str, files: list[AnyPath],
               extra: object = None) -> None:
        """Remember files just written (call after every file of `name` is in place);
        `extra` (plain values) comes back from `extra` on a later run while the files are
        intact."""
        found = stamp(files)
        if found is not None:
            self.new[name] = [digest, found] if extra is None else [digest, found, extra]
        else:
            self.new.pop(name, None)

    def forget(self, name: str) -> None:
        self.new.pop(name, None)

    def save(self, complete: bool) -> None:
        """Write the records. After an interrupted run, the records of names not reached yet
        are kept: their files were not touched."""
        files = self.new if complete else {**self.old, **self.new}
        content = {"format": FORMAT, "environment": self.environment, "files": files}
        if self.memo:
            content["memo"] = self.memo
        data = marshal.dumps(content)
        if data != self.raw:
            write_bytes(self.path, data)
