"""Every query of the tracking service."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking.models import (
    Agency,
    Calendar,
    CalendarChange,
    CalendarDay,
    Recomputation,
)


async def get_calendar(
    session: AsyncSession, code: str, *, for_update: bool = False
) -> Calendar | None:
    return await session.get(Calendar, code, with_for_update=for_update)


async def get_agency(session: AsyncSession, code: str) -> Agency | None:
    return await session.get(Agency, code)


async def days_of(session: AsyncSession, codes: Sequence[str]) -> Sequence[CalendarDay]:
    return (
        await session.scalars(
            select(CalendarDay)
            .where(CalendarDay.calendar_code.in_(codes))
            .order_by(CalendarDay.day)
        )
    ).all()


async def changes_of(session: AsyncSession, code: str) -> Sequence[CalendarChange]:
    return (
        await session.scalars(
            select(CalendarChange)
            .where(CalendarChange.calendar_code == code)
            .order_by(CalendarChange.version)
        )
    ).all()


async def layers_over(session: AsyncSession, code: str) -> Sequence[Calendar]:
    return (await session.scalars(select(Calendar).where(Calendar.parent_code == code))).all()


async def all_agencies(session: AsyncSession) -> Sequence[Agency]:
    return (await session.scalars(select(Agency).order_by(Agency.code))).all()


async def recomputations(
    session: AsyncSession, calendar_code: str, version: int
) -> Sequence[Recomputation]:
    return (
        await session.scalars(
            select(Recomputation)
            .where(
                Recomputation.calendar_code == calendar_code,
                Recomputation.calendar_version == version,
            )
            .order_by(Recomputation.dossier_code)
        )
    ).all()
