"""Accounts: authentication, sessions (access and refresh tokens), registration."""

import hashlib
import logging
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import identity, repository
from services.gateway.models import AccountEvent, OfficerMembership, RefreshToken, User
from services.gateway.schemas import AccountSeed, Registration
from shared.auth import AgencyMembership, PasswordHasher, Principal, Role, TokenService
from shared.db import Database
from shared.errors import Conflict, Forbidden, Unauthorized, Unprocessable

logger = logging.getLogger("onestop.gateway.accounts")


def principal_of(user: User) -> Principal:
    return Principal(
        subject=str(user.id),
        username=user.username,
        role=user.role,
        agencies=tuple(
            AgencyMembership(agency_code=m.agency_code, position=m.position)
            for m in user.memberships
        ),
        identity_verified=user.identity_verified_at is not None,
    )


async def authenticate(
    session: AsyncSession, *, username: str, password: str, hasher: PasswordHasher
) -> User:
    """The account of these credentials, or ``Unauthorized`` (never saying which part failed)."""
    user = await repository.get_user_by_username(session, username)
    if user is None:
        # Spend the same time as a real check: a wrong username and a wrong password
        # must not be told apart.
        await hasher.verify_unknown_user(password)
        raise Unauthorized("Tên đăng nhập hoặc mật khẩu không đúng.")
    if not await hasher.verify(user.password_hash, password) or not user.is_active:
        raise Unauthorized("Tên đăng nhập hoặc mật khẩu không đúng.")
    if user.password_must_change:
        raise PasswordChangeRequired(
            "Mật khẩu này chỉ dùng một lần: hãy đặt mật khẩu mới "
            "(POST /api/v1/auth/password) rồi đăng nhập lại."
        )
    if hasher.needs_rehash(user.password_hash):
        user.password_hash = await hasher.hash(password)
    return user


class PasswordChangeRequired(Forbidden):
    """The right one-time password: it only lets its owner set their own."""

    slug = "password-change-required"


async def create_accounts(
    session: AsyncSession, *, accounts: Iterable[AccountSeed], hasher: PasswordHasher
) -> int:
    """Create the accounts that do not exist yet; existing ones are left as they are."""
    existing = await repository.existing_usernames(session)
    created = 0
    for account in accounts:
        if account.username in existing:
            continue
        user = User(
            username=account.username,
            full_name=account.full_name,
            role=account.role,
            password_hash=await hasher.hash(account.password),
            memberships=[
                OfficerMembership(agency_code=m.agency_code, position=m.position)
                for m in account.memberships
            ],
        )
        repository.add_user(session, user)
        existing.add(account.username)
        created += 1
    await session.flush()
    return created


# -- sessions: an access token and a refresh token per login ----------------------------------


@dataclass(frozen=True)
class Issued:
    access_token: str
    refresh_token: str
    expires_in: int  # the access token's seconds


class RefreshReused(Exception):
    """A refresh token came back after it was used: it was copied. Its family (the
    login) must be revoked, in a transaction of its own since the request fails."""

    def __init__(self, family: uuid.UUID) -> None:
        super().__init__(str(family))
        self.family = family


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(
    session: AsyncSession,
    user: User,
    *,
    tokens: TokenService,
    refresh_ttl: timedelta,
    now: datetime,
    family: uuid.UUID | None = None,
) -> Issued:
    """Tokens for ``user``: a short-lived access token and a refresh token of the
    login ``family`` (a new login when None)."""
    family = family or uuid.uuid4()
    secret = secrets.token_urlsafe(32)
    session.add(RefreshToken(token_hash=_digest(secret), family=family, user_id=user.id,
                             created_at=now, expires_at=now + refresh_ttl))  # fmt: skip
    access = tokens.issue(principal_of(user), now=now, session_id=str(family))
    return Issued(access, secret, int(tokens.ttl.total_seconds()))


async def refresh(
    session: AsyncSession,
    secret: str,
    *,
    tokens: TokenService,
    refresh_ttl: timedelta,
    now: datetime,
) -> Issued:
    """New tokens for a refresh token, which is then used up."""
    held = await session.get(RefreshToken, _digest(secret), with_for_update=True)
    if held is None or held.revoked_at is not None or held.expires_at <= now:
        raise Unauthorized(EXPIRED_SESSION)
    if held.used_at is not None:
        raise RefreshReused(held.family)
    user = await repository.get_user(session, held.user_id)
    if user is None or not user.is_active:
        raise Unauthorized(EXPIRED_SESSION)
    held.used_at = now
    return start_session(
        session, user, tokens=tokens, refresh_ttl=refresh_ttl, now=now, family=held.family
    )


