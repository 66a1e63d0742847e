"""The intake API (DESIGN §10): dossiers, actions, queues, the public lookup."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import (
    actions,
    audit,
    clock,
    idempotency,
    national,
    payments,
    queues,
    slips,
    submission,
    views,
)
from services.intake.config import IntakeSettings
from services.intake.machine import RULES, Action, Status
from services.intake.models import Dossier
from services.intake.schemas import (
    AGENCY_PATTERN,
    CODE_PATTERN,
    ActionIn,
    DossierOut,
    LookupOut,
    QueuePage,
    SubmissionIn,
)
from services.intake.upstreams import Upstreams
from shared.access import Grant, allow
from shared.auth import CurrentPrincipal, Principal, Role, require_role
from shared.contracts.national import NationalRecord, NationalVersions
from shared.db import Database, ReadSessionDep, SessionDep
from shared.errors import AppError, Conflict, Forbidden, NotFound
from shared.runtime import OutboxDep

router = APIRouter(prefix="/api/v1")

DossierCode = Annotated[str, Path(pattern=CODE_PATTERN)]
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


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.runtime.db
    return database


UpstreamsDep = Annotated[Upstreams, Depends(get_upstreams)]
SettingsDep = Annotated[IntakeSettings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
NowDep = Annotated[datetime, Depends(get_now)]


async def _visible(session: SessionDep, code: str, principal: Principal) -> Dossier:
    dossier = await session.get(Dossier, code)
    if dossier is None or not actions.visible_to(dossier, principal):
        raise NotFound(f"Không có hồ sơ {code}.")
    return dossier


async def _remaining(dossier: Dossier, upstreams: Upstreams, now: datetime) -> float | None:
    """Working time left, shown while the clock waits for the citizen."""
    if dossier.status not in clock.PAUSED_STATUSES:
        return None
    try:
        calendar = await upstreams.calendar(dossier.agency_code)
    except AppError:
        return None  # tracking unreachable: the rest of the dossier still shows
    return clock.remaining_minutes(dossier, calendar.engine, now) if calendar else None


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
    claimed: idempotency.Claim | None = None
    if idempotency_key is not None:
        idempotency.check_key(idempotency_key)
        found = await idempotency.claim(
            database,
            caller=principal.subject,
            key=idempotency_key,
            print_=idempotency.fingerprint(await request.body()),
            lease_seconds=settings.idempotency_lease_seconds,
        )
        if isinstance(found, idempotency.Replay):
            return JSONResponse(
                found.body, found.status_code, headers={"Idempotent-Replayed": "true"}
            )
        claimed = found
    authorization = request.headers.get("authorization", "")

    async def validate(session: AsyncSession) -> submission.Accepted:
        return await submission.validate(
            session, body, principal, authorization=authorization, upstreams=upstreams
        )

    try:
        if claimed is None:
            # The dossier is one statement on PostgreSQL: no transaction (``filing``).
            async with database.one_statement_session() as session:
                accepted = await validate(session)
                dossier = await submission.record(
                    session, outbox, body=body, accepted=accepted, principal=principal, now=now
                )
                payload = views.full(dossier, now=dossier.submitted_at).model_dump(mode="json")
        else:
            # The answer to replay commits with the dossier: a transaction, opened only
            # once validation (which asks other services) is done, so that a slow
            # service holds no transaction and no pooled connection for its wait.
            async with database.read_session() as reading:
                accepted = await validate(reading)
            async with database.session() as session:
                dossier = await submission.record(
                    session, outbox, body=body, accepted=accepted, principal=principal, now=now
                )
                payload = views.full(dossier, now=dossier.submitted_at).model_dump(mode="json")
                await idempotency.complete(session, claimed, status_code=201, body=payload)
    except BaseException:
        if claimed is not None:
            await idempotency.release(database, claimed)
        raise
    return JSONResponse(payload, 201, headers={"Location": f"/api/v1/dossiers/{dossier.code}"})


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
    if principal.role is Role.CITIZEN:
        rows, next_cursor = await queues.own(
            session, applicant=principal.subject, status=status, cursor=cursor, limit=limit
        )
        return QueuePage(items=views.summaries(rows, now=now), next_cursor=next_cursor, counts={})
    agency = agency or (principal.agencies[0].agency_code if principal.agencies else None)
    if principal.role is not Role.OFFICER or agency is None:
        raise Forbidden("Chỉ công dân và cán bộ xem được danh sách hồ sơ.")
    return await _queue(session, principal, agency, [status] if status else None, None, None,
                        cursor, limit, now)  # fmt: skip


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
    dossier = await _visible(session, code, principal)
    return views.full(dossier, now=now, remaining=await _remaining(dossier, upstreams, now))


# A citizen's payment is recorded from the provider's signed notice, never on their word.
PAID_BY_PROVIDER = frozenset({Action.PAY})


def _action_grants(action: Action) -> list[Grant]:
    """Who may take ``action`` on a dossier filed online, from the status machine's rules
    (the desk also acts for a walk-in without an account, who has no login)."""
    rule = RULES[action]
    if not rule.citizen:
        return [Grant.AGENCY]
    grants = [] if action in PAID_BY_PROVIDER else [Grant.OWN]
    return [*grants, Grant.AGENCY] if rule.desk_records else grants


@router.post(
    "/dossiers/{code}/actions/{action}",
    response_model=DossierOut,
    tags=["dossiers"],
    **allow(Grant.OWN, Grant.AGENCY, by={"action": {a.value: _action_grants(a) for a in Action}}),
)
async def act(
    request: Request,
    session: SessionDep,
    outbox: OutboxDep,
    principal: CurrentPrincipal,
    upstreams: UpstreamsDep,
    settings: SettingsDep,
    now: NowDep,
    code: DossierCode,
    action: Action,
    body: ActionIn | None = None,
) -> DossierOut:
    """One action of the status machine; 409 (nothing changes) where it is not allowed."""
    if action in PAID_BY_PROVIDER and principal.role is Role.CITIZEN:
        # A citizen's word is not a payment: online, the provider's signed notice records
        # it (/payments/callback); at the counter, the desk records the receipt.
        raise Forbidden(
            "Thanh toán trực tuyến được ghi nhận khi cổng thanh toán xác nhận; "
            "nộp tại quầy do cán bộ một cửa ghi nhận."
        )
    dossier = await actions.perform(
        session,
        outbox,
        code=code,
        action=action,
        body=body or ActionIn(),
        actor=principal,
        authorization=request.headers.get("authorization", ""),
        upstreams=upstreams,
        settings=settings,
        now=now,
    )
    try:
        await session.flush()
    except IntegrityError as exc:  # another action took this sequence number first
        raise Conflict("Hồ sơ vừa được cập nhật bởi thao tác khác, vui lòng tải lại.") from exc
    return views.full(dossier, now=now, remaining=await _remaining(dossier, upstreams, now))


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
    dossier = await _visible(session, code, principal)
    entries = await audit.trail(session, code)

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
        lookup_url=f"{settings.public_url.rstrip('/')}/api/v1/lookup/{code}",
    )
    pdf = await anyio.to_thread.run_sync(slips.render, kind, context)  # CPU: off the loop
    filename = f"{code}-{kind.value}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="{filename}"'},
    )


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
    dossier = await _visible(session, code, principal)
    signed, paid = await payments.mock_pay(
        session, outbox, dossier, payer=principal, upstreams=upstreams, settings=settings, now=now
    )
    return {
        "notice": signed.model_dump(),
        "dossier": views.full(paid, now=now).model_dump(mode="json"),
    }


@router.post("/payments/callback", tags=["payments"], **allow(Grant.SIGNED))
async def payment_callback(
    session: SessionDep,
    outbox: OutboxDep,
    upstreams: UpstreamsDep,
    settings: SettingsDep,
    now: NowDep,
    notice: payments.SignedNotice,
) -> dict[str, Any]:
    """The provider's notice (no login: its HMAC signature is the proof). Idempotent."""
    plain = payments.verify(notice, settings.payment_secret.get_secret_value())
    dossier = await payments.apply_notice(
        session, outbox, plain, upstreams=upstreams, settings=settings, now=now
    )
    return {"code": dossier.code, "status": dossier.status, "sequence": dossier.sequence}


