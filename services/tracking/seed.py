"""The national calendar: official decisions for 2024–2026 and the `holidays` package after."""

from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking import national, repository
from services.tracking.calendars import serialise_week
from services.tracking.models import NATIONAL, Calendar, CalendarChange, CalendarDay
from services.tracking.schemas import SessionModel
from shared.worktime import STANDARD_WEEK, VIETNAM

NATIONAL_NAME = "Lịch làm việc chung của cơ quan hành chính nhà nước"
DECISION = (
    "Lịch nghỉ lễ, Tết chính thức 2024–2026 (vn-calendar.yaml, có nguồn từng năm); "
    f"các năm sau theo {national.PACKAGE} cho đến khi có quyết định của năm"
)


def national_rows() -> tuple[Calendar, list[CalendarDay], list[national.Disagreement]]:
    """The national calendar as rows (not yet added to any session)."""
    entries, disagreements = national.build()
    calendar = Calendar(
        code=NATIONAL,
        name=NATIONAL_NAME,
        parent_code=None,
        timezone=VIETNAM,
        week=serialise_week(
            {
                day: [SessionModel(start=s.start, end=s.end) for s in sessions]
                for day, sessions in STANDARD_WEEK.items()
            }
        ),
        first_day=date(national.FIRST_YEAR, 1, 1),
        last_day=date(national.LAST_YEAR, 12, 31),
        version=1,
    )
    days = [
        CalendarDay(
            calendar_code=NATIONAL,
            day=entry.day,
            working=entry.working,
            name=entry.name,
            kind=entry.kind,
            source=entry.source,
            status=entry.status,
        )
        for entry in entries
    ]
    return calendar, days, disagreements


async def seed(session: AsyncSession) -> dict[str, int]:
    """The national calendar, once; later edits are the admins', never overwritten."""
    if await repository.get_calendar(session, NATIONAL) is not None:
        return {"calendars": 0, "days": 0}
    calendar, days, disagreements = national_rows()
    session.add(calendar)
    await session.flush()
    session.add_all(days)
    session.add(
        CalendarChange(
            calendar_code=NATIONAL,
            version=1,
            changed_by="seed",
            changed_at=datetime.now(UTC),
            decision=DECISION,
            changes=[
                {
                    "day": d.day.isoformat(),
                    "package": d.package,
                    "official": d.official,
                    "outcome": d.outcome,
                }
                for d in disagreements
            ],
        )
    )
    return {"calendars": 1, "days": len(days)}
