"""Officers' accounts, administered: made with a one-time password, given and taken
their agencies and positions, deactivated and brought back, their password reset.

Every change is an account event naming the admin who made it (``officer.*``). A change
to what an officer may do ends their logins at once: the refresh tokens here, and the
caller refuses the access tokens still out (``router.revoke_logins``), which carry the
memberships they were issued with.
"""

import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import repository
from services.gateway.models import AccountEvent, OfficerMembership, User
from services.gateway.schemas import AdminOfficer, OfficerIn, PasswordChange
from services.gateway.service import end_session
from shared.auth import AgencyMembership, PasswordHasher, Role
from shared.contracts.notices import OFFICER_NOTICE, OfficerNotice
from shared.errors import Conflict, NotFound, Unauthorized, Unprocessable
from shared.events import Outbox

CREATED = "officer.created"
MEMBERSHIPS_CHANGED = "officer.memberships_changed"
DEACTIVATED = "officer.deactivated"
ACTIVATED = "officer.activated"
PASSWORD_RESET = "officer.password_reset"
PASSWORD_CHANGED = "account.password_changed"
ADMIN_CREATED = "admin.created"
WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."


def one_time_password() -> str:
    """Twelve characters from 72 bits of randomness, to be read out or printed once."""
    return secrets.token_urlsafe(9)


def shown(user: User) -> AdminOfficer:
    return AdminOfficer(
        id=str(user.id),
        username=user.username,
        full_name=user.full_name,
        is_active=user.is_active,
        password_must_change=user.password_must_change,
        memberships=[
            AgencyMembership(agency_code=m.agency_code, position=m.position)
            for m in user.memberships
        ],
        created_at=user.created_at,
    )


def shown_membership(membership: OfficerMembership) -> dict[str, str]:
    return {"agency_code": membership.agency_code, "position": membership.position.value}


def _memberships(given: Iterable[AgencyMembership]) -> list[OfficerMembership]:
    """One position per agency (the accounts' key): a second one for the same agency is
    the admin's mistake, not a choice to guess between."""
    seen: dict[str, AgencyMembership] = {}
    for index, membership in enumerate(given):
        if membership.agency_code in seen:
            raise Unprocessable(
                "Mỗi cơ quan chỉ một chức danh.",
                errors=[{"location": "body", "pointer": f"#/memberships/{index}/agency_code",
                         "message": "Cơ quan đã có ở trên."}],
            )  # fmt: skip
        seen[membership.agency_code] = membership
    return [OfficerMembership(agency_code=code, position=m.position) for code, m in seen.items()]


def _record(session: AsyncSession, user: User, kind: str, *, by: str, now: datetime,
            **detail: Any) -> None:  # fmt: skip
    repository.add_account_event(
        session, AccountEvent(user_id=user.id, kind=kind, at=now, detail={"by": by, **detail})
    )


def announce(session: AsyncSession, outbox: Outbox, user: User) -> None:
    """Tell the notifications service the officer's account as it now stands (whose
    leaders get an agency's digest), in the change's transaction."""
    notice = OfficerNotice(
        subject=str(user.id),
        full_name=user.full_name,
        active=user.is_active,
        memberships=[
            AgencyMembership(agency_code=m.agency_code, position=m.position)
            for m in user.memberships
        ],
    )
    outbox.add(session, OFFICER_NOTICE, notice.model_dump(mode="json"), subject=str(user.id))


async def _end_logins(session: AsyncSession, user: User, *, now: datetime) -> list[uuid.UUID]:
    families = await repository.live_login_families(session, user.id)
    for family in families:
        await end_session(session, family, now=now)
    return families


async def officer(session: AsyncSession, officer_id: str, *, for_update: bool = False) -> User:
    try:
        key = uuid.UUID(officer_id)
    except ValueError:
        key = None
    found = await repository.get_officer(session, key, for_update=for_update) if key else None
    if found is None:
        raise NotFound("Không có cán bộ này.")
    return found


