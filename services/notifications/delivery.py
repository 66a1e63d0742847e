"""The delivery worker: claims owed messages, hands each to its channel, and keeps its
state: sent, or owed again after a capped exponential wait with jitter, or, once its
budget of attempts is spent (or the channel says it never will go), failed: a dead
letter an admin can see and resend.

A claim moves the message's next attempt past a lease, so another worker (or this one,
after a crash) takes it again only when the lease ends: at least once. Exactly once in
effect comes from the other side: the e-mail keeps one Message-ID and the provider one
client reference on every attempt, so a copy sent after a lost answer is dropped there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select, update

from services.notifications.channels import (
    DropMailer,
    DropPhoneProvider,
    HttpPhoneProvider,
    Mailer,
    Outgoing,
    Permanent,
    PhoneProvider,
    SmtpMailer,
    Transient,
)
from services.notifications.config import NotificationsSettings
from services.notifications.models import Channel, Message, ProviderCursor, State
from services.notifications.texts import mask
from shared.db import Database
from shared.http import create_http_client
from shared.lanes import run_in_lanes
from shared.retry import Backoff
from shared.runtime import BackgroundJob, PeriodicSpec, Runtime

logger = logging.getLogger("onestop.notifications.delivery")

SENT_BY_WORKER = (Channel.EMAIL, Channel.SMS, Channel.ZALO)
PROVIDER = "phone"  # the cursor of the one phone provider's receipts


@dataclass(frozen=True)
class Channels:
    mail: Mailer
    phone: PhoneProvider


class Deliverer:
    def __init__(
        self,
        db: Database,
        settings: NotificationsSettings,
        channels: Channels,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._settings = settings
        self._channels = channels
        self._clock = clock
        self._backoff = Backoff(settings.retry_base_seconds, settings.retry_cap_seconds)

    # -- the loop ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: claim what is owed as lanes come free and send each in a task
        of its own; rest for the poll interval when nothing is owed."""
        await run_in_lanes(
            stop, lanes=self._settings.delivery_concurrency,
            poll_seconds=self._settings.delivery_poll_seconds, claim=self.claim,
            handle=self._guarded, name="notifications delivery",
        )  # fmt: skip

    async def _guarded(self, message: Outgoing) -> None:
        try:
            await self.deliver(message)
        except Exception:
            # Our own database failed: the lease runs out and it is claimed again.
            logger.exception("delivery failed; retried when its lease ends",
                             extra={"message": message.id})  # fmt: skip

    async def drain(self) -> int:
        """Send until nothing owed is due now (tests, benchmarks): how many were tried."""
        done = 0
        while claimed := await self.claim(self._settings.delivery_concurrency):
            await asyncio.gather(*(self.deliver(message) for message in claimed))
            done += len(claimed)
        return done

    # -- claiming ----------------------------------------------------------------------

    async def claim(self, limit: int) -> list[Outgoing]:
        now = self._clock()
        lease = now + timedelta(seconds=self._settings.delivery_lease_seconds)
        due = (
            select(Message.id)
            .where(
                Message.state == State.QUEUED,
                Message.next_attempt_at <= now,
                Message.channel.in_(SENT_BY_WORKER),
            )
            .order_by(Message.next_attempt_at)
            .limit(limit)
        )
        if not self._db.is_sqlite:
            due = due.with_for_update(skip_locked=True)
        statement = (
            update(Message)
            .where(Message.id.in_(due.scalar_subquery()))
            .values(next_attempt_at=lease)
            .returning(Message.id, Message.channel, Message.recipient, Message.kind,
                       Message.address, Message.subject, Message.body)
        )  # fmt: skip
        async with self._db.session() as session:
            rows = (await session.execute(statement)).all()
        return [
            Outgoing(id=str(id_), channel=str(channel), recipient=recipient, kind=kind,
                     address=address or "", subject=subject or "", body=body)
            for id_, channel, recipient, kind, address, subject, body in rows
        ]  # fmt: skip

    # -- sending -----------------------------------------------------------------------

    async def deliver(self, message: Outgoing) -> None:
        sender = self._channels.mail if message.channel == Channel.EMAIL else self._channels.phone
        try:
            ref = await sender.send(message)
        except Permanent as exc:
            await self._failed(message, str(exc), final=True)
            return
        except Transient as exc:
            await self._failed(message, str(exc), final=False)
            return
        await self._sent(message, ref)

    async def _sent(self, message: Outgoing, ref: str) -> None:
        now = self._clock()
        async with self._db.session() as session:
            await session.execute(
                update(Message)
                .where(Message.id == uuid.UUID(message.id), Message.state == State.QUEUED)
                .values(state=State.SENT, sent_at=now, provider_ref=ref[:100],
                        attempts=Message.attempts + 1, last_error=None)
            )  # fmt: skip
        logger.info("message sent", extra={"message": message.id, "channel": message.channel,
                                           "to": mask(message.address)})  # fmt: skip

    async def _failed(self, message: Outgoing, error: str, *, final: bool) -> None:
        now = self._clock()
        key = uuid.UUID(message.id)
        async with self._db.session() as session:
            attempts = await session.scalar(select(Message.attempts).where(Message.id == key))
            attempts = (attempts or 0) + 1
            dead = final or attempts >= self._settings.retry_budget
            values: dict[str, object] = {"attempts": attempts, "last_error": error[:500]}
            if dead:
                values.update(state=State.FAILED, failed_at=now)
            else:
                values["next_attempt_at"] = now + timedelta(seconds=self._backoff.delay(attempts))
            await session.execute(
                update(Message)
                .where(Message.id == key, Message.state == State.QUEUED)
                .values(**values)
            )
        log = logger.warning if dead else logger.info
        log("message dead-lettered" if dead else "message not sent, retrying later",
            extra={"message": message.id, "channel": message.channel, "attempts": attempts,
                   "to": mask(message.address), "error": error[:200]})  # fmt: skip