async def end_session(session: AsyncSession, family: uuid.UUID, *, now: datetime) -> int:
    """Revoke every refresh token of a login; how many were still live."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


EXPIRED_SESSION = "Phiên đăng nhập đã hết hạn hoặc đã kết thúc. Vui lòng đăng nhập lại."


async def trade_refresh_token(
    session: AsyncSession,
    database: Database,
    secret: str,
    *,
    tokens: TokenService,
    refresh_ttl: timedelta,
    now: datetime,
) -> Issued:
    """``refresh``, and when the token was used before (copied), end its whole login:
    the request's transaction fails, so the revocation commits in one of its own, after
    the request's is ended (its lock on the token's row would stall the revocation)."""
    try:
        return await refresh(session, secret, tokens=tokens, refresh_ttl=refresh_ttl, now=now)
    except RefreshReused as reused:
        await session.rollback()
        async with database.session() as own:
            await end_session(own, reused.family, now=now)
        logger.warning("a refresh token was used twice: its login is ended")
        raise Unauthorized(EXPIRED_SESSION) from None


# -- self-registration --------------------------------------------------------------------------


async def register(
    session: AsyncSession, account: Registration, *, hasher: PasswordHasher, today: date
) -> User:
    """A citizen's account, by their personal identification number."""
    errors = [
        {"location": "body", "pointer": "#/id_number", "message": problem}
        for problem in identity.problems(account.id_number, today=today)
    ]
    if account.password == account.id_number:
        errors.append({"location": "body", "pointer": "#/password",
                       "message": "Mật khẩu không được trùng số định danh."})  # fmt: skip
    if errors:
        raise Unprocessable("Thông tin đăng ký chưa hợp lệ.", errors=errors)
    if await repository.get_user_by_username(session, account.id_number) is not None:
        raise Conflict("Số định danh này đã có tài khoản. Hãy đăng nhập hoặc lấy lại mật khẩu.")
    user = User(
        username=account.id_number,
        full_name=account.full_name.strip(),
        role=Role.CITIZEN,
        password_hash=await hasher.hash(account.password),
        memberships=[],
    )
    repository.add_user(session, user)
    try:
        await session.flush()
    except IntegrityError as exc:  # registered at the same moment
        raise Conflict("Số định danh này đã có tài khoản.") from exc
    return user


# -- the national digital identity (VNeID) ------------------------------------------------------

# An account made by VNeID has no password until the citizen sets one: no hash matches it.
NO_PASSWORD = "!vneid"


async def verified_citizen(
    session: AsyncSession, *, id_number: str, full_name: str, now: datetime
) -> tuple[User, list[uuid.UUID]]:
    """The citizen account of ``id_number``, marked verified now (made if there is none),
    and the logins a takeover ended, whose access tokens the caller must refuse.

    A password account whose number was never verified holds only a claim: anyone can
    register any number. The first verified login for that number takes the account
    over: the password is cleared and every earlier login ended, so that whoever
    registered it cannot see what the citizen does from now on (an account
    pre-hijacking). The takeover is recorded on the account.
    """
    user = await repository.get_user_by_username(session, id_number, for_update=True)
    if user is None:
        user = User(
            username=id_number,
            full_name=full_name.strip() or id_number,
            role=Role.CITIZEN,
            password_hash=NO_PASSWORD,
            identity_verified_at=now,
            memberships=[],
        )
        try:
            async with session.begin_nested():
                repository.add_user(session, user)
                await session.flush()
        except IntegrityError:  # made at the same moment by another login
            user = await repository.get_user_by_username(session, id_number, for_update=True)
            assert user is not None
    if user.role is not Role.CITIZEN or not user.is_active:
        raise Unauthorized("Tài khoản này không đăng nhập bằng VNeID được.")
    ended: list[uuid.UUID] = []
    if user.identity_verified_at is None:
        ended = await take_over(session, user, now=now)
    user.identity_verified_at = now
    return user, ended


async def take_over(session: AsyncSession, user: User, *, now: datetime) -> list[uuid.UUID]:
    """End every credential an unverified account had: its password, its logins."""
    had_password = user.password_hash != NO_PASSWORD
    user.password_hash = NO_PASSWORD
    families = await repository.live_login_families(session, user.id)
    for family in families:
        await end_session(session, family, now=now)
    if had_password or families:
        repository.add_account_event(
            session,
            AccountEvent(user_id=user.id, kind=TAKEN_OVER, at=now,
                         detail={"password_cleared": had_password, "logins_ended": len(families)}),
        )  # fmt: skip
        logger.warning(
            "security event: an unverified account was taken over by a verified identity",
            extra={"event": TAKEN_OVER, "account": str(user.id), "logins_ended": len(families)},
        )
    return families


TAKEN_OVER = "account.taken_over"
