"""What each intake route does, one function per route: who may see the dossier, the
action or listing it asks for, and the answer it returns. Submitting has its own module
(``submission.submit``), and so do the rules behind each step (``actions``, ``queues``,
``payments``, ``slips``, ``national``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import anyio.to_thread
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import (
    actions,
    due_dates,
    history,
    machine,
    national,
    payments,
    repository,
    slips,
    views,
)
from services.intake.config import IntakeSettings
from services.intake.machine import RULES, Action, Status
from services.intake.models import Dossier
from services.intake.repository import idempotency, queues, steps
from services.intake.schemas import (
    AllowedActionOut,
    AppointmentOut,
    DossierOut,
    HistoryOut,
    LookupOut,
    OfficerLoad,
    QueuePage,
    RatingIn,
    StepQueue,
)
from services.intake.submission import Answer
from services.intake.upstreams import Upstreams
from shared.auth import Position, Principal, Role
from shared.contracts.dossiers import DossierEvent, Rated
from shared.contracts.national import NationalRecord, NationalVersions
from shared.db import Database
from shared.errors import AppError, Conflict, Forbidden, NotFound
from shared.events.outbox import Outbox
from shared.worktime import WorkingTime

# A citizen's payment is recorded from the provider's signed notice, never on their word.
PAID_BY_PROVIDER = frozenset({Action.PAY})


def _not_found(code: str) -> NotFound:
    return NotFound(f"Không có hồ sơ {code}.")


async def visible(session: AsyncSession, code: str, principal: Principal) -> Dossier:
    """The dossier, if ``principal`` may see it; 404 alike for another's and for none."""
    dossier = await repository.get_by_code(session, code)
    if dossier is None or not actions.visible_to(dossier, principal):
        raise _not_found(code)
    return dossier


async def _remaining(dossier: Dossier, upstreams: Upstreams, now: datetime) -> float | None:
    """Working time left, shown while the clock waits for the citizen."""
    if dossier.status not in due_dates.PAUSED_STATUSES:
        return None
    engine = await _engine(upstreams, dossier.agency_code)  # None: the rest still shows
    return due_dates.remaining_minutes(dossier, engine, now) if engine else None


def allowed_actions(dossier: Dossier, principal: Principal) -> list[AllowedActionOut]:
    """What ``principal`` may do on ``dossier`` now, by the status machine."""
    open_to = machine.allowed(actions.machine_view(dossier), principal)
    if principal.role is Role.CITIZEN:
        open_to = [action for action in open_to if action not in PAID_BY_PROVIDER]
    return [
        AllowedActionOut(
            action=action.value,
            label=RULES[action].label,
            requires=list(RULES[action].requires),
            counts_late=actions.counts_late(dossier, action),
        )
        for action in open_to
    ]


async def full(
    dossier: Dossier, principal: Principal, *, upstreams: Upstreams, now: datetime
) -> DossierOut:
    """The whole dossier as ``principal`` sees it, with what they may do next."""
    remaining = await _remaining(dossier, upstreams, now)
    allowed = allowed_actions(dossier, principal)
    return views.full(dossier, now=now, remaining=remaining, allowed=allowed)


async def read(
    session: AsyncSession, code: str, principal: Principal, *, upstreams: Upstreams, now: datetime
) -> DossierOut:
    dossier = await visible(session, code, principal)
    await history.record_view(session, dossier, principal, now=now)  # its applicant sees it
    return await full(dossier, principal, upstreams=upstreams, now=now)


async def dossier_history(session: AsyncSession, code: str, principal: Principal) -> HistoryOut:
    return await history.history(session, await visible(session, code, principal), principal)


async def dossier_appointment(
    session: AsyncSession, code: str, principal: Principal, *, upstreams: Upstreams, now: datetime
) -> AppointmentOut:
    dossier = await visible(session, code, principal)
    return await history.appointment(session, dossier, upstreams=upstreams, now=now)


async def act(
    session: AsyncSession,
    outbox: Outbox,
    call: actions.Call,
    *,
    upstreams: Upstreams,
    settings: IntakeSettings,
    now: datetime,
) -> DossierOut:
    """One action of the status machine on the caller's transaction; 409 (nothing
    changes) where it is not allowed or another action took its place first."""
    if call.action in PAID_BY_PROVIDER and call.actor.role is Role.CITIZEN:
        # A citizen's word is not a payment: online, the provider's signed notice records
        # it (/payments/callback); at the counter, the desk records the receipt.
        raise Forbidden(
            "Thanh toán trực tuyến được ghi nhận khi cổng thanh toán xác nhận; "
            "nộp tại quầy do cán bộ một cửa ghi nhận."
        )
    dossier = await actions.perform(
        session, outbox, call, upstreams=upstreams, settings=settings, now=now
    )
    try:
        await session.flush()
    except IntegrityError as exc:  # another action took this sequence number first
        raise Conflict("Hồ sơ vừa được cập nhật bởi thao tác khác, vui lòng tải lại.") from exc
    return await full(dossier, call.actor, upstreams=upstreams, now=now)


