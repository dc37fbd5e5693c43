"""Results cache: a file's check result by its SHA-256, so unchanged files are not parsed again.

The key covers everything a result depends on besides the bytes: program version, programme
and template specs, and the registry's AGS list. Any change gives a fresh cache folder.
Entries are written atomically under the store (which only this program writes).
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import replace
from functools import cache
from pathlib import Path

from pipeline import __version__
from pipeline.findings import Finding
from pipeline.outputs.atomic import write_bytes
from pipeline.spec import Programme, load_template, template_versions
from pipeline.validate import Checked


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
        self.dir = root / "cache" / cache_key(prog, known)
        self.dir.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        return self.dir / f"{sha256}.pickle"

    def get(self, sha256: str, datei: str) -> Checked | None:
        path = self._path(sha256)
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
