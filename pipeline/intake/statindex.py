"""Which inbox files are unchanged since the last run, told by their stat, as git's index does.

A warm run used to read and hash every file of the inbox again (433 files: ≈ 17 ms of a
0.45 s run) only to find the bytes it already had. Here each plain file's stat (size,
modification and change time in ns, inode, device) is kept with its SHA-256, per inbox
folder, in the store's cache. When a file's stat is the same in the next run, its hash is
taken from here and the file is not read.

Safe because:
- any write to a file changes its change time (ctime), which no user tool can set back;
- an entry is kept only for a file whose ctime is at least `SETTLED_NS` before the run
  started, so a file rewritten within one timestamp tick of the filesystem (2 s on FAT)
  after we read it cannot keep its old stat (git's "racy" case);
- the index only names a hash; the bytes are taken from the store, which is checked to
  hold them, and everything else about the file (name, size, date) comes from its stat.
A lost or damaged index only costs the reading and hashing again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path

from pipeline.outputs.atomic import write_bytes

SETTLED_NS = 3_000_000_000
FORMAT = 1
SHA256 = re.compile(r"[0-9a-f]{64}")
# Only where the change time is one (POSIX): on Windows `st_ctime` is the creation time
# and `DirEntry.stat()` has no inode, so an edit that keeps size and mtime would go unseen.
USABLE = os.name == "posix"


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


class StatIndex:
    """Stat and SHA-256 of each plain inbox file, by its path relative to the inbox."""

    def __init__(self, cache_dir: Path | None, inbox: Path) -> None:
        self.started = time.time_ns()
        self.path = None
        self.old: dict[str, list] = {}
        self.new: dict[str, list] = {}
        if cache_dir is None or not USABLE:
            return
        folder = hashlib.sha256(str(inbox.resolve()).encode()).hexdigest()[:16]
        self.path = cache_dir / f"eingang-stat-{folder}.json"
        try:
            found = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return
        if isinstance(found, dict) and found.get("format") == FORMAT \
                and isinstance(found.get("files"), dict):
            self.old = found["files"]

    def sha(self, rel: str, st: os.stat_result) -> str | None:
        """The file's SHA-256 if its stat is the one recorded with it, else None."""
        known = self.old.get(rel)
        if isinstance(known, list) and len(known) == 6 and known[:5] == _stat_key(st) \
                and isinstance(known[5], str) and SHA256.fullmatch(known[5]):
            return known[5]
        return None

    def note(self, rel: str, st: os.stat_result, sha: str) -> None:
        """Remember a plain file (read and hashed in this run, or found unchanged)."""
        if st.st_ctime_ns < self.started - SETTLED_NS:  # (the mtime may be anything)
            self.new[rel] = [*_stat_key(st), sha]

    def save(self) -> None:
        if self.path is None or self.new == self.old:
            return
        data = json.dumps({"format": FORMAT, "files": self.new}, separators=(",", ":"),
                          sort_keys=True)
        write_bytes(self.path, data.encode("utf-8"), durable=False)
