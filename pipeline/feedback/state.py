"""What the feedback of earlier runs was made of, so a rerun can leave unchanged files alone.

Per base name (`<ags>_PJ<n>_Q<q>_<sha8>`) one record: the digest of everything its files
are made of, and size, mtime, ctime and inode of each file as it was when we wrote it. A
submission's files are skipped only if its digest is the recorded one and every file is
still exactly the one we wrote (a deleted, replaced or edited file changes at least its
ctime, which no program can set back). The records live in one JSON file in a folder the
caller owns; anything unreadable there just means "write everything again".

The digest covers the program (version, a digest of its source, the programme and template
specs, the openpyxl, Python and zlib versions that shape the bytes) and, per submission,
every value passed to the renderers (see `write_feedback`).
"""

from __future__ import annotations

import hashlib
import json
import platform
import zlib
from functools import cache
from pathlib import Path

import openpyxl

import pipeline
from pipeline.outputs.atomic import write_bytes
from pipeline.spec import Programme, load_programme, load_template, template_versions

FILE = "rueckmeldungen.json"
FORMAT = 1

Stat = list[int]  # [size, mtime_ns, ctime_ns, inode]


@cache
def _source_digest() -> str:
    """The program's own code: a changed renderer or text gives new feedback (read once per
    process, so a run sees one consistent value)."""
    root = Path(pipeline.__file__).parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def environment(prog: Programme) -> str:
    """Everything besides the submission itself that shapes the feedback files."""
    parts = [pipeline.__version__, _source_digest(), prog.digest, load_programme().digest,
             *(load_template(v).digest for v in template_versions()),
             openpyxl.__version__, platform.python_implementation(),
             platform.python_version(), zlib.ZLIB_RUNTIME_VERSION]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _stat(path: Path) -> Stat | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


class Records:
    """The records of one feedback folder, kept in `folder/FILE`."""

    def __init__(self, folder: Path, prog: Programme) -> None:
        self.path = folder / FILE
        self.environment = environment(prog)
        self.old: dict[str, list] = {}
        self.new: dict[str, list] = {}
        self.raw = b""
        try:
            self.raw = self.path.read_bytes()
            data = json.loads(self.raw)
            if data.get("format") == FORMAT and isinstance(data.get("files"), dict):
                self.old = data["files"]
        except (OSError, ValueError, AttributeError):
            self.old = {}

    def digest(self, inputs: tuple) -> str:
        """The digest of one submission's inputs (plain values, dataclasses, dates: their
        repr is stable from run to run)."""
        text = repr((self.environment, inputs))
        return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()

    def unchanged(self, name: str, digest: str, files: list[Path]) -> bool:
        """True if the files of `name` were made from `digest` and are still as written."""
        old = self.old.get(name)
        try:
            recorded_digest, stats = old[0], old[1]
            same = recorded_digest == digest and sorted(stats) == sorted(p.name for p in files)
            same = same and all(_stat(p) == stats[p.name] for p in files)
        except (TypeError, IndexError, KeyError, AttributeError):
            same = False
        if same:
            self.new[name] = old
        return same

    def record(self, name: str, digest: str, files: list[Path]) -> None:
        """Remember files just written (call after every file of `name` is in place)."""
        stats = {p.name: _stat(p) for p in files}
        if all(stats.values()):
            self.new[name] = [digest, stats]
        else:
            self.new.pop(name, None)

    def save(self, complete: bool) -> None:
        """Write the records. After an interrupted run, the records of submissions not
        reached yet are kept: their files were not touched."""
        files = self.new if complete else {**self.old, **self.new}
        data = json.dumps({"format": FORMAT, "files": files}, sort_keys=True,
                          separators=(",", ":")).encode("utf-8")
        if data != self.raw:
            write_bytes(self.path, data)
