"""Ready-to-send email drafts (.eml) that Outlook and Thunderbird open for editing.

Reproducible: the Date comes from an argument, the Message-ID and the MIME boundary from the
file's sha256, so a rerun writes the same bytes. `X-Unsent: 1` makes Outlook open the file
as an unsent draft with a Send button.

One draft is written per submission, so the message is not assembled through
`email.message.EmailMessage` each time (≈ 2 ms a draft, mostly parsing and refolding the
fixed headers): `draft` writes the fixed parts as they come out of the `email` package and
leaves only the headers that carry free text (From, To, Subject, Date, the attachment's
file name) to the `email` package's own header folding. The result is byte for byte what
`email_package_draft` builds with `EmailMessage` (the tests compare both); that function
also serves inputs outside the fixed format (an unusual `kind` or `sha256`). Even that
folding is mostly skipped (see `_fold`): a plain To that fits on its line and our own Date
are written as they are, and a Subject is folded once per shape (its leading digits set to
0); what the email package folds is kept from run to run (kept.py), so a draft whose
shape an earlier run has seen imports no more of the email package than quoprimime.
"""

from __future__ import annotations

import binascii
import re
from datetime import datetime
from email import quoprimime
from functools import cache
from pathlib import Path
from urllib.parse import quote

from pipeline.feedback import kept

MAX_LINE = 78  # email.policy.SMTP.max_line_length (tested)
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
MESSAGE_ID_DOMAIN = "kisi-berichtswesen.invalid"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TOKEN = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"  # kind and
# sha256 the fast path writes verbatim: nothing else (see _is_token)
_NL = "\r\n"
_NLCRE = re.compile(r"\r\n|\r|\n")  # email.generator.NLCRE
_TEXT_HEADERS = ('Content-Type: text/plain; charset="utf-8"\r\n'
                 "Content-Transfer-Encoding: quoted-printable\r\n")
_ATTACHMENT_HEADERS = (f"Content-Type: {XLSX_TYPE[0]}/{XLSX_TYPE[1]}\r\n"
                       "Content-Transfer-Encoding: base64\r\n")


def draft(to: str, subject: str, body: str, attachment: Path | bytes | None, *,
          date: datetime, sha256: str, attachment_name: str | None = None, sender: str = "",
          kind: str = "rueckmeldung") -> bytes:
    """The draft as .eml bytes (CRLF line ends). `to` may be '' (no To header); `date`
    must be timezone-aware; `kind` keeps the Message-IDs of different mails to the same
    file apart. `attachment` is the workbook's path or its bytes (then `attachment_name`
    is required)."""
    data, name = _check(to, subject, sender, attachment, attachment_name, date)
    if not (_is_token(kind) and _is_token(sha256)):
        return email_package_draft(to, subject, body, attachment, date=date, sha256=sha256,
                                   attachment_name=attachment_name, sender=sender, kind=kind)
    head = [_fold("From", sender) if sender else "", _fold("To", to) if to else "",
            _fold("Subject", subject), _date_line(date),
            f"Message-ID: <{kind}.{sha256[:32]}.{date:%Y%m%d}@{MESSAGE_ID_DOMAIN}>\r\n",
            "X-Unsent: 1\r\n"]
    text = _lines(_quoted_printable(body))
    if data is None:
        return "".join([*head, _TEXT_HEADERS, "MIME-Version: 1.0\r\n", _NL, text]).encode(
            "ascii")
    boundary = f"=_kisi_{sha256[:24]}"
    return "".join([
        *head, "MIME-Version: 1.0\r\n",
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n', _NL,
        f"--{boundary}\r\n", _TEXT_HEADERS, _NL, text,
        f"\r\n--{boundary}\r\n", _ATTACHMENT_HEADERS, _disposition(name),
        "MIME-Version: 1.0\r\n", _NL, _lines(_base64(data)),
        f"\r\n--{boundary}--\r\n",
    ]).encode("ascii")


