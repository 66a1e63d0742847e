"""Officer and citizen actions on a dossier (DESIGN §4): one transaction each.

``perform`` locks the dossier row, asks the status machine (403/409 before anything
changes), checks what the action needs (422), then writes the new state, one audit entry
chained to the last and one outbox event, all with the next sequence number.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import audit, due_dates, notices, repository
from services.intake.config import IntakeSettings
from services.intake.machine import Action, Status, check
from services.intake.machine import Dossier as MachineDossier
from services.intake.models import Dossier
from services.intake.notices import notice_of
from services.intake.repository import known_documents, steps
from services.intake.schemas import ActionIn
from services.intake.state import (
    DossierDocument,
    ForwardStep,
    PaymentRequest,
    SupplementRequest,
    WithdrawalRequest,
    open_step,
)
from services.intake.submission import Problems, check_documents, invalid, reused
from services.intake.upstreams import AgencyCalendar, DocumentFacts, Upstreams
from shared.auth import Position, Principal, Role
from shared.contracts.actions import ACTIONS
from shared.contracts.dossiers import (
    ClockFacts,
    DossierDocuments,
    DossierEvent,
)
from shared.contracts.procedures import AgencyFacts
from shared.errors import AppError, Conflict, NotFound, UpstreamUnavailable
from shared.events import Outbox
from shared.worktime import WorkingTime

logger = logging.getLogger("onestop.intake.actions")


def event_of(action: Action) -> DossierEvent:
    """The event an action publishes (tracking keeps the clock from them)."""
    return ACTIONS[action].event


SECOND_SUPPLEMENT = (
    "Đây là lần yêu cầu bổ sung thứ hai: theo Bộ chỉ số 766, hồ sơ sẽ bị tính là trễ hạn. "
    "Gửi lại với confirm_counted_late=true nếu vẫn yêu cầu."
)


APOLOGY_COUNTS_LATE = (
    "Xin lỗi và hẹn lại ngày trả kết quả: theo Bộ chỉ số 766, hồ sơ sẽ bị tính là trễ hạn. "
    "Gửi lại với confirm_counted_late=true nếu vẫn hẹn lại."
)


def counts_late(dossier: Dossier, action: Action) -> bool:
    """Whether taking ``action`` now makes the dossier count late in the national index
    (the officer confirms it: ``confirm_counted_late``)."""
    if action is Action.REQUEST_SUPPLEMENT:
        return dossier.supplement_requests >= 1
    if action is Action.APOLOGIZE:
        return dossier.counted_late is None
    return False


def _require(body: ActionIn, *names: str) -> None:
    problems = Problems()
    for name in names:
        if getattr(body, name) in (None, []):
            problems.add([name], "Bắt buộc.")
    problems.raise_if_any("Thiếu thông tin bắt buộc cho thao tác này.")


# Actions whose handler reads the agency's working calendar (the clock).
CLOCKED = frozenset(Action) - {
    Action.ASSIGN,
    Action.FORWARD,
    Action.RETURN,
    Action.REQUEST_WITHDRAWAL,
}
# Those that ask another service at all; the others lock at once (nothing to wait for).
ASKING = CLOCKED | {Action.FORWARD, Action.ASSIGN}
# Whom a dossier may be given to: a position that can take the actions only its holder
# takes (from their declarations).
ASSIGNABLE = frozenset().union(*(rule.positions for rule in ACTIONS.values() if rule.holder_only))
NOT_AN_OFFICER = "Người được giao không phải cán bộ đang làm việc của cơ quan giải quyết hồ sơ."


@dataclass
class Prefetched:
    """What an action needs from other services, asked before the dossier's row is
    locked: a slow service then delays this request alone, and holds no lock (and no
    transaction) that other officers' actions would wait for.

    A failure is kept and raised only if the handler needs what failed (a refusal of a
    dossier never received needs no calendar)."""

    agency_code: str
    calendar: AgencyCalendar | None = None
    calendar_error: AppError | None = None
    agencies: dict[str, AgencyFacts | None] = field(default_factory=dict)
    documents: dict[uuid.UUID, DocumentFacts | None] = field(default_factory=dict)
    own_documents: dict[uuid.UUID, DocumentFacts] | None = None
    # The officers of the dossier's agencies the caller belongs to: id -> positions.
    officers: dict[str, set[Position]] = field(default_factory=dict)
    officer_agencies: frozenset[str] = frozenset()
    step_calendar: AgencyCalendar | None = None  # the forwarded-to agency's

    async def calendar_of(self, agency_code: str, upstreams: Upstreams) -> AgencyCalendar | None:
        if agency_code != self.agency_code:  # it changed between the read and the lock
            return await upstreams.calendar(agency_code)
        if self.calendar_error is not None:
            raise self.calendar_error
        return self.calendar


async def prefetch(
    agency_code: str,
    action: Action,
    body: ActionIn,
    *,
    known: dict[uuid.UUID, DocumentFacts],
    authorization: str,
    upstreams: Upstreams,
    officer_agencies: frozenset[str] = frozenset(),
) -> Prefetched:
    """Ask the other services (``known``: the supplement's files intake knows;
    ``officer_agencies``: whose officers an assignment may go to)."""
    ahead = Prefetched(agency_code=agency_code, officer_agencies=officer_agencies)
    for agency in sorted(officer_agencies):
        for officer in await upstreams.officers(agency, authorization):
            ahead.officers.setdefault(officer.id, set()).add(officer.position)
    if action in CLOCKED:
        try:
            ahead.calendar = await upstreams.calendar(agency_code)
        except AppError as exc:
            ahead.calendar_error = exc
    if action is Action.FORWARD and body.to_agency_code:
        ahead.agencies[body.to_agency_code] = await upstreams.agency(body.to_agency_code)
        if ahead.agencies[body.to_agency_code] is not None:
            # The step's due date counts in the working time of the agency doing it.
            ahead.step_calendar = await upstreams.calendar(body.to_agency_code)
    if action is Action.RESOLVE:
        for document_id in body.result_documents or []:
            ahead.documents[document_id] = await upstreams.document(document_id, authorization)
    if action is Action.SUPPLEMENT and body.documents:
        unknown = [ref.id for ref in body.documents if ref.id not in known]
        ahead.own_documents = dict(known)
        if unknown:
            ahead.own_documents.update(await upstreams.own_documents(unknown, authorization))
    return ahead


@dataclass
class Context:
    """One action being performed."""

    session: AsyncSession
    outbox: Outbox
    dossier: Dossier
    action: Action
    body: ActionIn
    actor: Principal
    authorization: str
    upstreams: Upstreams
    settings: IntakeSettings
    now: datetime
    details: dict[str, Any]
    facts: dict[str, Any]  # extra ClockFacts fields of the event
    extra_events: list[tuple[DossierEvent, dict[str, Any]]]
    ahead: Prefetched

    async def engine(self) -> WorkingTime:
        calendar = await self.ahead.calendar_of(self.dossier.agency_code, self.upstreams)
        if calendar is None:
            raise UpstreamUnavailable(
                f"Chưa có lịch làm việc của cơ quan {self.dossier.agency_code}."
            )
        self.dossier.calendar_code = calendar.code
        self.dossier.calendar_version = calendar.version
        return calendar.engine

    @property
    def due_soon(self) -> float:
        return float(self.settings.due_soon_minutes)


Handler = Callable[[Context], Coroutine[Any, Any, None]]


async def _receive(ctx: Context) -> None:
    engine = await ctx.engine()
    due_dates.start(ctx.dossier, engine, at=ctx.now, due_soon_minutes=ctx.due_soon)
    limit = ctx.dossier.time_limit
    ctx.facts.update(
        time_limit=limit,
        supplement_policy=ctx.dossier.supplement_policy,
        channel=ctx.dossier.channel,
        documents=len(ctx.dossier.documents),
        reused_documents=sum(1 for d in ctx.dossier.documents if d.reused),
        paper_documents=sum(1 for d in ctx.dossier.documents if d.id is None),
        applicant_verified=ctx.dossier.applicant_verified,
    )
    ctx.details["due_at"] = ctx.dossier.due_at.isoformat() if ctx.dossier.due_at else None
    if ctx.body.note:
        ctx.details["note"] = ctx.body.note


async def _finish(ctx: Context) -> None:
    """Refuse, withdraw, stop: a reason, and the clock stops if it ran."""
    ctx.dossier.reason = ctx.body.reason
    ctx.dossier.pending_request = None
    ctx.details["reason"] = ctx.body.reason
    ctx.facts["reason"] = ctx.body.reason
    if ctx.dossier.received_at is not None:
        due_dates.finish(ctx.dossier, await ctx.engine(), at=ctx.now)
    else:
        ctx.dossier.finished_at = ctx.now


def assignable_from(dossier: Dossier, actor: Principal) -> frozenset[str]:
    """The dossier's agencies whose officers ``actor`` may give it to: their own."""
    return frozenset(a for a in _agencies(dossier) if actor.is_member_of(a))


