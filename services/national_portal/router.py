"""The DVCQG-like API (``/api/...``) and the mock's admin routes (``/api/admin/...``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services.national_portal import portal
from services.national_portal.config import NationalPortalSettings
from services.national_portal.schemas import ProcedureIn, Report
from shared.auth import Role, require_role
from shared.contracts.dvcqg import (
    Answer,
    DossierIn,
    ErrorCode,
    HeldVersions,
    LookupIn,
    LookupOut,
    ProgressIn,
    TokenIn,
    TokenOut,
)
from shared.db import ReadSessionDep, SessionDep
from shared.faults import Faults, FaultState


async def get_settings(request: Request) -> NationalPortalSettings:
    settings: NationalPortalSettings = request.app.state.runtime.settings
    return settings


SettingsDep = Annotated[NationalPortalSettings, Depends(get_settings)]


def authorized(settings: SettingsDep, authorization: Annotated[str, Header()] = "") -> None:
    portal.check_token(settings, authorization)


router = APIRouter(prefix="/api", tags=["dvcqg"])
protected = APIRouter(prefix="/api", tags=["dvcqg"], dependencies=[Depends(authorized)])


@router.post("/token", response_model=TokenOut)
async def token(body: TokenIn, settings: SettingsDep, request: Request) -> TokenOut:
    """The token step: the connected system's credentials for a bearer token. Failed
    attempts are limited per address (guessing the secret is not a way in)."""
    failures: portal.FailedTokens = request.app.state.failed_tokens
    address = request.client.host if request.client else "unknown"
    failures.check(address)
    try:
        issued = portal.issue_token(settings, body.username, body.password)
    except portal.Refused:
        failures.record(address)
        raise
    return TokenOut(access_token=issued, expires_in=settings.token_seconds)


@protected.post("/DongBoHoSoMC", response_model=Answer)
async def sync_dossier(body: DossierIn, session: SessionDep) -> Answer:
    return await portal.upsert(session, body)


@protected.post("/CapNhatTienDoHoSoMC", response_model=Answer)
async def sync_progress(body: ProgressIn, session: SessionDep) -> Answer:
    return await portal.progress(session, body)


@protected.post("/TraCuuHoSo", response_model=LookupOut)
async def look_up(body: LookupIn, session: ReadSessionDep) -> LookupOut:
    return await portal.lookup(session, body.MaHoSo)


@protected.put("/admin/procedures", response_model=Answer)
async def put_procedures(body: list[ProcedureIn], session: SessionDep) -> Answer:
    """Add procedures to the mock's national database (``onestop seed`` sends the
    catalogue's)."""
    added = await portal.register_procedures(session, body)
    return Answer(message=f"Thêm {added} thủ tục mới")


@protected.get("/admin/report", response_model=Report)
async def get_report(session: ReadSessionDep) -> Report:
    return await portal.report(session)


@protected.get("/admin/dossiers", response_model=HeldVersions)
async def get_held(
    session: ReadSessionDep,
    after: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> HeldVersions:
    """Every dossier held, by MaHoSo, with its version and its count of progress steps:
    what a reconciliation compares with the platform."""
    items = await portal.held(session, after=after, limit=limit)
    return HeldVersions(items=items, next_after=items[-1].MaHoSo if len(items) == limit else None)


# The injected faults are the platform admin's to change (a token of the platform with
# the admin role), not the connected system's: the sync's credential, which sits in
# every deployment's environment, must not be able to switch the portal off.
faults_router = APIRouter(
    prefix="/api", tags=["dvcqg"], dependencies=[Depends(require_role(Role.ADMIN))]
)


@faults_router.get("/admin/faults", response_model=Faults)
async def get_faults(request: Request) -> Faults:
    return fault_state(request).faults


@faults_router.put("/admin/faults", response_model=Faults)
async def put_faults(body: Faults, request: Request) -> Faults:
    fault_state(request).faults = body
    return body


def fault_state(request: Request) -> FaultState:
    found: FaultState = request.app.state.faults
    return found


async def refused(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, portal.Refused)
    return JSONResponse(exc.answer.model_dump(mode="json"), exc.status)


async def invalid_body(_request: Request, exc: Exception) -> JSONResponse:
    """A body that is not what DVCQG expects: code 02, naming each field (as the portal
    answers; not a problem detail, which is the platform's own format)."""
    assert isinstance(exc, RequestValidationError)
    fields = [
        ".".join(str(part) for part in error["loc"] if part != "body") + ": " + error["msg"]
        for error in exc.errors()
    ]
    answer = Answer(
        error_code=ErrorCode.INVALID, message="Dữ liệu không hợp lệ: " + "; ".join(fields)
    )
    return JSONResponse(answer.model_dump(mode="json"), 400)
