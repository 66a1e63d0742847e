"""How a message leaves: e-mail over SMTP, SMS and Zalo through the provider's HTTP API,
or, with neither configured (the embedded quick start), written to the data directory
as what would have been sent.

A channel raises ``Transient`` for what a later attempt may get through (the server is
away, busy, or answered 4xx in SMTP's sense) and ``Permanent`` for what it never will
(an address refused, a message the provider rejects).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from pathlib import Path
from typing import Protocol

import aiosmtplib
import anyio
import httpx

from services.notifications.config import NotificationsSettings
from services.notifications.kinds import Kind
from services.notifications.planning import unsubscribe_token
from services.notifications.texts import mask

logger = logging.getLogger("onestop.notifications.channels")


class Transient(Exception):
    pass


class Permanent(Exception):
    pass


@dataclass(frozen=True)
class Outgoing:
    """What a channel needs of a message."""

    id: str
    channel: str
    recipient: str
    kind: str
    address: str
    subject: str
    body: str


@dataclass(frozen=True)
class Receipt:
    message_id: str  # ours: the client reference the message was sent with
    delivered: bool
    at: datetime
    error: str | None = None


class Mailer(Protocol):
    async def send(self, message: Outgoing) -> str: ...


class PhoneProvider(Protocol):
    async def send(self, message: Outgoing) -> str: ...

    async def receipts(self, after: int) -> tuple[list[Receipt], int]: ...


# Header lines up to SMTP's 998 characters: the stop link (a long token) is not folded
# onto a line of its own, which some readers take with its leading space.
UNFOLDED = compat32.clone(max_line_length=998)
WIRE = UNFOLDED.clone(linesep="\r\n")


def email_of(message: Outgoing, settings: NotificationsSettings) -> Message:
    """The e-mail: UTF-8 plain text, its Vietnamese headers encoded (RFC 2047).

    Built with the ``compat32`` API (``MIMEText``, ``Header``): the same bytes on the
    wire as ``EmailMessage`` gives, at a sixth of the time (bench/RESULTS.md)."""
    email = MIMEText(message.body + "\n", "plain", "utf-8", policy=UNFOLDED)
    name, address = parseaddr(settings.mail_from)
    email["From"] = formataddr((str(Header(name, "utf-8")), address)) if name else address
    email["To"] = message.address
    # A Header, which folds as a whole (its encoded string, set as text, would be read
    # back with a space in front); typeshed's MIMEText takes str only.
    email["Subject"] = Header(message.subject, "utf-8")  # type: ignore[assignment]
    email["Date"] = format_datetime(datetime.now(UTC))
    # The same id on every attempt: a receiving server that saw it drops the copy a
    # retry after a lost answer sends.
    email["Message-ID"] = make_msgid(idstring=message.id, domain="onestop")
    if message.kind != Kind.VERIFY_EMAIL:
        token = unsubscribe_token(settings, message.recipient, Kind(message.kind))
        link = f"{settings.public_url}/api/v1/notifications/unsubscribe?token={token}"
        email["List-Unsubscribe"] = f"<{link}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    return email


class SmtpMailer:
    """E-mail through the relay over kept connections, one per delivery lane: a message
    costs its commands, not a connection and a greeting (bench/notifications.py).

    A connection the relay closed while it was idle fails at the first command, before
    anything of the message went: it is opened again and the message sent once more.
    """

    def __init__(self, settings: NotificationsSettings) -> None:
        assert settings.smtp_host is not None
        self._settings = settings
        self._idle: list[aiosmtplib.SMTP] = []
        self._helo = settings.smtp_helo_name

    async def _greeting_name(self) -> str:
        """The name the platform greets the relay with: looked up once, in a thread (the
        library would look this host's name up for every connection)."""
        if self._helo is None:
            self._helo = await asyncio.to_thread(socket.getfqdn)
        return self._helo

    def _client(self) -> aiosmtplib.SMTP:
        settings = self._settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            local_hostname=self._helo,  # set by send() before any client is made
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            timeout=settings.smtp_timeout_seconds,
        )

    async def send(self, message: Outgoing) -> str:
        await self._greeting_name()
        email = email_of(message, self._settings)
        # Our own bytes (the library would fold the headers at 78 again): CRLF lines.
        data = email.as_bytes(policy=WIRE)
        sender = parseaddr(self._settings.mail_from)[1]
        reused = bool(self._idle)
        client = self._idle.pop() if reused else self._client()
        try:
            try:
                await self._send_on(client, sender, message.address, data)
            except aiosmtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                client = self._client()  # it had closed while idle: nothing went
                await self._send_on(client, sender, message.address, data)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            await _close(client)  # mid-transaction: start the next one afresh
            codes = [error.code for error in exc.recipients]
            if all(500 <= code < 600 for code in codes):
                raise Permanent(f"SMTP refused the recipient ({codes})") from exc
            raise Transient(f"SMTP deferred the recipient ({codes})") from exc
        except aiosmtplib.SMTPResponseException as exc:
            await _close(client)
            if 500 <= exc.code < 600:
                raise Permanent(f"SMTP {exc.code}: {exc.message[:200]}") from exc
            raise Transient(f"SMTP {exc.code}: {exc.message[:200]}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await _close(client)
            raise Transient(f"SMTP unreachable: {type(exc).__name__}") from exc
        self._idle.append(client)
        return str(email["Message-ID"])

    @staticmethod
    async def _send_on(client: aiosmtplib.SMTP, sender: str, to: str, data: bytes) -> None:
        if not client.is_connected:
            await client.connect()
        await client.sendmail(sender, [to], data)

    async def close(self) -> None:
        while self._idle:
            await _close(self._idle.pop())


async def _close(client: aiosmtplib.SMTP) -> None:
    """Let a connection go, politely if it still answers."""
    if not client.is_connected:
        return
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()


class DropMailer:
    """Embedded without SMTP: each e-mail as a .eml file in ``<data>/mail``."""

    def __init__(self, settings: NotificationsSettings) -> None:
        self._settings = settings
        self.folder = Path(settings.platform.data_dir) / "mail"

    async def send(self, message: Outgoing) -> str:
        email = email_of(message, self._settings)
        folder = anyio.Path(self.folder)
        await folder.mkdir(parents=True, exist_ok=True)
        await (folder / f"{message.id}.eml").write_bytes(email.as_bytes())
        where = {"to": mask(message.address), "file": f"mail/{message.id}.eml"}
        logger.info("e-mail written (no SMTP server configured)", extra=where)
        return str(email["Message-ID"])


class HttpPhoneProvider:
    """The provider's API (the mock's, ``services/sms_mock``): POST a message with our id
    as its client reference (a repeat gets the first one's answer, nothing sent twice),
    and read the delivery receipts after a cursor."""

    def __init__(self, client: httpx.AsyncClient, settings: NotificationsSettings) -> None:
        self._client = client
        self._headers = {"x-api-key": settings.sms_api_key.get_secret_value()}
        self._sender = settings.sms_sender
        self._timeout = settings.sms_timeout_seconds

    async def send(self, message: Outgoing) -> str:
        body = {
            "client_ref": message.id,
            "channel": message.channel,
            "to": message.address,
            "text": message.body,
            "sender": self._sender,
        }
        try:
            answer = await self._client.post(
                "/api/messages", json=body, headers=self._headers, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            raise Transient(f"provider unreachable: {type(exc).__name__}") from exc
        if answer.status_code in (200, 201, 202):
            return str(answer.json()["id"])
        detail = f"provider {answer.status_code}: {answer.text[:200]}"
        if answer.status_code in (400, 404, 422):
            raise Permanent(detail)
        raise Transient(detail)  # 401/403 (a key being rotated), 429, 5xx

    async def receipts(self, after: int) -> tuple[list[Receipt], int]:
        try:
            answer = await self._client.get(
                "/api/receipts", params={"after": after}, headers=self._headers,
                timeout=self._timeout,
            )  # fmt: skip
            answer.raise_for_status()
        except httpx.HTTPError as exc:
            raise Transient(f"receipts unreachable: {type(exc).__name__}") from exc
        data = answer.json()
        found = [
            Receipt(
                message_id=str(item["client_ref"]),
                delivered=item["status"] == "delivered",
                at=datetime.fromisoformat(item["at"]),
                error=item.get("error"),
            )
            for item in data["receipts"]
        ]
        return found, int(data["next"])


class DropPhoneProvider:
    """Embedded without a provider: each SMS or Zalo message as a line of ``<data>/sms.log``."""

    def __init__(self, settings: NotificationsSettings) -> None:
        self.path = Path(settings.platform.data_dir) / "sms.log"

    async def send(self, message: Outgoing) -> str:
        at = datetime.now(UTC).isoformat()
        line = f"{at}\t{message.channel}\t{message.address}\t{message.body}\n"
        async with await anyio.open_file(self.path, "a", encoding="utf-8") as log:
            await log.write(line)
        logger.info("phone message written (no provider configured)",
                    extra={"to": mask(message.address), "channel": message.channel})  # fmt: skip
        return f"drop-{message.id}"

    async def receipts(self, after: int) -> tuple[list[Receipt], int]:
        return [], after
