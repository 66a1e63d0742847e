"""Admins' officers (``/api/v1/admin/officers``): the way a production install gets its
desk officers, specialists and leaders (``staff.py`` does the work, audited)."""

from datetime import UTC, datetime
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Path, Query, Request

from services.gateway import repository, staff
from services.gateway.router import get_hasher, revoke_logins
from services.gateway.schemas import (
    AccountEventOut,
    AdminOfficer,
    IssuedPassword,
    MembershipsIn,
    OfficerIn,
)
from shared.access import Grant, allow
from shared.auth import AgencyMembership, CurrentPrincipal, PasswordHasher, login_revocation_id
from shared.db import ReadSessionDep, SessionDep
from shared.errors import Unprocessable, UpstreamUnavailable
from shared.runtime import OutboxDep

router = APIRouter(prefix="/api/v1/admin/officers", tags=["admin"])
ADMIN = allow(Grant.ADMIN)
OfficerId = Annotated[str, Path(max_length=40)]
Hasher = Annotated[PasswordHasher, Depends(get_hasher)]


async def known_agencies(request: Request, memberships: list[AgencyMembership]) -> None:
    """Every agency named is in the catalogue (the procedures service's), else 422 at it."""
    client = request.app.state.upstreams["procedures"].client
    for index, membership in enumerate(memberships):
        try:
            answer = await client.get(f"/api/v1/agencies/{membership.agency_code}")
        except httpx.HTTPError as exc:  # the catalogue is away
            raise UpstreamUnavailable("Chưa kiểm tra được danh mục cơ quan.") from exc
        if answer.status_code == 404:
            raise Unprocessable(
                "Cơ quan không có trong danh mục.",
                errors=[{"location": "body", "pointer": f"#/memberships/{index}/agency_code",
                         "message": f"Không có cơ quan {membership.agency_code}."}],
            )  # fmt: skip
        if answer.status_code != 200:
            raise UpstreamUnavailable("Chưa kiểm tra được danh mục cơ quan.")


async def ended(request: Request, families: list[object]) -> None:
    """The access tokens of the logins a change ended are refused from now on."""
    await revoke_logins(request, [login_revocation_id(str(family)) for family in families])


@router.get("", response_model=list[AdminOfficer], **ADMIN)
async def list_officers(
    session: ReadSessionDep,
    agency: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9.\-]{1,30}$", max_length=30)] = None,
) -> list[AdminOfficer]:
    """Every officer account, active or not, by name; of one agency when asked."""
    return [staff.shown(user) for user in await repository.officers(session, agency_code=agency)]


@router.post("", response_model=IssuedPassword, status_code=201, **ADMIN)
async def create_officer(
    request: Request, session: SessionDep, principal: CurrentPrincipal, body: OfficerIn,
    hasher: Hasher, outbox: OutboxDep,
) -> IssuedPassword:  # fmt: skip
    """A new officer with their agencies and positions, and a one-time password (shown
    this once) with which they set their own before anything else."""
    await known_agencies(request, body.memberships)
    user, password = await staff.create(
        session, body, by=principal.subject, hasher=hasher, now=datetime.now(UTC), outbox=outbox
    )
    return IssuedPassword(officer=staff.shown(user), one_time_password=password)


@router.get("/{officer_id}", response_model=AdminOfficer, **ADMIN)
async def read_officer(session: ReadSessionDep, officer_id: OfficerId) -> AdminOfficer:
    return staff.shown(await staff.officer(session, officer_id))


@router.put("/{officer_id}/memberships", response_model=AdminOfficer, **ADMIN)
async def set_memberships(
    request: Request, session: SessionDep, principal: CurrentPrincipal, officer_id: OfficerId,
    body: MembershipsIn, outbox: OutboxDep,
) -> AdminOfficer:  # fmt: skip
    """Give and take agencies and positions (the whole list); the officer's logins end,
    since their tokens carry the old ones."""
    await known_agencies(request, body.memberships)
    user, families = await staff.set_memberships(
        session,
        officer_id,
        body.memberships,
        by=principal.subject,
        now=datetime.now(UTC),
        outbox=outbox,
    )
    await ended(request, list(families))
    return staff.shown(user)


@router.post("/{officer_id}/deactivate", response_model=AdminOfficer, **ADMIN)
async def deactivate(
    request: Request, session: SessionDep, principal: CurrentPrincipal, officer_id: OfficerId,
    outbox: OutboxDep,
) -> AdminOfficer:  # fmt: skip
    """The account can no longer log in, and its sessions end at once."""
    user, families = await staff.set_active(
        session, officer_id, False, by=principal.subject, now=datetime.now(UTC), outbox=outbox
    )
    await ended(request, list(families))
    return staff.shown(user)


@router.post("/{officer_id}/activate", response_model=AdminOfficer, **ADMIN)
async def activate(
    session: SessionDep, principal: CurrentPrincipal, officer_id: OfficerId, outbox: OutboxDep
) -> AdminOfficer:
    user, _ = await staff.set_active(
        session, officer_id, True, by=principal.subject, now=datetime.now(UTC), outbox=outbox
    )
    return staff.shown(user)


@router.post("/{officer_id}/reset-password", response_model=IssuedPassword, **ADMIN)
async def reset_password(
    request: Request, session: SessionDep, principal: CurrentPrincipal, officer_id: OfficerId,
    hasher: Hasher,
) -> IssuedPassword:  # fmt: skip
    """A new one-time password (shown this once); the old one and every login end."""
    user, password, families = await staff.reset_password(
        session, officer_id, by=principal.subject, hasher=hasher, now=datetime.now(UTC)
    )
    await ended(request, list(families))
    return IssuedPassword(officer=staff.shown(user), one_time_password=password)


@router.get("/{officer_id}/events", response_model=list[AccountEventOut], **ADMIN)
async def officer_events(session: ReadSessionDep, officer_id: OfficerId) -> list[AccountEventOut]:
    """What was done to the account, when and by which admin: its audit."""
    user = await staff.officer(session, officer_id)
    events = await repository.account_events(session, user.id)
    return [AccountEventOut(kind=e.kind, at=e.at, detail=e.detail) for e in events]
