"""Parse a cash-closing email (RFC 5322): its identity, business date and table attachments."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

TABLE_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".txt", ".pdf")
_SUBJECT_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_FILE_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True)
class Attachment:
    file_name: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class CashClosingEmail:
    message_id: str
    subject: str
    sender: str
    received_at: datetime
    business_date: date | None
    attachments: tuple[Attachment, ...]


def _table_attachments(message: EmailMessage) -> list[Attachment]:
    found: list[Attachment] = []
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            continue  # walk() descends into forwarded messages itself
        name = part.get_filename()
        if not name or not name.lower().endswith(TABLE_SUFFIXES):
            continue
        payload = part.get_payload(decode=True)
        found.append(Attachment(name, payload if isinstance(payload, bytes) else b""))
    return found


def business_date_of(subject: str, attachments: list[Attachment], received_at: datetime) -> date | None:
    """The day the report closes: the subject's DD/MM/YYYY, else a date in the attachment's name."""
    match = _SUBJECT_DATE.search(subject)
    if match:
        day, month, year = (int(g) for g in match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            pass
    for attachment in attachments:
        named = _FILE_DATE.search(attachment.file_name)
        if named:
            return date(*(int(g) for g in named.groups()))
    return (received_at - timedelta(days=1)).date() if received_at else None


def parse_email(raw: bytes, source_name: str = "<email>") -> CashClosingEmail:
    """Parse the bytes of one message."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    subject = str(message.get("Subject", ""))
    message_id = str(message.get("Message-ID", "")).strip() or f"<sha256:{hashlib.sha256(raw).hexdigest()}>"
    try:
        received_at = parsedate_to_datetime(str(message.get("Date")))
    except (TypeError, ValueError):
        received_at = datetime.fromtimestamp(0).astimezone()
    attachments = _table_attachments(message)
    return CashClosingEmail(
        message_id=message_id,
        subject=subject,
        sender=str(message.get("From", "")),
        received_at=received_at,
        business_date=business_date_of(subject, attachments, received_at),
        attachments=tuple(attachments),
    )


def peek_business_date(raw: bytes) -> date | None:
    """The business date from the headers alone (cheap: no attachment decoding)."""
    headers = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    subject = str(headers.get("Subject", ""))
    try:
        received_at = parsedate_to_datetime(str(headers.get("Date")))
    except (TypeError, ValueError):
        received_at = datetime.fromtimestamp(0).astimezone()
    return business_date_of(subject, [], received_at)