# -- receipts ----------------------------------------------------------------------------


async def read_receipts(db: Database, provider: PhoneProvider) -> int:
    """Apply the provider's delivery receipts since the last read: how many."""
    async with db.session() as session:
        cursor = await session.get(ProviderCursor, PROVIDER, with_for_update=True)
        if cursor is None:
            cursor = ProviderCursor(provider=PROVIDER, cursor=0)
            session.add(cursor)
        receipts, after = await provider.receipts(cursor.cursor)
        for receipt in receipts:
            try:
                key = uuid.UUID(receipt.message_id)
            except ValueError:
                continue  # not one of ours
            delivered = {"state": State.DELIVERED, "delivered_at": receipt.at}
            failed = {"state": State.FAILED, "failed_at": receipt.at,
                      "last_error": (receipt.error or "undelivered")[:500]}  # fmt: skip
            # By our id, and queued too: the receipt may come before the worker has
            # recorded the provider's acceptance (which then changes nothing more).
            await session.execute(
                update(Message)
                .where(Message.id == key, Message.state.in_((State.QUEUED, State.SENT)))
                .values(sent_at=func.coalesce(Message.sent_at, receipt.at),
                        **(delivered if receipt.delivered else failed))
            )  # fmt: skip
        cursor.cursor = after
    return len(receipts)


# -- wiring ------------------------------------------------------------------------------

SMS_CLIENT = "sms"  # runtime.clients key: the provider, when the app was handed one


@contextlib.asynccontextmanager
async def phone_for(runtime: Runtime) -> AsyncIterator[PhoneProvider]:
    """The SMS and Zalo provider: the app's client of it (the embedded mock), one of
    ``NOTIFICATIONS_SMS_URL``, or the drop file."""
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    client: httpx.AsyncClient | None = runtime.clients.get(SMS_CLIENT)
    if client is None and settings.sms_url is not None:
        async with create_http_client(settings.sms_url) as own:
            yield HttpPhoneProvider(own, settings)
        return
    yield HttpPhoneProvider(client, settings) if client is not None else DropPhoneProvider(settings)


@contextlib.asynccontextmanager
async def channels_for(runtime: Runtime) -> AsyncIterator[Channels]:
    """The worker's channels: the mailer (its kept connections closed at the end) and
    the phone provider."""
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    mail: Mailer = SmtpMailer(settings) if settings.smtp_host else DropMailer(settings)
    async with phone_for(runtime) as phone:
        try:
            yield Channels(mail=mail, phone=phone)
        finally:
            if isinstance(mail, SmtpMailer):
                await mail.close()


async def run_delivery(runtime: Runtime, stop: asyncio.Event) -> None:
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    async with channels_for(runtime) as channels:
        await Deliverer(runtime.db, settings, channels).run(stop)


async def poll_receipts(runtime: Runtime) -> int:
    async with phone_for(runtime) as phone:
        return await read_receipts(runtime.db, phone)


DELIVERY_JOB = BackgroundJob(name="notifications.delivery", run=run_delivery)
RECEIPTS_JOB = PeriodicSpec(name="notifications.receipts", interval_seconds=5, job=poll_receipts)