async def _assign(ctx: Context) -> None:
    assignee = ctx.body.assignee or ctx.actor.subject
    if assignee != ctx.actor.subject:
        # Asked of the accounts before the lock; the dossier may have moved meanwhile.
        if ctx.ahead.officer_agencies != assignable_from(ctx.dossier, ctx.actor):
            raise Conflict("Hồ sơ vừa được cập nhật bởi thao tác khác, vui lòng tải lại.")
        if not ctx.ahead.officers.get(assignee, set()) & ASSIGNABLE:
            raise invalid(NOT_AN_OFFICER, "assignee", "Chọn một cán bộ của cơ quan.")
    ctx.details["from"] = ctx.dossier.assignee
    ctx.details["to"] = assignee
    ctx.dossier.assignee = assignee


async def _request_supplement(ctx: Context) -> None:
    if counts_late(ctx.dossier, Action.REQUEST_SUPPLEMENT):
        if not ctx.body.confirm_counted_late:
            raise Conflict(SECOND_SUPPLEMENT, title="Yêu cầu bổ sung lần hai")
        ctx.dossier.counted_late = ctx.dossier.counted_late or "second_supplement_request"
        ctx.details["counted_late"] = True
    ctx.dossier.supplement_requests += 1
    missing = list(ctx.body.missing or [])
    ctx.dossier.pending_request = SupplementRequest(
        missing=missing, note=ctx.body.note, at=ctx.now, by=ctx.actor.subject
    )
    ctx.details["missing"] = missing
    await ctx.engine()  # the calendar in force is recorded with the pause
    due_dates.pause(ctx.dossier, at=ctx.now, reason="supplement")


