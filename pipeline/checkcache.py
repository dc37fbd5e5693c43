"""Results cache: a file's check result by its SHA-256, so unchanged files are not parsed again.

The key covers everything a result depends on besides the bytes: program version, programme
and template specs, and the registry's AGS list. Any change gives a fresh cache folder.
Entries are written atomically under the store (which only this program writes).
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import replace
from functools import cache
from pathlib import Path

from pipeline import __version__
from pipeline.findings import Finding
from pipeline.outputs.atomic import write_bytes
from pipeline.spec import Programme, load_template, template_versions
from pipeline.validate import Checked

# Results loaded ahead by a resident server (`Keeping`): a fork of it finds them here
# instead of reading and unpickling the files again. Path -> (the file's stat, result, its
# bytes). A result is handed out once per process (the report changes what it is given:
# findings are added, tables released); asked again (the same attachment twice), the
# result is unpickled afresh from the bytes, as it would be read from its file.
KEPT: dict[str, tuple[tuple[int, int, int], Checked, bytes]] = {}
_HANDED_OUT: set[str] = set()
KEPT_LIMIT = 5000  # results; a larger folder is not kept (memory of the server)
USED: list[str] = []  # the cache folders this process used (told to a resident server)


def _identity(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class Keeping:
    """Loads the results of one cache folder into `KEPT` (replacing what was kept), a few
    at a time (`step`): a resident server does it between commands and answers a command
    that arrives meanwhile at once (what is not loaded yet is read from its file). Files
    are written once under their final name (atomically), so a file with the same inode,
    size and mtime still holds what was loaded."""

    def __init__(self, folder: str) -> None:
        KEPT.clear()
        _HANDED_OUT.clear()
        self.folder = folder
        try:
            names = [e.name for e in os.scandir(folder)
                     if e.name.endswith(".pickle") and not e.name.startswith("projekt-")]
        except OSError:
            names = []
        self.todo = names if len(names) <= KEPT_LIMIT else []

    def step(self, count: int) -> bool:
        """Load up to `count` more; True while some are left."""
        batch, self.todo = self.todo[:count], self.todo[count:]
        for name in batch:
            path = os.path.join(self.folder, name)
            try:
                with open(path, "rb") as f:
                    st = os.fstat(f.fileno())
                    data = f.read()
                checked = pickle.loads(data)
            except Exception:  # noqa: BLE001 - a damaged entry is only not kept (`get` reads it)
                continue
            if isinstance(checked, Checked):
                KEPT[path] = (_identity(st), checked, data)
        return bool(self.todo)


def cache_key(prog: Programme, known: frozenset[str] | None) -> str:
    parts = [__version__, code_digest(), prog.digest,
             *(load_template(v).digest for v in template_versions()),
             "-" if known is None else ",".join(sorted(known))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


@cache
def code_digest() -> str:
    """SHA-256 over the program's own source (Python and the C scanner): a changed rule or
    reader invalidates cached results even when nobody raised the version number (≈ 1 ms
    for the whole package)."""
    digest = hashlib.sha256()
    root = Path(__file__).parent
    for path in sorted([*root.rglob("*.py"), *root.rglob("*.c")]):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


class CheckCache:
    """Check results by file sha256, and the cross-quarter findings per application (by
    `app_key`), in one folder per `cache_key`."""

    def __init__(self, root: Path, prog: Programme, known: frozenset[str] | None) -> None:
        # absolute: `KEPT` is keyed by it, and a server runs in another folder
        self.dir = (root / "cache" / cache_key(prog, known)).absolute()
        self.dir.mkdir(parents=True, exist_ok=True)
        USED.append(str(self.dir))

    def _path(self, sha256: str) -> Path:
        return self.dir / f"{sha256}.pickle"

    def has(self, sha256: str) -> bool:
        """Whether a result is stored (it may still turn out damaged: `get`)."""
        return os.path.exists(self._path(sha256))

    def get(self, sha256: str, datei: str) -> Checked | None:
        path = self._path(sha256)
        if KEPT:
            key = str(path)
            kept = KEPT.get(key)
            try:
                if kept is not None and kept[0] == _identity(os.stat(path)):
                    if key not in _HANDED_OUT:
                        _HANDED_OUT.add(key)
                        return relocate(kept[1], datei)
                    return relocate(pickle.loads(kept[2]), datei)
            except OSError:
                return None
        try:
            checked: Checked = pickle.loads(path.read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None
        return relocate(checked, datei)

    def get_findings(self, key: str) -> list[Finding] | None:
        """Cross-quarter findings of one application stored under `key` (see `app_key`)."""
        try:
            found = pickle.loads((self.dir / f"projekt-{key}.pickle").read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None
        return found if isinstance(found, list) else None

    def put_findings(self, key: str, findings: list[Finding]) -> None:
        write_bytes(self.dir / f"projekt-{key}.pickle",
                    pickle.dumps(findings, pickle.HIGHEST_PROTOCOL), durable=False)

    def put_bytes(self, sha256: str, data: bytes) -> None:
        """Store an already pickled result (workers pickle once: for the pipe and here)."""
        write_bytes(self._path(sha256), data, durable=False)


def app_key(ags: str, files: list[tuple[str, str, int, int]]) -> str:
    """The cross-quarter rules of an application see its used files only: their names,
    bytes (by sha256) and quarters (the program and specs are in the cache folder's key)."""
    return hashlib.sha256(repr((ags, files)).encode()).hexdigest()


def dump(checked: Checked) -> bytes:
    return pickle.dumps(checked, pickle.HIGHEST_PROTOCOL)


def relocate(checked: Checked, datei: str) -> Checked:
    """The same bytes received under another name: findings point at that name."""
    if checked.datei == datei:
        return checked
    return replace(checked, datei=datei,
                   findings=[replace(f, datei=datei) for f in checked.findings])
