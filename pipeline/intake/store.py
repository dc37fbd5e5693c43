"""A content-addressed store: every received byte sequence, kept once, never rewritten."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pipeline.outputs.atomic import atomic_path

READ_ONLY = 0o444


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Store:
    """objects/<first two hex>/<sha256>; the name is the content's hash, nothing else."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "objects").mkdir(parents=True, exist_ok=True)
        self._objects = os.path.join(root, "objects")

    def _name(self, sha256: str) -> str:
        return os.path.join(self._objects, sha256[:2], sha256)

    def path_of(self, sha256: str) -> Path:
        return Path(self._name(sha256))

    def stored(self, sha256: str) -> Path | None:
        """Where the store keeps these bytes, None when it does not have them."""
        name = self._name(sha256)
        return Path(name) if os.path.isfile(name) else None

    def put(self, data: bytes) -> tuple[str, Path]:
        sha = sha256_bytes(data)
        target = self.path_of(sha)
        if not target.exists():
            with atomic_path(target) as tmp:
                tmp.write_bytes(data)
            os.chmod(target, READ_ONLY)
        return sha, target

    def put_file(self, source: Path) -> tuple[str, Path]:
        """Copy a file in by streaming (it may be larger than we want in memory)."""
        sha = sha256_file(source)
        target = self.path_of(sha)
        if not target.exists():
            with atomic_path(target) as tmp, source.open("rb") as src, tmp.open("wb") as dst:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    dst.write(chunk)
            os.chmod(target, READ_ONLY)
        return sha, target