async def _supplement(ctx: Context) -> None:
    refs = list(ctx.body.documents or [])
    problems = Problems()
    owner = ctx.dossier.applicant or ctx.actor.subject
    facts = await check_documents(
        ctx.session,
        refs,
        location="documents",
        owner=owner,
        authorization=ctx.authorization,
        upstreams=ctx.upstreams,
        problems=problems,
        requirements=10_000,  # a supplement may answer any listed item
        found=ctx.ahead.own_documents,
    )
    problems.raise_if_any("Tài liệu bổ sung chưa hợp lệ.")
    given_before = reused(facts)
    await known_documents.count_uses(ctx.session, facts)
    ctx.dossier.documents = [
        *ctx.dossier.documents,
        *(
            DossierDocument(requirement=ref.requirement, id=ref.id, reused=ref.id in given_before)
            for ref in refs
        ),
    ]
    ctx.dossier.pending_request = None
    ctx.details["documents"] = [str(ref.id) for ref in refs]
    due_dates.resume(ctx.dossier, await ctx.engine(), at=ctx.now, due_soon_minutes=ctx.due_soon)
    ctx.extra_events.append(
        (
            DossierEvent.DOCUMENTS_ADDED,
            DossierDocuments(
                at=ctx.now,
                owner=owner,
                documents=[ref.id for ref in refs],
                agency_codes=_agencies(ctx.dossier),
            ).model_dump(mode="json"),
        )
    )


async def _request_payment(ctx: Context) -> None:
    amount = ctx.body.amount_vnd or ctx.dossier.fee_total_vnd
    if not amount:
        _require(ctx.body, "amount_vnd")
    assert amount is not None  # given, or the procedure's fee (``_require`` refused neither)
    ctx.dossier.pending_request = PaymentRequest(
        amount_vnd=amount,
        # What the payment provider is told to collect, and names in its callback.
        payment_id=str(uuid.uuid4()),
        note=ctx.body.note,
        at=ctx.now,
        by=ctx.actor.subject,
    )
    ctx.details["amount_vnd"] = amount
    await ctx.engine()
    due_dates.pause(ctx.dossier, at=ctx.now, reason="payment")


async def _pay(ctx: Context) -> None:
    request = ctx.dossier.pending_request
    ctx.details["payment_reference"] = ctx.body.payment_reference
    ctx.details["amount_vnd"] = request.amount_vnd if isinstance(request, PaymentRequest) else None
    if ctx.body.note:  # the provider's own reference
        ctx.details["note"] = ctx.body.note
    ctx.dossier.pending_request = None
    ctx.facts["paid_online"] = ctx.actor.role.value == "citizen"
    due_dates.resume(ctx.dossier, await ctx.engine(), at=ctx.now, due_soon_minutes=ctx.due_soon)