def email_package_draft(to: str, subject: str, body: str, attachment: Path | bytes | None,
                        *, date: datetime, sha256: str, attachment_name: str | None = None,
                        sender: str = "", kind: str = "rueckmeldung") -> bytes:
    """`draft` assembled with `EmailMessage` (the reference; slower)."""
    from email.message import EmailMessage
    from email.policy import SMTP
    from email.utils import format_datetime

    data, name = _check(to, subject, sender, attachment, attachment_name, date)
    msg = EmailMessage(policy=SMTP)
    if sender:
        msg["From"] = sender
    if to:
        msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = f"<{kind}.{sha256[:32]}.{date:%Y%m%d}@{MESSAGE_ID_DOMAIN}>"
    # set_content below removes every Content-* header set before it, so this header has
    # never reached a draft; it stays for byte-identical drafts.
    msg["Content-Language"] = "de-DE"
    msg["X-Unsent"] = "1"
    msg.set_content(body, subtype="plain", charset="utf-8", cte="quoted-printable")
    if data is not None:
        msg.add_attachment(data, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=name)
        # Quoted-printable and base64 never contain "=_", so the boundary cannot clash.
        msg.set_boundary(f"=_kisi_{sha256[:24]}")
    return msg.as_bytes()


def _check(to: str, subject: str, sender: str, attachment: Path | bytes | None,
           attachment_name: str | None, date: datetime) -> tuple[bytes | None, str]:
    for header in (to, subject, sender, attachment_name or ""):
        if _CONTROL.search(header):
            raise ValueError("header text must not contain control characters")
    if date.tzinfo is None:
        raise ValueError("date must be timezone-aware")
    if attachment is None:
        return None, ""
    if isinstance(attachment, bytes):
        if not attachment_name:
            raise ValueError("an attachment given as bytes needs attachment_name")
        return attachment, attachment_name
    return attachment.read_bytes(), attachment_name or attachment.name


def _date(moment: datetime) -> str:
    """email.utils.format_datetime(moment), as that writes it (tested equal), without
    importing the email package for it."""
    return (f"{_WEEKDAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} "
            f"{moment.year:04d} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} "
            f"{'-0000' if moment.tzinfo is None else moment.strftime('%z')}")


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _date_line(moment: datetime) -> str:
    """The Date header as the email package folds it: it parses the value and writes it
    again, which gives the value itself for a year from 1900 and an offset in whole
    minutes (31 characters; tested), else it is asked."""
    value = _date(moment)
    if moment.year >= 1900 and len(value) == 31:
        return f"Date: {value}\r\n"
    return _fold("Date", value)


def _is_token(text: str) -> bool:
    """`text` is one or more of the characters of _TOKEN."""
    return bool(text) and not text.strip(_TOKEN)


def _fold(name: str, value: str) -> str:
    """One header line as EmailMessage stores and BytesGenerator writes it.

    A Subject differs from the same project's other subjects mostly in the digits of its
    ASCII start ("KISI-Quartalsbericht PJ1 Q2 – …"), while folding it (encoded words,
    ≈ 0.5 ms) is what costs. The email package adds the words before the first word with a
    non-ASCII character to the line as they are: what comes after depends only on that
    line's length. So the Subject with those digits set to 0 is folded (once per shape,
    cached) and the real digits are put back, if that start came out on the first line
    unchanged. Not for text with '=?' (it could be read as an encoded word)."""
    if name == "To" and len(name) + 2 + len(value) <= MAX_LINE:
        return kept.text(f"to\n{value}", lambda: _plain_to(value))  # type: ignore[return-value]
    if name == "Subject" and "=?" not in value:
        cut = _ascii_start(value)
        if cut:
            start = value[:cut]
            shape = _DIGIT.sub("0", start)
            if shape != start:
                folded = _fold_by_email_package(name, shape + value[cut:])
                head = f"{name}: {shape}"
                if folded.startswith(head):
                    return f"{name}: {start}{folded[len(head):]}"
    return _fold_by_email_package(name, value)


