"""Every query of the gateway."""

import uuid
from collections.abc import Sequence

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.gateway.models import AccountEvent, OfficerMembership, RefreshToken, User
from shared.auth import Position, Role


async def get_user_by_username(
    session: AsyncSession, username: str, *, for_update: bool = False
) -> User | None:
    query = select(User).where(User.username == username).options(selectinload(User.memberships))
    if for_update:
        query = query.with_for_update(of=User)
    return await session.scalar(query)


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.scalar(
        select(User).where(User.id == user_id).options(selectinload(User.memberships))
    )


async def existing_usernames(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(User.username))).all())


async def any_admin(session: AsyncSession) -> bool:
    found = await session.scalar(select(User.id).where(User.role == Role.ADMIN).limit(1))
    return found is not None


def add_user(session: AsyncSession, user: User) -> None:
    session.add(user)


async def live_login_families(session: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
    """The logins of an account that may still give or hold a token: any with a refresh
    token not yet revoked."""
    query = (
        select(RefreshToken.family)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .distinct()
    )
    return list((await session.scalars(query)).all())


def add_account_event(session: AsyncSession, event: AccountEvent) -> None:
    session.add(event)


async def account_events(session: AsyncSession, user_id: uuid.UUID) -> list[AccountEvent]:
    query = select(AccountEvent).where(AccountEvent.user_id == user_id).order_by(AccountEvent.at)
    return list((await session.scalars(query)).all())


async def agency_officers(
    session: AsyncSession, agency_code: str
) -> Sequence[Row[uuid.UUID, str, str, Position]]:
    """The agency's active officers with their position there, by name."""
    rows = await session.execute(
        select(User.id, User.username, User.full_name, OfficerMembership.position)
        .join(OfficerMembership, OfficerMembership.user_id == User.id)
        .where(
            OfficerMembership.agency_code == agency_code,
            User.role == Role.OFFICER,
            User.is_active.is_(True),
        )
        .order_by(User.full_name, User.username)
    )
    return rows.all()


async def officers(session: AsyncSession, *, agency_code: str | None) -> list[User]:
    """Every officer account (active or not), by name; of one agency when given."""
    query = select(User).where(User.role == Role.OFFICER).options(selectinload(User.memberships))
    if agency_code is not None:
        member = select(OfficerMembership.user_id).where(
            OfficerMembership.agency_code == agency_code
        )
        query = query.where(User.id.in_(member))
    return list((await session.scalars(query.order_by(User.full_name, User.username))).all())


async def get_officer(
    session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False
) -> User | None:
    query = (
        select(User)
        .where(User.id == user_id, User.role == Role.OFFICER)
        .options(selectinload(User.memberships))
    )
    if for_update:
        query = query.with_for_update(of=User)
    return await session.scalar(query)
