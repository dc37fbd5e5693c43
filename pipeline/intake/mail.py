"""E-mails saved from a mail client (.eml): every spreadsheet attachment is a submission."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from pipeline.intake.model import TZ

if TYPE_CHECKING:  # the email package is imported when an .eml arrives (start-up time)
    from email.message import Message

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


def utf8_text(text: str) -> str:
    """`text` fit for CSV, XLSX and SQLite: surrogate escapes (file names that are not
    UTF-8, stray 8-bit bytes in a header) become U+FFFD; no UTF-8 writer accepts them."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # surrogates outside the escape range
        return text.encode("utf-8", "replace").decode("utf-8")


def _header(msg: Message, name: str) -> str:
    try:
        return utf8_text(" ".join(str(msg.get(name, "") or "").split()))
    except Exception:  # the header parser has many ways to fail on junk
        return ""


def _date(text: str) -> datetime | None:
    from email.utils import parsedate_to_datetime

    try:
        parsed = parsedate_to_datetime(text) if text else None
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    try:
        return parsed.astimezone(TZ)
    except OverflowError:  # e.g. 31 Dec 9999 23:59 -2359
        return None


def _is_spreadsheet(name: str, content_type: str) -> bool:
    return name.lower().endswith(SPREADSHEET_SUFFIXES) or (
        not name and any(t in content_type for t in SPREADSHEET_TYPES))


UNREADABLE = "keine lesbaren (die E-Mail ist beschädigt oder zu tief verschachtelt)"


def read_mail(data: bytes) -> Mail:
    """Never raises: the email package parses hostile input with many code paths (and a
    recursion per nesting level); a mail it cannot take apart has no attachments."""
    from email import policy
    from email.parser import BytesParser

    try:
        msg = BytesParser(policy=policy.default).parsebytes(data)
        found, others = _attachments(msg)
    except Exception:  # RecursionError included
        return Mail("", "", None, "", [], [UNREADABLE])
    date_text = _header(msg, "Date")
    return Mail(_header(msg, "From"), _header(msg, "Subject"), _date(date_text), date_text,
                found, others)


def _attachments(msg: Message) -> tuple[list[Attachment], list[str]]:
    found, others = [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        try:
            name = utf8_text(part.get_filename() or "")
        except Exception:  # malformed RFC 2231 or encoded-word parameters
            name = ""
        disposition = part.get_content_disposition()
        if disposition != "attachment" and not name:
            continue
        if _is_spreadsheet(name, part.get_content_type()):
            payload = part.get_payload(decode=True) or b""
            found.append(Attachment(name or "anhang.xlsx", payload))
        else:
            others.append(name or part.get_content_type())
    return found, others
