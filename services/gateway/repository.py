"""Every query of the gateway."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.gateway.models import User


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(
        select(User).where(User.username == username).options(selectinload(User.memberships))
    )


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.scalar(
        select(User).where(User.id == user_id).options(selectinload(User.memberships))
    )


async def existing_usernames(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(User.username))).all())


def add_user(session: AsyncSession, user: User) -> None:
    session.add(user)
