"""Dossier codes: ``<receiving agency>-<yyMMdd>-<NNNN>`` (DESIGN §6, TT 01/2018 Điều 19).

The date is the local day of submission in Vietnam; the number counts that agency's
dossiers of that day from 0001. The counter is one upsert that returns the new value,
so it costs one round trip and holds the agency's row lock until the transaction ends.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import DossierCounter
from shared.worktime import VIETNAM

ZONE = ZoneInfo(VIETNAM)


def format_code(agency_code: str, day: date, number: int) -> str:
    # Four digits as the circular shows; a desk past 9,999 dossiers a day gets more
    # digits rather than a repeat.
    return f"{agency_code}-{day:%y%m%d}-{number:04d}"


async def next_code(session: AsyncSession, *, agency_code: str, at: datetime) -> str:
    """The next code of ``agency_code`` for the local day of ``at``, in the caller's
    transaction (it is only taken if that transaction commits)."""
    day = at.astimezone(ZONE).date()
    values = {"agency_code": agency_code, "day": day, "last_number": 1}
    keys = [DossierCounter.agency_code, DossierCounter.day]
    increment = {"last_number": DossierCounter.last_number + 1}
    statement: postgresql.Insert | sqlite.Insert
    if session.get_bind().dialect.name == "postgresql":
        statement = postgresql.insert(DossierCounter).values(values)
        statement = statement.on_conflict_do_update(index_elements=keys, set_=increment)
    else:
        statement = sqlite.insert(DossierCounter).values(values)
        statement = statement.on_conflict_do_update(index_elements=keys, set_=increment)
    returning = statement.returning(DossierCounter.last_number)
    number = (await session.execute(returning)).scalar_one()
    return format_code(agency_code, day, number)
