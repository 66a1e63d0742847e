"""The leaders' digest: each working day from ``digest_hour`` (local), every leader of
an agency with dossiers due soon or overdue gets one list of them, once (its event id is
the agency's and the day's: a second run, or a second worker, makes nothing new)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications import planning
from services.notifications.config import NotificationsSettings
from services.notifications.consumers import greeting
from services.notifications.kinds import OFFICER_CHANNELS, Kind
from services.notifications.models import KnownDossier, Message, Officer, OfficerPosition
from services.notifications.preferences import account_reach
from services.notifications.rendering import LOCAL
from shared.auth import Position
from shared.runtime import PeriodicSpec, Runtime

DIGEST_NAMESPACE = uuid.UUID("6b0c1f7e-9a51-4d1e-9f3c-1d2a3b4c5d6e")
LISTED = 30  # dossiers a digest lists by name; the rest are counted


def digest_event(agency_code: str, day: str) -> uuid.UUID:
    return uuid.uuid5(DIGEST_NAMESPACE, f"digest:{agency_code}:{day}")


async def make_digests(
    session: AsyncSession, settings: NotificationsSettings, *, now: datetime
) -> int:
    """The day's digests not made yet: how many messages were made."""
    local = now.astimezone(LOCAL)
    if local.weekday() >= 5 or local.hour < settings.digest_hour:
        return 0
    day = local.strftime("%d/%m/%Y")
    leaders = (
        await session.execute(
            select(OfficerPosition.agency_code, Officer.subject, Officer.full_name)
            .join(Officer, Officer.subject == OfficerPosition.subject)
            .where(OfficerPosition.position == Position.LEADER.value, Officer.active)
            .order_by(OfficerPosition.agency_code)
        )
    ).all()
    by_agency: dict[str, list[tuple[str, str]]] = {}
    for agency_code, subject, name in leaders:
        by_agency.setdefault(agency_code, []).append((subject, name))
    made = 0
    for agency_code, people in by_agency.items():
        event_id = digest_event(agency_code, day)
        if await session.scalar(select(exists().where(Message.event_id == event_id))):
            continue
        context = await _listing(session, agency_code, now=now)
        if context is None:
            continue  # nothing due soon or overdue: no digest
        context.update(day=day, agency_code=agency_code,
                       leaders_url=f"{settings.public_url}/lanh-dao")  # fmt: skip
        for subject, name in people:
            made += await planning.enqueue(
                session, settings, event_id=event_id, reach=await account_reach(session, subject),
                kind=Kind.DIGEST, channels=OFFICER_CHANNELS,
                context={**context, "greeting": greeting(name)}, now=now, quiet=False,
            )  # fmt: skip
    return made


async def _listing(
    session: AsyncSession, agency_code: str, *, now: datetime
) -> dict[str, Any] | None:
    rows = (
        await session.scalars(
            select(KnownDossier)
            .where(
                KnownDossier.agency_code == agency_code,
                KnownDossier.finished.is_(False),
                KnownDossier.alert.is_not(None),
            )
            .order_by(KnownDossier.alert_due_at)
        )
    ).all()
    if not rows:
        return None
    overdue: list[dict[str, Any]] = []
    due_soon: list[dict[str, Any]] = []
    for row in rows:
        item = {"code": row.code, "procedure_name": row.procedure_name, "due_at": row.alert_due_at}
        late = row.alert == Kind.OVERDUE.value or (
            row.alert_due_at is not None and row.alert_due_at < now
        )
        (overdue if late else due_soon).append(item)
    listed = LISTED
    more = max(0, len(overdue) - listed) + max(0, len(due_soon) - max(0, listed - len(overdue)))
    return {
        "overdue": overdue[:listed],
        "due_soon": due_soon[: max(0, listed - len(overdue))],
        "more": more,
        "overdue_count": len(overdue),
        "due_soon_count": len(due_soon),
    }


async def digest_job(runtime: Runtime) -> int:
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    async with runtime.db.session() as session:
        return await make_digests(session, settings, now=datetime.now(UTC))


DIGEST_JOB = PeriodicSpec(name="notifications.digest", interval_seconds=60, job=digest_job)