def _fold_by_email_package(name: str, value: str) -> str:
    """The folded header, kept from run to run (kept.py)."""
    return kept.text(f"fold\n{name}\n{value}", lambda: _folded(name, value))  # type: ignore[return-value]


def _folded(name: str, value: str) -> str:
    from email.policy import SMTP

    header = SMTP.header_store_parse(name, value)[1]
    return SMTP.fold_binary(name, header).decode("ascii")


def _plain_to(value: str) -> str:
    """A To that fits on its line: as it is if it is plain addresses, which is how the
    email package writes them (tested); else as the email package folds it."""
    if _plain_addresses().fullmatch(value):
        return f"To: {value}\r\n"
    return _fold_by_email_package("To", value)


# Plain addresses ("a.b@c.example, d@e.example"): the email package writes them as they
# are when the header fits on one line. (Compiled on first use, ≈ 0.6 ms: a warm run
# finds its To lines kept, see kept.py.)
_PLAIN_ADDRESS = r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"


@cache
def _plain_addresses() -> re.Pattern[str]:
    return re.compile(f"{_PLAIN_ADDRESS}(?:, {_PLAIN_ADDRESS})*")


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_DIGIT = re.compile(r"[1-9]")


def _ascii_start(value: str) -> int:
    """Where the word with the first non-ASCII character starts (the email package's
    unstructured parser splits words at spaces and tabs); the whole length if there is
    none."""
    found = _NON_ASCII.search(value)
    if found is None:
        return len(value)
    return max(value.rfind(" ", 0, found.start()), value.rfind("\t", 0, found.start())) + 1


def _disposition(filename: str) -> str:
    """Content-Disposition of an attachment, as EmailMessage.add_attachment sets it.

    Fast path for our own non-ASCII names (…_Eingangsbestätigung.xlsx): the RFC 2231 form
    on a continuation line, which the email package produces when the parameter does not
    fit on the first line but fits on its own (tested equal); anything else goes through
    the email package (≈ 0.7 ms a name, a third of a draft's time)."""
    if not filename.isascii():
        param = "filename*=utf-8''" + quote(filename, safe="")
        if len(_DISPOSITION_HEAD) + 1 + len(param) > MAX_LINE and 1 + len(param) < MAX_LINE:
            return f"{_DISPOSITION_HEAD}\r\n {param}\r\n"
    return _disposition_by_email_package(filename)


_DISPOSITION_HEAD = "Content-Disposition: attachment;"


def _disposition_by_email_package(filename: str) -> str:
    return kept.text(f"disposition\n{filename}",  # type: ignore[return-value]
                     lambda: _disposition_made(filename))


def _disposition_made(filename: str) -> str:
    from email.message import EmailMessage
    from email.policy import SMTP

    part = EmailMessage(policy=SMTP)
    part["Content-Disposition"] = "attachment"
    part.set_param("filename", filename, header="Content-Disposition", replace=True)
    return SMTP.fold_binary("Content-Disposition", part["Content-Disposition"]).decode("ascii")


def _quoted_printable(body: str) -> str:
    """email.contentmanager's text encoding with cte='quoted-printable'."""
    lines = body.encode("utf-8").splitlines()
    return quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), MAX_LINE)


def _base64(data: bytes) -> str:
    """email.contentmanager's base64: 57 bytes (76 characters) a line, as
    `base64.encodebytes` (which encodes each line on its own: 57 bytes are 19 groups of
    3, so they are the slices of one encoding)."""
    encoded = binascii.b2a_base64(data, newline=False).decode("ascii")
    return "".join([encoded[i:i + 76] + "\n" for i in range(0, len(encoded), 76)])


def _lines(payload: str) -> str:
    """A payload as the generator writes it: every line end becomes CRLF."""
    if "\r" not in payload:  # (base64 and our quoted-printable: only "\n")
        return payload.replace("\n", _NL)
    lines = _NLCRE.split(payload)
    return "".join(line + _NL for line in lines[:-1]) + lines[-1]