async def create(
    session: AsyncSession,
    body: OfficerIn,
    *,
    by: str,
    hasher: PasswordHasher,
    now: datetime,
    outbox: Outbox,
) -> tuple[User, str]:
    """A new officer and the one-time password they log in with once, to set their own."""
    if await repository.get_user_by_username(session, body.username) is not None:
        raise Conflict(f"Tên đăng nhập {body.username} đã có.")
    password = one_time_password()
    user = User(
        username=body.username,
        full_name=body.full_name.strip(),
        role=Role.OFFICER,
        password_hash=await hasher.hash(password),
        password_must_change=True,
        created_at=now,
        memberships=_memberships(body.memberships),
    )
    repository.add_user(session, user)
    try:
        await session.flush()
    except IntegrityError as exc:  # made at the same moment
        raise Conflict(f"Tên đăng nhập {body.username} đã có.") from exc
    after = [m.model_dump(mode="json") for m in body.memberships]
    _record(session, user, CREATED, by=by, now=now, memberships=after)
    announce(session, outbox, user)
    return user, password


async def admin_exists(session: AsyncSession) -> bool:
    return await repository.any_admin(session)


async def create_first_admin(
    session: AsyncSession,
    *,
    username: str,
    full_name: str,
    password: str,
    hasher: PasswordHasher,
    now: datetime,
) -> User | None:
    """An install's first admin, with the password the operator gave for it as a
    one-time password (they set their own at the first login). Nothing when an admin
    exists already: bootstrapping again never changes or adds one."""
    if await admin_exists(session):
        return None
    if await repository.get_user_by_username(session, username) is not None:
        raise Conflict(f"Tên đăng nhập {username} đã có (không phải quản trị).")
    user = User(
        username=username,
        full_name=full_name.strip(),
        role=Role.ADMIN,
        password_hash=await hasher.hash(password),
        password_must_change=True,
        created_at=now,
        memberships=[],
    )
    repository.add_user(session, user)
    await session.flush()
    _record(session, user, ADMIN_CREATED, by="bootstrap", now=now)
    return user


async def set_memberships(
    session: AsyncSession,
    officer_id: str,
    memberships: list[AgencyMembership],
    *,
    by: str,
    now: datetime,
    outbox: Outbox,
) -> tuple[User, list[uuid.UUID]]:
    """Replace the officer's agencies and positions; the logins it ended."""
    user = await officer(session, officer_id, for_update=True)
    before = [shown_membership(m) for m in user.memberships]
    user.memberships = _memberships(memberships)
    await session.flush()
    after = [m.model_dump(mode="json") for m in memberships]
    _record(session, user, MEMBERSHIPS_CHANGED, by=by, now=now, before=before, after=after)
    announce(session, outbox, user)
    return user, await _end_logins(session, user, now=now)


async def set_active(
    session: AsyncSession,
    officer_id: str,
    active: bool,
    *,
    by: str,
    now: datetime,
    outbox: Outbox,
) -> tuple[User, list[uuid.UUID]]:
    """Deactivate (every login ends; the account cannot log in) or bring back."""
    user = await officer(session, officer_id, for_update=True)
    if user.is_active == active:
        return user, []
    user.is_active = active
    _record(session, user, ACTIVATED if active else DEACTIVATED, by=by, now=now)
    announce(session, outbox, user)
    return user, [] if active else await _end_logins(session, user, now=now)


async def reset_password(
    session: AsyncSession, officer_id: str, *, by: str, hasher: PasswordHasher, now: datetime
) -> tuple[User, str, list[uuid.UUID]]:
    """A new one-time password; the old one and every login end."""
    user = await officer(session, officer_id, for_update=True)
    password = one_time_password()
    user.password_hash = await hasher.hash(password)
    user.password_must_change = True
    _record(session, user, PASSWORD_RESET, by=by, now=now)
    return user, password, await _end_logins(session, user, now=now)


async def change_password(
    session: AsyncSession, body: PasswordChange, *, hasher: PasswordHasher, now: datetime
) -> tuple[User, list[uuid.UUID]]:
    """The owner's new password, proven by the current one; the logins it ended."""
    user = await repository.get_user_by_username(session, body.username, for_update=True)
    if user is None:
        await hasher.verify_unknown_user(body.current_password)
        raise Unauthorized(WRONG)
    if not user.is_active or not await hasher.verify(user.password_hash, body.current_password):
        raise Unauthorized(WRONG)
    if body.new_password in (body.current_password, user.username):
        raise Unprocessable(
            "Mật khẩu mới chưa hợp lệ.",
            errors=[{"location": "body", "pointer": "#/new_password",
                     "message": "Phải khác mật khẩu cũ và tên đăng nhập."}],
        )  # fmt: skip
    user.password_hash = await hasher.hash(body.new_password)
    user.password_must_change = False
    _record(session, user, PASSWORD_CHANGED, by=str(user.id), now=now)
    return user, await _end_logins(session, user, now=now)
