"""Caught mails as plain .eml files in one folder.

Files, not a database: a developer can open them with any mail client, and `make clean` (rm var/)
empties the inbox. A mail's id is its file name without `.eml`; ids start with the receive time in
nanoseconds, so sorting ids sorts by arrival.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any, cast

# Only ids we generated: keeps `../` and friends out of file paths built from URLs.
_ID_PATTERN = re.compile(r"^[0-9]{20}-[0-9a-f]{8}$")
ENVELOPE_TO = "X-Mailcatcher-Envelope-To"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class MailSummary:
    id: str
    from_: str
    to: list[str]
    rcpt_to: list[str]
    subject: str
    date: str  # ISO 8601 with offset
    attachments: list[Attachment] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        # `from` is a Python keyword, hence the field name `from_`; the API uses the mail header's name.
        data = asdict(self)
        return {"id": data.pop("id"), "from": data.pop("from_"), **data}


class MailNotFound(LookupError):
    pass


class MailStore:
    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir
        mail_dir.mkdir(parents=True, exist_ok=True)

    def save(self, raw: bytes, rcpt_to: list[str] | None = None) -> str:
        """Store one message; the envelope recipients are kept so that Bcc receivers show up too."""
        mail_id = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
        if rcpt_to:
            raw = f"{ENVELOPE_TO}: {', '.join(rcpt_to)}\r\n".encode() + raw
        # Write then rename: the web page never lists a half-written file.
        tmp = self.mail_dir / f".{mail_id}.tmp"
        tmp.write_bytes(raw)
        os.replace(tmp, self._path(mail_id))
        return mail_id

    def ids(self) -> list[str]:
        """Newest first."""
        ids = [p.stem for p in self.mail_dir.glob("*.eml") if _ID_PATTERN.match(p.stem)]
        return sorted(ids, reverse=True)

    def raw(self, mail_id: str) -> bytes:
        if not _ID_PATTERN.match(mail_id):
            raise MailNotFound(mail_id)
        try:
            return self._path(mail_id).read_bytes()
        except FileNotFoundError:
            raise MailNotFound(mail_id) from None

    def message(self, mail_id: str) -> EmailMessage:
        # policy.default decodes RFC 2047 headers (=?utf-8?b?...?=), so Chinese subjects come back as text.
        return cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(self.raw(mail_id)))

    def summary(self, mail_id: str) -> MailSummary:
        return summarize(mail_id, self.message(mail_id))

    def summaries(self) -> list[MailSummary]:
        return [self.summary(mail_id) for mail_id in self.ids()]

    def clear(self) -> int:
        ids = self.ids()
        for mail_id in ids:
            self._path(mail_id).unlink(missing_ok=True)
        return len(ids)

    def _path(self, mail_id: str) -> Path:
        return self.mail_dir / f"{mail_id}.eml"


def summarize(mail_id: str, msg: EmailMessage) -> MailSummary:
    return MailSummary(
        id=mail_id,
        from_=str(msg.get("From", "")),
        to=_addresses(msg, "To"),
        rcpt_to=_addresses(msg, ENVELOPE_TO),
        subject=str(msg.get("Subject", "")),
        date=_date(mail_id, msg).isoformat(),
        attachments=[_describe(part) for part in attachment_parts(msg)],
    )


def attachment_parts(msg: EmailMessage) -> list[Message]:
    """Every leaf part that is meant as a file, also inside nested multiparts."""
    return [
        part
        for part in msg.walk()
        if not part.is_multipart()
        and (part.get_content_disposition() == "attachment" or part.get_filename())
    ]


def attachment_bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def text_body(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    return str(body.get_content()) if body is not None else ""


def html_body(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("html",))
    return str(body.get_content()) if body is not None else ""


def _describe(part: Message) -> Attachment:
    return Attachment(
        filename=part.get_filename() or "attachment.bin",
        content_type=part.get_content_type(),
        size=len(attachment_bytes(part)),
    )


def _addresses(msg: EmailMessage, header: str) -> list[str]:
    values = [str(v) for v in msg.get_all(header, [])]
    return [f"{name} <{addr}>" if name else addr for name, addr in getaddresses(values) if addr]


def _date(mail_id: str, msg: EmailMessage) -> datetime:
    """The Date header when it parses, else the time we received the mail."""
    header = msg.get("Date")
    if header:
        try:
            parsed = parsedate_to_datetime(str(header))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except (TypeError, ValueError):
            pass
    return datetime.fromtimestamp(int(mail_id.split("-")[0]) / 1e9, tz=UTC)
