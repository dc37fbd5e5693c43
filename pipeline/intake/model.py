"""What intake hands on: one received spreadsheet (or one container that yielded none)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class Origin:
    """Where a file came from. kind: datei | email | archiv."""

    kind: str
    path: str
    member: str = ""
    sender: str = ""
    subject: str = ""
    mail_date: str = ""


@dataclass(frozen=True)
class Received:
    """One received file. `path` holds its bytes (the store object, never the inbox name);
    `datei` is its human-readable origin, e.g. 'mail.eml › bericht.xlsx'. `problem` is a
    (rule id, params) pair when the file could not even be unpacked."""

    path: Path
    datei: str
    sha256: str
    size: int
    eingang: datetime
    origin: Origin
    problem: tuple[str, tuple[tuple[str, str], ...]] | None = None