async def _forward(ctx: Context) -> None:
    to_agency = ctx.body.to_agency_code
    assert to_agency is not None
    assert ctx.body.budget_hours is not None
    if to_agency == ctx.dossier.agency_code:
        raise invalid(
            "Không chuyển hồ sơ cho chính cơ quan đang giải quyết.",
            "to_agency_code",
            "Khác cơ quan.",
        )
    if ctx.ahead.agencies.get(to_agency) is None:
        raise invalid("Không có cơ quan mã này.", "to_agency_code", "Không tồn tại.")
    calendar = ctx.ahead.step_calendar
    if calendar is None:
        raise UpstreamUnavailable(f"Chưa có lịch làm việc của cơ quan {to_agency}.")
    minutes = round(ctx.body.budget_hours * 60)
    step = ForwardStep(
        agency_code=to_agency,
        budget_hours=ctx.body.budget_hours,
        note=ctx.body.note,
        forwarded_at=ctx.now,
        forwarded_by=ctx.actor.subject,
        due_at=calendar.engine.due_at(ctx.now, minutes),
    )
    ctx.dossier.steps = [*ctx.dossier.steps, step]
    steps.forwarded(ctx.session, code=ctx.dossier.code, number=len(ctx.dossier.steps),
                    agency_code=to_agency, at=ctx.now, due_at=step.due_at)  # fmt: skip
    ctx.details.update(step.model_dump(mode="json", exclude_none=True))
    ctx.facts.update(to_agency_code=to_agency, step_minutes=minutes, step_due_at=step.due_at)


async def _complete_step(ctx: Context) -> None:
    """The step's agency answers it; late if after the step's own due date."""
    found = open_step(ctx.dossier.steps)
    assert found is not None  # the machine refuses the action without an open step
    number, step = found
    late = step.due_at is not None and ctx.now > step.due_at
    answered = step.model_copy(
        update={"completed_at": ctx.now, "completed_by": ctx.actor.subject,
                "reply": ctx.body.note, "late": late if step.due_at else None}
    )  # fmt: skip
    ctx.dossier.steps = [*ctx.dossier.steps[: number - 1], answered]
    await steps.answered(ctx.session, code=ctx.dossier.code, number=number, at=ctx.now,
                         late=answered.late)  # fmt: skip
    ctx.details.update(
        step=number, agency_code=step.agency_code, note=ctx.body.note, late=answered.late,
        due_at=step.due_at.isoformat() if step.due_at else None,
    )  # fmt: skip
    ctx.facts.update(to_agency_code=step.agency_code, step_due_at=step.due_at,
                     step_late=answered.late)  # fmt: skip


async def _resolve(ctx: Context) -> None:
    results = list(ctx.body.result_documents or [])
    problems = Problems()
    for index, document_id in enumerate(results):
        facts = ctx.ahead.documents.get(document_id)
        # The result must be issued for this dossier's applicant (documents trusts the
        # officer's word on the owner; intake checks it against the dossier).
        applicant = ctx.dossier.applicant
        if facts is None or facts.kind != "result" or (applicant and facts.owner != applicant):
            problems.add(["result_documents", index], "Không phải kết quả của hồ sơ này.")
    problems.raise_if_any("Kết quả chưa hợp lệ.")
    ctx.dossier.result_documents = [str(document_id) for document_id in results]
    ctx.details["result_documents"] = ctx.dossier.result_documents
    ctx.facts["electronic_result"] = True
    due_dates.finish(ctx.dossier, await ctx.engine(), at=ctx.now)
    if applicant:  # a walk-in without an account has no wallet: the desk prints it
        ctx.extra_events.append(
            (
                DossierEvent.RESULTS_ISSUED,
                DossierDocuments(
                    at=ctx.now,
                    owner=applicant,
                    documents=results,
                    agency_codes=_agencies(ctx.dossier),
                ).model_dump(mode="json"),
            )
        )


async def _return(ctx: Context) -> None:
    if ctx.body.note:
        ctx.details["note"] = ctx.body.note


