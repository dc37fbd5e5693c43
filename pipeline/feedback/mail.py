"""Ready-to-send email drafts (.eml) that Outlook and Thunderbird open for editing.

Reproducible: the Date comes from an argument, the Message-ID and the MIME boundary from the
file's sha256, so a rerun writes the same bytes. `X-Unsent: 1` makes Outlook open the file
as an unsent draft with a Send button.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
MESSAGE_ID_DOMAIN = "kisi-berichtswesen.invalid"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def draft(to: str, subject: str, body: str, attachment: Path | None, *, date: datetime,
          sha256: str, attachment_name: str | None = None, sender: str = "",
          kind: str = "rueckmeldung") -> bytes:
    """The draft as .eml bytes (CRLF line ends). `to` may be '' (no To header); `date`
    must be timezone-aware; `kind` keeps the Message-IDs of different mails to the same
    file apart."""
    for header in (to, subject, sender, attachment_name or ""):
        if _CONTROL.search(header):
            raise ValueError("header text must not contain control characters")
    if date.tzinfo is None:
        raise ValueError("date must be timezone-aware")
    msg = EmailMessage(policy=SMTP)
    if sender:
        msg["From"] = sender
    if to:
        msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = f"<{kind}.{sha256[:32]}.{date:%Y%m%d}@{MESSAGE_ID_DOMAIN}>"
    msg["Content-Language"] = "de-DE"
    msg["X-Unsent"] = "1"
    msg.set_content(body, subtype="plain", charset="utf-8", cte="quoted-printable")
    if attachment is not None:
        msg.add_attachment(attachment.read_bytes(), maintype=XLSX_TYPE[0],
                           subtype=XLSX_TYPE[1], filename=attachment_name or attachment.name)
        # Quoted-printable and base64 never contain "=_", so the boundary cannot clash.
        msg.set_boundary(f"=_kisi_{sha256[:24]}")
    return msg.as_bytes()
