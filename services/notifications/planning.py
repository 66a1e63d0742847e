"""Messages made from what happened: one per recipient and channel the event concerns,
rendered now, queued for the worker (the inbox's are delivered at once).

The row's unique key (event, recipient, channel) makes a second attempt to make the
same message a no-op: whatever the redeliveries, each is made once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.config import NotificationsSettings
from services.notifications.kinds import PHONE_CHANNELS, Kind
from services.notifications.models import Channel, Message, State
from services.notifications.preferences import Reach
from services.notifications.rendering import LOCAL, render
from shared.db import dialect_insert

UNSUBSCRIBE_AUDIENCE = "onestop-unsubscribe"


def quiet_until(at: datetime, settings: NotificationsSettings) -> datetime:
    """When a message to a phone made at ``at`` may go: at once, or when the night
    (``quiet_from_hour`` to ``quiet_until_hour`` local) ends."""
    local = at.astimezone(LOCAL)
    start, end = settings.quiet_from_hour, settings.quiet_until_hour
    hour = local.hour
    quiet = (hour >= start or hour < end) if start > end else (start <= hour < end)
    if not quiet:
        return at
    morning = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    return morning


def unsubscribe_token(settings: NotificationsSettings, key: str, kind: Kind) -> str:
    """A link's proof that it stops ``kind`` by e-mail for ``key``: signed, no login."""
    return jwt.encode(
        {"sub": key, "kind": kind.value, "aud": UNSUBSCRIBE_AUDIENCE},
        settings.platform.jwt_secret.get_secret_value(),
        algorithm="HS256",
    )


def read_unsubscribe_token(settings: NotificationsSettings, token: str) -> tuple[str, Kind]:
    """The recipient and kind a stop link names; ``jwt.InvalidTokenError`` if forged."""
    claims = jwt.decode(
        token,
        settings.platform.jwt_secret.get_secret_value(),
        algorithms=["HS256"],
        audience=UNSUBSCRIBE_AUDIENCE,
    )
    return str(claims["sub"]), Kind(claims["kind"])


async def enqueue(
    session: AsyncSession,
    settings: NotificationsSettings,
    *,
    event_id: uuid.UUID,
    reach: Reach,
    kind: Kind,
    channels: Iterable[Channel],
    context: dict[str, Any],
    now: datetime,
    dossier_code: str | None = None,
    quiet: bool = True,
    happened_at: datetime | None = None,
) -> int:
    """Make the messages of one event for one recipient; how many were new.

    ``happened_at``: when what they tell of happened, which orders the inbox (events
    are applied side by side, not always in order); ``now`` by default."""
    rows: list[dict[str, Any]] = []
    for channel in channels:
        if not reach.wants(channel, kind):
            continue
        extra: dict[str, Any] = {"unsubscribe_url": None}
        if channel is Channel.EMAIL:
            token = unsubscribe_token(settings, reach.key, kind)
            # A page that asks to confirm (a mail scanner following links stops nothing);
            # the List-Unsubscribe header posts to the API at once (RFC 8058).
            extra["unsubscribe_url"] = f"{settings.public_url}/huy-nhan-thu?token={token}"
        rendered = render(kind, channel, {**context, **extra})
        delivered = channel is Channel.INBOX
        not_before = quiet_until(now, settings) if quiet and channel in PHONE_CHANNELS else now
        rows.append(
            {
                "id": uuid.uuid4(),
                "event_id": event_id,
                "recipient": reach.key,
                "channel": channel,
                "kind": kind.value,
                "template": rendered.template,
                "address": reach.address(channel),
                "subject": rendered.title,
                "body": rendered.body,
                "dossier_code": dossier_code,
                "state": State.DELIVERED if delivered else State.QUEUED,
                "attempts": 0,
                "next_attempt_at": not_before,
                "created_at": happened_at or now,
                "delivered_at": now if delivered else None,
            }
        )
    if not rows:
        return 0
    # One statement, its rows as parameters: compiled once for good (values(rows) would
    # be compiled again for every event), the new rows' ids returned.
    statement = (
        dialect_insert(session)(Message)
        .on_conflict_do_nothing(index_elements=["event_id", "recipient", "channel"])
        .returning(Message.id)
    )
    made = await session.scalars(statement, rows)
    return len(made.all())
