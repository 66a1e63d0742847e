"""Accounts: authentication and creation."""

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import repository
from services.gateway.models import OfficerMembership, User
from services.gateway.schemas import AccountSeed
from shared.auth import AgencyMembership, PasswordHasher, Principal
from shared.errors import Unauthorized


def principal_of(user: User) -> Principal:
    return Principal(
        subject=str(user.id),
        username=user.username,
        role=user.role,
        agencies=tuple(
            AgencyMembership(agency_code=m.agency_code, position=m.position)
            for m in user.memberships
        ),
    )


async def authenticate(
    session: AsyncSession, *, username: str, password: str, hasher: PasswordHasher
) -> Principal:
    """The principal for these credentials, or ``Unauthorized`` (never saying which part failed)."""
    user = await repository.get_user_by_username(session, username)
    if user is None:
        # Spend the same time as a real check: a wrong username and a wrong password
        # must not be told apart.
        await hasher.verify_unknown_user(password)
        raise Unauthorized("Tên đăng nhập hoặc mật khẩu không đúng.")
    if not await hasher.verify(user.password_hash, password) or not user.is_active:
        raise Unauthorized("Tên đăng nhập hoặc mật khẩu không đúng.")
    if hasher.needs_rehash(user.password_hash):
        user.password_hash = await hasher.hash(password)
    return principal_of(user)


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