async def _apologize(ctx: Context) -> None:
    new_due = ctx.body.new_due_at
    assert new_due is not None
    if new_due <= ctx.now:
        raise invalid("Ngày hẹn mới phải sau thời điểm hiện tại.", "new_due_at", "Trong tương lai.")
    current = ctx.dossier.appointment_at or ctx.dossier.due_at
    if current is None and ctx.dossier.received_at is not None:
        # Waiting for the citizen: the date the time left gives if the clock resumed now.
        engine = await ctx.engine()
        left = due_dates.remaining_minutes(ctx.dossier, engine, ctx.now)
        current = engine.due_at(ctx.now, max(left, 0.0)) if left is not None else None
    late_now = current is not None and ctx.now > current
    if not late_now and (current is None or new_due <= current):
        raise invalid(
            "Chỉ xin lỗi và hẹn lại khi hồ sơ đã hoặc sẽ trễ hạn.",
            "new_due_at",
            "Ngày hẹn mới phải sau hạn giải quyết.",
        )
    if counts_late(ctx.dossier, Action.APOLOGIZE) and not ctx.body.confirm_counted_late:
        # Checked last: the officer confirms a date the other rules already accept.
        raise Conflict(APOLOGY_COUNTS_LATE, title="Hẹn lại làm hồ sơ bị tính trễ hạn")
    ctx.dossier.appointment_at = new_due
    ctx.dossier.counted_late = ctx.dossier.counted_late or "reappointed"
    ctx.details.update(new_due_at=new_due.isoformat(), reason=ctx.body.reason)
    ctx.facts.update(new_due_at=new_due, reason=ctx.body.reason)


async def _request_withdrawal(ctx: Context) -> None:
    ctx.dossier.pending_request = WithdrawalRequest(
        reason=ctx.body.reason, at=ctx.now, from_status=ctx.dossier.status
    )
    ctx.details["reason"] = ctx.body.reason


HANDLERS: dict[Action, Handler] = {
    Action.RECEIVE: _receive,
    Action.REFUSE: _finish,
    Action.ASSIGN: _assign,
    Action.REQUEST_SUPPLEMENT: _request_supplement,
    Action.SUPPLEMENT: _supplement,
    Action.REQUEST_PAYMENT: _request_payment,
    Action.PAY: _pay,
    Action.FORWARD: _forward,
    Action.RESOLVE: _resolve,
    Action.RETURN: _return,
    Action.APOLOGIZE: _apologize,
    Action.REQUEST_WITHDRAWAL: _request_withdrawal,
    Action.WITHDRAW: _finish,
    Action.STOP: _finish,
    Action.COMPLETE_STEP: _complete_step,
}


def _agencies(dossier: Dossier) -> list[str]:
    """Who handles it: the competent agency and the receiving desk."""
    return list(dict.fromkeys([dossier.agency_code, dossier.receiving_agency_code]))


def machine_view(dossier: Dossier) -> MachineDossier:
    return MachineDossier(
        status=Status(dossier.status),
        applicant=dossier.applicant,
        agencies=frozenset(_agencies(dossier)),
        assignee=dossier.assignee,
        step_agency=step[1].agency_code if (step := open_step(dossier.steps)) else None,
    )


async def look_ahead(
    session: AsyncSession,
    code: str,
    action: Action,
    body: ActionIn,
    *,
    actor: Principal,
    authorization: str,
    upstreams: Upstreams,
) -> Prefetched:
    """Read the dossier without a lock, check the action, and fetch what it needs from
    other services, holding neither a lock nor a transaction meanwhile. Must run before
    the session has written anything: it ends the session's transaction."""
    seen = await repository.get_by_code(session, code)
    if seen is None or not visible_to(seen, actor):
        raise NotFound(f"Không có hồ sơ {code}.")
    check(machine_view(seen), action, actor)
    agency_code = seen.agency_code
    officer_agencies: frozenset[str] = frozenset()
    if action is Action.ASSIGN and body.assignee not in (None, actor.subject):
        officer_agencies = assignable_from(seen, actor)
    known: dict[uuid.UUID, DocumentFacts] = {}
    if action is Action.SUPPLEMENT and body.documents:
        known = await known_documents.lookup(session, (ref.id for ref in body.documents))
    session.expunge(seen)
    await session.rollback()  # nothing written: the pooled connection goes back
    return await prefetch(
        agency_code, action, body, known=known, authorization=authorization,
        upstreams=upstreams, officer_agencies=officer_agencies,
    )  # fmt: skip


@dataclass(frozen=True)
class Call:
    """An action asked of a dossier, and by whom (``authorization``: their token, for
    the services the action asks on their behalf)."""

    code: str
    action: Action
    body: ActionIn
    actor: Principal
    authorization: str


