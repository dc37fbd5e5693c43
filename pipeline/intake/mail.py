"""E-mails saved from a mail client (.eml): every spreadsheet attachment is a submission."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

from pipeline.intake.model import TZ

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".zip")
SPREADSHEET_TYPES = ("spreadsheet", "excel", "zip")


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes


@dataclass(frozen=True)
class Mail:
    sender: str
    subject: str
    date: datetime | None
    date_text: str
    attachments: list[Attachment]
    other_attachments: list[str]


def _header(msg: Message, name: str) -> str:
    try:
        return " ".join(str(msg.get(name, "") or "").split())
    except (ValueError, TypeError, IndexError):  # malformed encoded words
        return ""


def _date(text: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(text) if text else None
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed.astimezone(TZ)


def _is_spreadsheet(name: str, content_type: str) -> bool:
    return name.lower().endswith(SPREADSHEET_SUFFIXES) or (
        not name and any(t in content_type for t in SPREADSHEET_TYPES))


def read_mail(data: bytes) -> Mail:
    msg = BytesParser(policy=policy.default).parsebytes(data)
    found, others = [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        try:
            name = part.get_filename() or ""
        except (ValueError, TypeError, IndexError):
            name = ""
        disposition = part.get_content_disposition()
        if disposition != "attachment" and not name:
            continue
        if _is_spreadsheet(name, part.get_content_type()):
            payload = part.get_payload(decode=True) or b""
            found.append(Attachment(name or "anhang.xlsx", payload))
        else:
            others.append(name or part.get_content_type())
    date_text = _header(msg, "Date")
    return Mail(_header(msg, "From"), _header(msg, "Subject"), _date(date_text), date_text,
                found, others)
