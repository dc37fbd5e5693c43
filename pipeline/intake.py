"""Intake: find every received file under the inbox, hash it, date it.

The inbox is only read, never changed. Dotfiles and the inbox's own README are skipped.
`eingang` is the file's modification time (the email's Date header once mail intake
exists), in German local time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Europe/Berlin")
SKIPPED_NAMES = {"README.md", "LIESMICH.md", "Thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class Received:
    path: Path
    datei: str  # path relative to the inbox, with '/'
    sha256: str
    size: int
    eingang: datetime


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _skipped(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts) or (
        len(rel.parts) == 1 and rel.name in SKIPPED_NAMES
    )


def received_file(path: Path, datei: str) -> Received:
    stat = path.stat()
    return Received(path=path, datei=datei, sha256=sha256_file(path), size=stat.st_size,
                    eingang=datetime.fromtimestamp(int(stat.st_mtime), TZ))


def scan(inbox: Path) -> list[Received]:
    found = []
    for path in sorted(p for p in inbox.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = path.relative_to(inbox)
        if not _skipped(rel):
            found.append(received_file(path, rel.as_posix()))
    return found