async def perform(
    session: AsyncSession,
    outbox: Outbox,
    call: Call,
    *,
    upstreams: Upstreams,
    settings: IntakeSettings,
    now: datetime | None = None,
    ahead: Prefetched | None = None,
) -> Dossier:
    """Apply ``action``; the caller's transaction commits it (or nothing happens).
    ``ahead``: what the caller already fetched (``look_ahead``) before it locked.

    An action that asks other services (``ASKING``) first reads the dossier and checks
    itself without a lock, asks them, and only then locks the row and checks again
    (another officer may have acted meanwhile): no lock waits on another service. The
    others lock at once."""
    code, action, body, actor = call.code, call.action, call.body, call.actor
    if ahead is None and action not in ASKING:
        ahead = Prefetched(agency_code="")  # nothing to ask
    elif ahead is None:
        ahead = await look_ahead(
            session, code, action, body, actor=actor, authorization=call.authorization,
            upstreams=upstreams,
        )  # fmt: skip
    dossier = await repository.get_for_update(session, code)
    if dossier is None or not visible_to(dossier, actor):
        raise NotFound(f"Không có hồ sơ {code}.")
    target = check(machine_view(dossier), action, actor)
    ctx = Context(
        session=session,
        outbox=outbox,
        dossier=dossier,
        action=action,
        body=body,
        actor=actor,
        authorization=call.authorization,
        upstreams=upstreams,
        settings=settings,
        now=now or datetime.now(UTC),
        details={},
        facts={},
        extra_events=[],
        ahead=ahead,
    )
    source = dossier.status
    _require(body, *ACTIONS[action].requires)
    await HANDLERS[action](ctx)
    dossier.status = target.value
    if action is Action.WITHDRAW:
        dossier.pending_request = None
    _append(ctx, source=source)
    return dossier


def _append(ctx: Context, *, source: str) -> None:
    """The transition's sequence, audit entry and events, chained to the last."""
    dossier = ctx.dossier
    dossier.sequence += 1
    dossier.updated_at = ctx.now
    record_audit(
        ctx.session,
        dossier,
        actor=ctx.actor.subject,
        role=ctx.actor.role.value,
        action=ctx.action.value,
        from_status=source,
        at=ctx.now,
        details={"sequence": dossier.sequence, **ctx.details, **by(ctx.actor, dossier)},
    )
    facts = ClockFacts(
        at=ctx.now,
        due_at=dossier.due_at,
        agency_code=dossier.agency_code,
        procedure_code=dossier.procedure_code,
        field_code=dossier.field_code,
        **ctx.facts,
    )
    ctx.outbox.add(
        ctx.session,
        event_of(ctx.action),
        facts.model_dump(mode="json"),
        subject=dossier.code,
        sequence=dossier.sequence,
    )
    for event, payload in ctx.extra_events:
        ctx.outbox.add(ctx.session, event, payload, subject=dossier.code, sequence=dossier.sequence)
    reason = ctx.facts.get("reason")
    notice = notice_of(
        dossier, event_of(ctx.action), at=ctx.now, action=ctx.action.value, reason=reason
    )
    notices.announce(ctx.session, ctx.outbox, notice, sequence=dossier.sequence)


def by(actor: Principal, dossier: Dossier) -> dict[str, Any]:
    """Who acted, as a position at an agency on the dossier (an officer's), for the
    audit entry: what the applicant's history shows instead of a name."""
    membership = actor.membership_among(
        [*_agencies(dossier), *(step.agency_code for step in dossier.steps)]
    )
    if actor.role is not Role.OFFICER or membership is None:
        return {}
    return {"by": {"position": membership.position.value, "agency_code": membership.agency_code}}


def visible_to(dossier: Dossier, principal: Principal) -> bool:
    """The applicant, who filed it, and officers of the agencies on it (forwarded too)."""
    if principal.subject in (dossier.applicant, dossier.submitted_by):
        return True
    agencies = {*_agencies(dossier), *(step.agency_code for step in dossier.steps)}
    return any(principal.is_member_of(agency) for agency in agencies)


def record_audit(
    session: AsyncSession,
    dossier: Dossier,
    *,
    actor: str,
    role: str,
    action: str,
    from_status: str,
    at: datetime,
    details: dict[str, Any],
) -> None:
    """The next entry of the dossier's audit chain, in the caller's transaction."""
    dossier.audit_sequence += 1
    entry = audit.append(
        session,
        dossier_code=dossier.code,
        sequence=dossier.audit_sequence,
        prev_hash=dossier.head_hash,
        actor=actor,
        role=role,
        action=action,
        from_status=from_status,
        to_status=dossier.status,
        at=at,
        details=details,
    )
    dossier.head_hash = entry.hash
