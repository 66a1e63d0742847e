"""The queries behind the notifications API: inboxes, settings, the admins' messages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.models import AddressKind, Channel, Contact, Message, State


async def inbox(
    session: AsyncSession, recipient: str, *, unread: bool, before: datetime | None, limit: int
) -> tuple[Sequence[Message], int]:
    """A page of ``recipient``'s inbox, newest first, and how many are unread in all."""
    mine = (Message.recipient == recipient, Message.channel == Channel.INBOX)
    query = select(Message).where(*mine)
    if unread:
        query = query.where(Message.read_at.is_(None))
    if before is not None:
        query = query.where(Message.created_at < before)
    rows = (await session.scalars(query.order_by(Message.created_at.desc()).limit(limit))).all()
    count = await session.scalar(
        select(func.count()).select_from(Message).where(*mine, Message.read_at.is_(None))
    )
    return rows, count or 0


async def mark_read(
    session: AsyncSession, recipient: str, message_id: uuid.UUID, *, now: datetime
) -> Message | None:
    message = await session.get(Message, message_id)
    mine = message is not None and message.recipient == recipient
    if message is None or not mine or message.channel != Channel.INBOX:
        return None
    message.read_at = message.read_at or now
    return message


async def mark_all_read(session: AsyncSession, recipient: str, *, now: datetime) -> None:
    await session.execute(
        update(Message)
        .where(Message.recipient == recipient, Message.channel == Channel.INBOX,
               Message.read_at.is_(None))
        .values(read_at=now)
    )  # fmt: skip


async def contacts(session: AsyncSession, account: str) -> Sequence[Contact]:
    query = select(Contact).where(Contact.account == account).order_by(Contact.kind)
    return (await session.scalars(query)).all()


async def remove_contact(session: AsyncSession, account: str, kind: AddressKind) -> bool:
    contact = await session.get(Contact, (account, kind))
    if contact is None:
        return False
    await session.delete(contact)
    await session.flush()
    return True


async def messages(
    session: AsyncSession,
    *,
    state: State | None,
    channel: Channel | None,
    dossier: str | None,
    before: datetime | None,
    limit: int,
) -> Sequence[Message]:
    query = select(Message)
    if state is not None:
        query = query.where(Message.state == state)
    if channel is not None:
        query = query.where(Message.channel == channel)
    if dossier is not None:
        query = query.where(Message.dossier_code == dossier)
    if before is not None:
        query = query.where(Message.created_at < before)
    return (await session.scalars(query.order_by(Message.created_at.desc()).limit(limit))).all()


class NotDead(Exception):
    """Only a message that failed for good can be resent."""


async def resend(session: AsyncSession, message_id: uuid.UUID, *, now: datetime) -> Message | None:
    """A dead letter owed again at once, with a fresh budget of attempts."""
    message = await session.get(Message, message_id, with_for_update=True)
    if message is None:
        return None
    if message.state is not State.FAILED:
        raise NotDead(str(message_id))
    message.state = State.QUEUED
    message.attempts = 0
    message.failed_at = None
    message.next_attempt_at = now
    await session.flush()
    return message


async def counts(session: AsyncSession) -> dict[Channel, dict[State, int]]:
    rows = (
        await session.execute(
            select(Message.channel, Message.state, func.count()).group_by(
                Message.channel, Message.state
            )
        )
    ).all()
    found: dict[Channel, dict[State, int]] = {}
    for channel, state, count in rows:
        found.setdefault(channel, {})[state] = count
    return found


async def oldest_owed(session: AsyncSession, *, now: datetime) -> datetime | None:
    """When the oldest message owed now (not waiting for the morning or a retry) was made."""
    return await session.scalar(
        select(func.min(Message.created_at)).where(
            Message.state == State.QUEUED, Message.next_attempt_at <= now
        )
    )


async def waiting_for_morning(session: AsyncSession, *, now: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Message)
        .where(Message.state == State.QUEUED, Message.attempts == 0, Message.next_attempt_at > now)
    )
    return count or 0