async def act_once(
    database: Database,
    session: AsyncSession,
    outbox: Outbox,
    call: actions.Call,
    *,
    key: str,
    raw_body: bytes,
    upstreams: Upstreams,
    settings: IntakeSettings,
    now: datetime,
) -> Answer:
    """``act`` under an ``Idempotency-Key``, as a submission is: a retry whose first
    answer was lost (a server restarted under it) replays that answer instead of acting
    again. An assignment made twice would be two steps at the national portal."""
    idempotency.check_key(key)
    found = await idempotency.claim(
        database,
        caller=call.actor.subject,
        key=key,
        print_=idempotency.fingerprint(raw_body, scope=f"{call.code}/{call.action.value}"),
        lease_seconds=settings.idempotency_lease_seconds,
    )
    if isinstance(found, idempotency.Replay):
        return Answer(found.status_code, found.body, {"Idempotent-Replayed": "true"})
    try:
        done = await act(session, outbox, call, upstreams=upstreams, settings=settings, now=now)
    except BaseException:
        await idempotency.release(database, found)  # refused: nothing was done
        raise
    answer = done.model_dump(mode="json")
    # Commits with the action (the request's transaction): done exactly when replayable.
    await idempotency.complete(session, found, status_code=200, body=answer)
    return Answer(200, answer, {})


async def rate(
    session: AsyncSession,
    outbox: Outbox,
    code: str,
    principal: Principal,
    body: RatingIn,
    *,
    now: datetime,
) -> DossierOut:
    """The applicant rates the service once, after the result was returned; the rating
    goes to tracking's satisfaction indicator (dossier.rated)."""
    dossier = await repository.get_for_update(session, code)
    if dossier is None or not actions.visible_to(dossier, principal):
        raise _not_found(code)
    if principal.role is not Role.CITIZEN or dossier.applicant != principal.subject:
        raise Forbidden("Chỉ người nộp hồ sơ đánh giá được.")
    if dossier.status != Status.RETURNED.value:
        raise Conflict("Đánh giá khi đã nhận kết quả giải quyết.")
    if dossier.rating_score is not None:
        raise Conflict("Hồ sơ này đã được đánh giá.")
    dossier.rating_score = body.score
    dossier.rating_comment = body.comment.strip() if body.comment else None
    dossier.rated_at = now
    outbox.add(session, DossierEvent.RATED,
               Rated(score=body.score, at=now).model_dump(mode="json"), subject=code)  # fmt: skip
    await session.flush()
    return views.full(dossier, now=now)


async def slip(
    session: AsyncSession,
    code: str,
    kind: slips.SlipKind,
    principal: Principal,
    *,
    upstreams: Upstreams,
    settings: IntakeSettings,
) -> bytes:
    """The slip as PDF, with the agencies' names (their codes while the catalogue is
    unreachable) and the lookup address its QR code carries."""
    dossier = await visible(session, code, principal)
    entries = await repository.audit_trail(session, code)

    async def name_of(agency_code: str) -> str:
        try:
            agency = await upstreams.agency(agency_code)
        except AppError:
            return agency_code  # the catalogue is unreachable: the code still identifies it
        return agency.name if agency else agency_code

    context = slips.SlipContext(
        dossier=dossier,
        entries=entries,
        agency_name=await name_of(dossier.agency_code),
        receiving_name=await name_of(dossier.receiving_agency_code),
        # The public lookup page (services/web), a fixed address: slips outlive releases.
        lookup_url=f"{settings.public_url.rstrip('/')}/tra-cuu/{code}",
    )
    return await anyio.to_thread.run_sync(slips.render, kind, context)  # CPU: off the loop


async def mock_pay(
    session: AsyncSession,
    outbox: Outbox,
    code: str,
    payer: Principal,
    *,
    upstreams: Upstreams,
    settings: IntakeSettings,
    now: datetime,
) -> dict[str, Any]:
    """The mock provider pays for the applicant and shows its signed notice."""
    dossier = await visible(session, code, payer)
    signed, paid = await payments.mock_pay(
        session, outbox, dossier, payer=payer, upstreams=upstreams, settings=settings, now=now
    )
    return {
        "notice": signed.model_dump(),
        "dossier": views.full(paid, now=now).model_dump(mode="json"),
    }


async def payment_callback(
    session: AsyncSession,
    outbox: Outbox,
    notice: payments.SignedNotice,
    *,
    upstreams: Upstreams,
    settings: IntakeSettings,
    now: datetime,
) -> dict[str, Any]:
    """The provider's notice, checked by its signature; a repeat answers as the first."""
    plain = payments.verify(notice, settings.payment_secret.get_secret_value())
    dossier = await payments.apply_notice(
        session, outbox, plain, upstreams=upstreams, settings=settings, now=now
    )
    return {"code": dossier.code, "status": dossier.status, "sequence": dossier.sequence}