async def _queue(
    session: AsyncSession,
    principal: Principal,
    agency_code: str,
    statuses: list[str] | None,
    timeliness: str | None,
    assignee: str | None,
    cursor: str | None,
    limit: int,
    now: datetime,
) -> QueuePage:
    if principal.role is not Role.OFFICER or not principal.is_member_of(agency_code):
        raise Forbidden("Chỉ cán bộ của cơ quan xem được hàng đợi hồ sơ của cơ quan.")
    rows, next_cursor, counts = await queues.queue(
        session,
        agency_code=agency_code,
        statuses=statuses,
        bucket=timeliness,
        assignee=principal.subject if assignee == "me" else assignee,
        cursor=cursor,
        limit=limit,
        now=now,
        with_counts=cursor is None,
    )
    return QueuePage(items=views.summaries(rows, now=now), next_cursor=next_cursor, counts=counts)


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
    agency_code: AgencyCode,
    status: Annotated[list[Status] | None, Query()] = None,
    timeliness: Annotated[
        str | None,
        Query(pattern="^(on_track|due_soon|overdue|paused|not_received)$", max_length=20),
    ] = None,
    assignee: Annotated[str | None, Query(max_length=64, description="'me' or a subject")] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> QueuePage:
    """The agency's dossiers by due date then code; counts per timeliness on the first page."""
    statuses = [s.value for s in status] if status else None
    return await _queue(session, principal, agency_code, statuses, timeliness, assignee, cursor,
                        limit, now)  # fmt: skip


@router.get("/lookup/{code}", response_model=LookupOut, tags=["lookup"], **allow(Grant.PUBLIC))
async def lookup(session: ReadSessionDep, now: NowDep, code: DossierCode) -> LookupOut:
    """Public: where a dossier stands and its appointment, nothing personal."""
    dossier = await session.get(Dossier, code)
    if dossier is None:
        raise NotFound(f"Không có hồ sơ {code}.")
    return views.lookup(dossier, now=now)


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
    items, next_after = await national.versions(session, after=after, limit=limit)
    return NationalVersions(items=items, next_after=next_after)


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
    found = await national.record(session, code)
    if found is None:
        raise NotFound(f"Không có hồ sơ {code}.")
    return found
