"""The events the notifications service applies: intake's notices of dossiers, the
gateway's of officers, and tracking's deadline alerts; each in the consumer's
transaction with its inbox row, so a redelivered event makes nothing twice."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications import planning
from services.notifications.config import NotificationsSettings
from services.notifications.kinds import (
    APPLICANT_CHANNELS,
    OFFICER_CHANNELS,
    OFFICER_KINDS,
    applicant_kind,
)
from services.notifications.models import KnownDossier, Officer, OfficerPosition, ProcessedEvent
from services.notifications.preferences import Reach, account_reach, choices_of
from shared.contracts.dossiers import DOSSIER_TOPIC, DossierEvent
from shared.contracts.events import EventEnvelope
from shared.contracts.notices import (
    DOSSIER_NOTICE,
    NOTICE_TOPIC,
    OFFICER_NOTICE,
    DossierNotice,
    OfficerNotice,
)
from shared.db import dialect_insert
from shared.runtime import ConsumerSpec, Runtime

logger = logging.getLogger("onestop.notifications")

WALK_IN = "walk-in:"


def _settings(runtime: Runtime) -> NotificationsSettings:
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings), settings
    return settings


def greeting(name: str | None) -> str:
    return f"Kính gửi ông/bà {name}," if name else "Kính gửi ông/bà,"


async def _remember(session: AsyncSession, notice: DossierNotice, sequence: int) -> KnownDossier:
    """The dossier as this notice leaves it, unless a later one was applied first."""
    # The row first (another consumer may be making it at this moment), then locked.
    await session.execute(
        dialect_insert(session)(KnownDossier)
        .values(code=notice.code, agency_code=notice.agency_code, procedure_name="",
                status="", finished=False, sequence=-1)
        .on_conflict_do_nothing(index_elements=["code"])
    )  # fmt: skip
    known = await session.get(KnownDossier, notice.code, with_for_update=True,
                              populate_existing=True)  # fmt: skip
    assert known is not None
    if sequence >= known.sequence:
        known.sequence = sequence
        known.agency_code = notice.agency_code
        known.procedure_name = notice.procedure_name
        known.holder = notice.holder
        known.status = notice.status
        known.finished = notice.finished
        if known.appointment_at != notice.appointment_at:
            known.alert, known.alert_due_at = None, None  # a new date: alerts start over
        known.appointment_at = notice.appointment_at
    return known


async def applicant_reach(session: AsyncSession, notice: DossierNotice) -> Reach | None:
    if notice.account is not None:
        return await account_reach(session, notice.account)
    if notice.contact is None:
        return None  # a walk-in who gave no e-mail or phone: the desk tells them
    key = WALK_IN + notice.code
    return Reach(
        key=key,
        inbox=False,
        email=notice.contact.email,
        phone=notice.contact.phone,
        choices=await choices_of(session, key),
    )


def dossier_context(settings: NotificationsSettings, notice: DossierNotice) -> dict[str, Any]:
    public = settings.public_url
    return {
        **notice.model_dump(),
        "greeting": greeting(notice.applicant_name),
        "lookup_url": f"{public}/tra-cuu/{notice.code}",
        "dossier_url": f"{public}/ho-so/{notice.code}",
    }


async def apply_notice(runtime: Runtime, session: AsyncSession, envelope: EventEnvelope) -> None:
    if envelope.type == OFFICER_NOTICE:
        await learn_officer(session, OfficerNotice.model_validate(envelope.payload))
        return
    if envelope.type != DOSSIER_NOTICE:
        return
    notice = DossierNotice.model_validate(envelope.payload)
    await _remember(session, notice, envelope.sequence or 0)
    kind = applicant_kind(notice.event, notice.action)
    if kind is None:
        return
    reach = await applicant_reach(session, notice)
    if reach is None:
        return
    settings = _settings(runtime)
    made = await planning.enqueue(
        session, settings, event_id=envelope.id, reach=reach, kind=kind,
        channels=APPLICANT_CHANNELS, context=dossier_context(settings, notice),
        now=datetime.now(UTC), dossier_code=notice.code, happened_at=notice.at,
    )  # fmt: skip
    logger.info("messages made", extra={"kind": kind.value, "dossier": notice.code, "made": made})


async def learn_officer(session: AsyncSession, notice: OfficerNotice) -> None:
    officer = await session.get(Officer, notice.subject)
    if officer is None:
        officer = Officer(subject=notice.subject)
        session.add(officer)
    officer.full_name = notice.full_name
    officer.active = notice.active
    await session.execute(delete(OfficerPosition).where(OfficerPosition.subject == notice.subject))
    for membership in notice.memberships:
        session.add(OfficerPosition(subject=notice.subject, agency_code=membership.agency_code,
                                    position=membership.position.value))  # fmt: skip


async def alert_holder(runtime: Runtime, session: AsyncSession, envelope: EventEnvelope) -> None:
    """Tracking's due-soon or overdue alert: kept for the digest, and sent to the
    officer holding the dossier (one still open and still theirs)."""
    kind = OFFICER_KINDS.get(envelope.type)
    if kind is None or envelope.subject is None:
        return
    due_at = datetime.fromisoformat(envelope.payload["due_at"])
    known = await session.get(KnownDossier, envelope.subject, with_for_update=True)
    if known is None or known.finished:
        return  # its notices are not here yet (or it is over): nothing to tell
    known.alert, known.alert_due_at = kind.value, due_at
    if known.holder is None:
        return  # nobody holds it yet: the desk's queue shows it
    officer = await session.scalar(select(Officer).where(Officer.subject == known.holder))
    if officer is not None and not officer.active:
        return
    settings = _settings(runtime)
    context = {
        "greeting": greeting(officer.full_name if officer else None),
        "code": known.code,
        "procedure_name": known.procedure_name,
        "due_at": due_at,
        "desk_url": f"{settings.public_url}/can-bo/ho-so/{known.code}",
    }
    await planning.enqueue(
        session, settings, event_id=envelope.id, reach=await account_reach(session, known.holder),
        kind=kind, channels=OFFICER_CHANNELS, context=context, now=datetime.now(UTC),
        dossier_code=known.code, quiet=False,
    )  # fmt: skip


NOTICES = ConsumerSpec(
    group="notifications.notices",
    topics=(NOTICE_TOPIC,),
    handler=apply_notice,
    inbox_model=ProcessedEvent,
    types=frozenset({DOSSIER_NOTICE, OFFICER_NOTICE}),
    # A notice is a few round trips of waiting on the database: four at once (one at a
    # time made 68 a second, bench/RESULTS.md). Two of one dossier may then meet: the
    # dossier's row is locked, and a later notice applied first is not undone.
    parallel=4,
)
ALERTS = ConsumerSpec(
    group="notifications.alerts",
    topics=(DOSSIER_TOPIC,),
    handler=alert_holder,
    inbox_model=ProcessedEvent,
    types=frozenset({DossierEvent.DUE_SOON, DossierEvent.OVERDUE}),
)