async def agency_queue(
    session: AsyncSession,
    principal: Principal,
    agency_code: str,
    *,
    statuses: list[str] | None,
    timeliness: str | None,
    assignee: str | None,
    procedure: str | None = None,
    cursor: str | None,
    limit: int,
    now: datetime,
    upstreams: Upstreams | None = None,
) -> QueuePage:
    """An agency's queue, for its officers; counts per timeliness on the first page;
    with ``upstreams``, each running dossier's working time left by its calendar."""
    if principal.role is not Role.OFFICER or not principal.is_member_of(agency_code):
        raise Forbidden("Chỉ cán bộ của cơ quan xem được hàng đợi hồ sơ của cơ quan.")
    rows, next_cursor, counts = await queues.queue(
        session,
        agency_code=agency_code,
        statuses=statuses,
        bucket=timeliness,
        assignee=principal.subject if assignee == "me" else assignee,
        procedure=procedure,
        cursor=cursor,
        limit=limit,
        now=now,
        with_counts=cursor is None,
    )
    engine = await _engine(upstreams, agency_code) if upstreams is not None else None
    items = views.summaries(rows, now=now, engine=engine)
    return QueuePage(items=items, next_cursor=next_cursor, counts=counts)


async def _engine(upstreams: Upstreams, agency_code: str) -> WorkingTime | None:
    """The agency's working calendar; None when tracking cannot answer (the queue still
    shows, without the time left)."""
    try:
        calendar = await upstreams.calendar(agency_code)
    except AppError:
        return None
    return calendar.engine if calendar else None


async def agency_load(
    session: AsyncSession, principal: Principal, agency_code: str, *, since: datetime,
    now: datetime,
) -> list[OfficerLoad]:  # fmt: skip
    """Each officer's load and lateness at the agency, for its leaders."""
    leads = any(m.agency_code == agency_code and m.position is Position.LEADER
                for m in principal.agencies)  # fmt: skip
    if not leads:
        raise Forbidden("Chỉ lãnh đạo của cơ quan xem được việc của từng cán bộ.")
    rows = await queues.load(session, agency_code=agency_code, since=since, now=now)
    return [OfficerLoad.model_validate(row, from_attributes=True) for row in rows]


async def step_queue(
    session: AsyncSession, principal: Principal, agency_code: str, *, since: datetime,
    now: datetime, due_soon_minutes: float, upstreams: Upstreams, limit: int,
) -> StepQueue:  # fmt: skip
    """The dossiers forwarded to the agency that wait for its step, for its officers,
    each with the step's working time left by the agency's own calendar."""
    if principal.role is not Role.OFFICER or not principal.is_member_of(agency_code):
        raise Forbidden("Chỉ cán bộ của cơ quan xem được hồ sơ liên thông chuyển đến.")
    rows = await steps.waiting(session, agency_code, limit)
    answered, late = await steps.answered_since(session, agency_code, since)
    engine = await _engine(upstreams, agency_code)
    items = [views.waiting_step(row, engine, now, due_soon_minutes) for row in rows]
    counts = dict.fromkeys(("on_track", "due_soon", "overdue", "undated"), 0)
    for item in items:
        counts[item.timeliness or "undated"] += 1
    return StepQueue(items=items, counts=counts, answered=answered, answered_late=late,
                     since=since)  # fmt: skip


async def list_dossiers(
    session: AsyncSession,
    principal: Principal,
    *,
    status: str | None,
    agency: str | None,
    cursor: str | None,
    limit: int,
    now: datetime,
) -> QueuePage:
    """A citizen's own dossiers (newest first); an officer's agency queue (the first of
    their agencies unless one is named)."""
    if principal.role is Role.CITIZEN:
        rows, next_cursor = await queues.own(
            session, applicant=principal.subject, status=status, cursor=cursor, limit=limit
        )
        return QueuePage(items=views.summaries(rows, now=now), next_cursor=next_cursor, counts={})
    agency = agency or (principal.agencies[0].agency_code if principal.agencies else None)
    if principal.role is not Role.OFFICER or agency is None:
        raise Forbidden("Chỉ công dân và cán bộ xem được danh sách hồ sơ.")
    return await agency_queue(
        session, principal, agency, statuses=[status] if status else None, timeliness=None,
        assignee=None, cursor=cursor, limit=limit, now=now,
    )  # fmt: skip


async def lookup(session: AsyncSession, code: str, *, now: datetime) -> LookupOut:
    dossier = await repository.get_by_code(session, code)
    if dossier is None:
        raise _not_found(code)
    return views.lookup(dossier, now=now)


async def national_record(session: AsyncSession, code: str) -> NationalRecord:
    found = await national.record(session, code)
    if found is None:
        raise _not_found(code)
    return found


async def national_versions(
    session: AsyncSession, *, after: str | None, limit: int
) -> NationalVersions:
    items, next_after = await national.versions(session, after=after, limit=limit)
    return NationalVersions(items=items, next_after=next_after)
