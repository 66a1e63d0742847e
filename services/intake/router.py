"""The intake API (DESIGN §10): dossiers, actions, queues, the public lookup."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from services.intake import service, slips, submission
from services.intake.actions import Call
from services.intake.config import IntakeSettings
from services.intake.machine import RULES, Action, Status
from services.intake.payments import SignedNotice
from services.intake.schemas import (
    AGENCY_PATTERN,
    CODE_PATTERN,
    ActionIn,
    AppointmentOut,
    DossierOut,
    HistoryOut,
    LookupOut,
    OfficerLoad,
    QueuePage,
    RatingIn,
    StepQueue,
    SubmissionIn,
)
from services.intake.service import PAID_BY_PROVIDER
from services.intake.upstreams import Upstreams
from shared.access import Grant, allow
from shared.auth import CurrentPrincipal, Principal, Role, require_role
from shared.contracts.national import NationalRecord, NationalVersions
from shared.db import DatabaseDep, ReadSessionDep, SessionDep
from shared.params import IsoDate
from shared.runtime import OutboxDep
from shared.worktime import VIETNAM

router = APIRouter(prefix="/api/v1")

DossierCode = Annotated[str, Path(pattern=CODE_PATTERN)]
ZONE = ZoneInfo(VIETNAM)
AgencyCode = Annotated[str, Path(pattern=AGENCY_PATTERN)]


async def get_upstreams(request: Request) -> Upstreams:
    upstreams: Upstreams = request.app.state.upstreams
    return upstreams


async def get_settings(request: Request) -> IntakeSettings:
    settings: IntakeSettings = request.app.state.runtime.settings
    return settings


async def get_now(request: Request) -> datetime:
    """The instant of this request (the app's clock)."""
    now: datetime = request.app.state.clock()
    return now


UpstreamsDep = Annotated[Upstreams, Depends(get_upstreams)]
SettingsDep = Annotated[IntakeSettings, Depends(get_settings)]
NowDep = Annotated[datetime, Depends(get_now)]


@router.post(
    "/dossiers",
    response_model=DossierOut,
    status_code=201,
    tags=["dossiers"],
    # An officer files at the counter of an agency they belong to (checked on the body).
    **allow(Grant.CITIZEN, Grant.OFFICER),
)
async def submit(
    request: Request,
    body: SubmissionIn,
    principal: CurrentPrincipal,
    database: DatabaseDep,
    outbox: OutboxDep,
    upstreams: UpstreamsDep,
    settings: SettingsDep,
    now: NowDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> JSONResponse:
    """File a dossier (a citizen online; a desk officer at the counter or from the post).

    With an ``Idempotency-Key`` a retry replays the first answer instead of filing twice.
    """
    answer = await submission.submit(
        database,
        outbox,
        body=body,
        raw_body=await request.body(),
        principal=principal,
        authorization=request.headers.get("authorization", ""),
        idempotency_key=idempotency_key,
        upstreams=upstreams,
        settings=settings,
        now=now,
    )
    return JSONResponse(answer.body, answer.status_code, headers=answer.headers)


@router.get(
    "/dossiers",
    response_model=QueuePage,
    tags=["dossiers"],
    **allow(Grant.CITIZEN, Grant.OFFICER),
)
async def list_dossiers(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
    status: Annotated[Status | None, Query()] = None,
    agency: Annotated[str | None, Query(pattern=AGENCY_PATTERN, max_length=30)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> QueuePage:
    """A citizen's own dossiers (newest first); an officer's agency queue."""
    return await service.list_dossiers(
        session, principal, status=status, agency=agency, cursor=cursor, limit=limit, now=now
    )


@router.get(
    "/dossiers/{code}",
    response_model=DossierOut,
    tags=["dossiers"],
    **allow(Grant.OWN, Grant.AGENCY),
)
async def read_dossier(
    session: SessionDep,
    principal: CurrentPrincipal,
    upstreams: UpstreamsDep,
    now: NowDep,
    code: DossierCode,
) -> DossierOut:
    """A dossier, for its applicant and the officers of the agencies on it (404 for others)."""
    return await service.read(session, code, principal, upstreams=upstreams, now=now)


@router.get(
    "/dossiers/{code}/history",
    response_model=HistoryOut,
    tags=["dossiers"],
    **allow(Grant.OWN, Grant.AGENCY),
)
async def dossier_history(
    session: SessionDep, principal: CurrentPrincipal, code: DossierCode
) -> HistoryOut:
    """Every step of the dossier (who by position and agency, when) and when officers
    opened it; an officer also sees the accounts."""
    return await service.dossier_history(session, code, principal)


@router.get(
    "/dossiers/{code}/appointment",
    response_model=AppointmentOut,
    tags=["dossiers"],
    **allow(Grant.OWN, Grant.AGENCY),
)
async def dossier_appointment(
    session: SessionDep,
    principal: CurrentPrincipal,
    upstreams: UpstreamsDep,
    now: NowDep,
    code: DossierCode,
) -> AppointmentOut:
    """How the appointment was reached: every day the clock skipped and why, the
    pauses waiting for the citizen, the re-appointments."""
    return await service.dossier_appointment(session, code, principal, upstreams=upstreams, now=now)


def _action_grants(action: Action) -> list[Grant]:
    """Who may take ``action`` on a dossier filed online, from the status machine's rules
    (the desk also acts for a walk-in without an account, who has no login)."""
    rule = RULES[action]
    if not rule.citizen:
        return [Grant.AGENCY]
    grants = [] if action in PAID_BY_PROVIDER else [Grant.OWN]
    return [*grants, Grant.AGENCY] if rule.desk_records else grants


# The operation's description: what each action's body must carry, from its declaration.
ACTION_REQUIREMENTS = (
    "One action of the status machine; 409 (nothing changes) where it is not allowed.\n\n"
    + "\n".join(
        f"- `{action.value}`: {', '.join(f'`{f}`' for f in RULES[action].requires) or '—'}"
        for action in Action
    )
)


@router.post(
    "/dossiers/{code}/actions/{action}",
    response_model=DossierOut,
    tags=["dossiers"],
    description=ACTION_REQUIREMENTS,
    **allow(Grant.OWN, Grant.AGENCY, by={"action": {a.value: _action_grants(a) for a in Action}}),
)
async def act(
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    outbox: OutboxDep,
    principal: CurrentPrincipal,
    upstreams: UpstreamsDep,
    settings: SettingsDep,
    now: NowDep,
    code: DossierCode,
    action: Action,
    body: ActionIn | None = None,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> DossierOut | JSONResponse:
    """One action of the status machine; 409 (nothing changes) where it is not allowed.

    With an ``Idempotency-Key`` a retry replays the first answer instead of acting twice.
    """
    authorization = request.headers.get("authorization", "")
    call = Call(code, action, body or ActionIn(), principal, authorization)
    if idempotency_key is None:
        return await service.act(
            session, outbox, call, upstreams=upstreams, settings=settings, now=now
        )
    answer = await service.act_once(
        database, session, outbox, call, key=idempotency_key, raw_body=await request.body(),
        upstreams=upstreams, settings=settings, now=now,
    )  # fmt: skip
    return JSONResponse(answer.body, answer.status_code, headers=answer.headers)


@router.get(
    "/dossiers/{code}/slips/{kind}",
    tags=["dossiers"],
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    **allow(Grant.OWN, Grant.AGENCY),
)
async def slip(
    session: SessionDep,
    principal: CurrentPrincipal,
    upstreams: UpstreamsDep,
    settings: SettingsDep,
    code: DossierCode,
    kind: slips.SlipKind,
) -> Response:
    """A slip as PDF: receipt, supplement, refusal, apology, control (hand-offs)."""
    pdf = await service.slip(session, code, kind, principal, upstreams=upstreams, settings=settings)
    filename = f"{code}-{kind.value}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="{filename}"'},
    )


@router.post(
    "/dossiers/{code}/rating",
    response_model=DossierOut,
    status_code=201,
    tags=["dossiers"],
    **allow(Grant.OWN),
)
async def rate(
    session: SessionDep,
    outbox: OutboxDep,
    principal: CurrentPrincipal,
    now: NowDep,
    code: DossierCode,
    body: RatingIn,
) -> DossierOut:
    """The applicant rates the service (1–5, a comment), once, after the result was
    returned; 409 before that or a second time. Counted in the satisfaction indicator."""
    return await service.rate(session, outbox, code, principal, body, now=now)


@router.post("/dossiers/{code}/payment/mock-pay", tags=["payments"], **allow(Grant.OWN))
async def mock_pay(
    session: SessionDep,
    outbox: OutboxDep,
    principal: CurrentPrincipal,
    upstreams: UpstreamsDep,
    settings: SettingsDep,
    now: NowDep,
    code: DossierCode,
) -> dict[str, Any]:
    """The mock payment provider: the citizen pays what the dossier asks; the provider
    sends its signed notice to the callback (delivered here in-process) and shows it."""
    return await service.mock_pay(
        session, outbox, code, principal, upstreams=upstreams, settings=settings, now=now
    )


@router.post("/payments/callback", tags=["payments"], **allow(Grant.SIGNED))
async def payment_callback(
    session: SessionDep,
    outbox: OutboxDep,
    upstreams: UpstreamsDep,
    settings: SettingsDep,
    now: NowDep,
    notice: SignedNotice,
) -> dict[str, Any]:
    """The provider's notice (no login: its HMAC signature is the proof). Idempotent."""
    return await service.payment_callback(
        session, outbox, notice, upstreams=upstreams, settings=settings, now=now
    )


@router.get(
    "/queues/{agency_code}",
    response_model=QueuePage,
    tags=["queues"],
    **allow(Grant.AGENCY),
)
async def agency_queue(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
    upstreams: UpstreamsDep,
    agency_code: AgencyCode,
    status: Annotated[list[Status] | None, Query()] = None,
    timeliness: Annotated[
        str | None,
        Query(pattern="^(on_track|due_soon|overdue|paused|not_received|resolved)$", max_length=20),
    ] = None,
    assignee: Annotated[str | None, Query(max_length=64, description="'me' or a subject")] = None,
    procedure: Annotated[
        str | None, Query(pattern=r"^[A-Za-z0-9.\-]{1,40}$", max_length=40)
    ] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> QueuePage:
    """The agency's dossiers by due date then code; counts per timeliness on the first
    page (of the filtered queue); each running dossier's working time left."""
    return await service.agency_queue(
        session, principal, agency_code,
        statuses=[s.value for s in status] if status else None, timeliness=timeliness,
        assignee=assignee, procedure=procedure, cursor=cursor, limit=limit, now=now,
        upstreams=upstreams,
    )  # fmt: skip


@router.get(
    "/queues/{agency_code}/load",
    response_model=list[OfficerLoad],
    tags=["queues"],
    **allow(Grant.AGENCY),
)
async def agency_load(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
    agency_code: AgencyCode,
    start: Annotated[IsoDate | None, Query(alias="from")] = None,
) -> list[OfficerLoad]:
    """Leaders of the agency: each officer's open, due-soon and overdue dossiers now, and
    those they finished since ``from`` (default: the first of this month) and late."""
    since = period_start(start, now)
    return await service.agency_load(session, principal, agency_code, since=since, now=now)


def period_start(start: date | None, now: datetime) -> datetime:
    """The start of a leader's period: the day asked for, else the first of this month,
    at midnight in Vietnam."""
    first = start or now.astimezone(ZONE).date().replace(day=1)
    return datetime.combine(first, time(0), tzinfo=ZONE)


@router.get(
    "/queues/{agency_code}/steps",
    response_model=StepQueue,
    tags=["queues"],
    **allow(Grant.AGENCY),
)
async def agency_steps(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
    settings: SettingsDep,
    upstreams: UpstreamsDep,
    agency_code: AgencyCode,
    start: Annotated[IsoDate | None, Query(alias="from")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> StepQueue:
    """Officers of the agency: the dossiers other agencies forwarded to it that wait for
    its step, by the step's due date; and the steps it answered since ``from`` (default:
    the first of this month) and how many late."""
    return await service.step_queue(
        session, principal, agency_code, since=period_start(start, now), now=now,
        upstreams=upstreams,
        due_soon_minutes=float(settings.due_soon_minutes), limit=limit,
    )  # fmt: skip


@router.get("/lookup/{code}", response_model=LookupOut, tags=["lookup"], **allow(Grant.PUBLIC))
async def lookup(session: ReadSessionDep, now: NowDep, code: DossierCode) -> LookupOut:
    """Public: where a dossier stands and its appointment, nothing personal."""
    return await service.lookup(session, code, now=now)


AdminOnly = Annotated[Principal, Depends(require_role(Role.ADMIN))]


@router.get(
    "/national/dossiers",
    response_model=NationalVersions,
    tags=["national"],
    **allow(Grant.ADMIN),
)
async def national_versions(
    session: ReadSessionDep,
    _: AdminOnly,
    after: Annotated[str | None, Query(pattern=CODE_PATTERN, max_length=60)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> NationalVersions:
    """Admin (the portal sync): every dossier's code and version, by code, to reconcile
    with what the national portal holds."""
    return await service.national_versions(session, after=after, limit=limit)


@router.get(
    "/national/dossiers/{code}",
    response_model=NationalRecord,
    tags=["national"],
    **allow(Grant.ADMIN),
)
async def national_record(
    session: ReadSessionDep, _: AdminOnly, code: DossierCode
) -> NationalRecord:
    """Admin (the portal sync): the dossier as the national portal wants it, with its
    whole audit trail as the steps of its handling."""
    return await service.national_record(session, code)
