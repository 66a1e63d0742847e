"""Dossier codes: ``<receiving agency>-<yyMMdd>-<NNNN>`` (DESIGN §6, TT 01/2018 Điều 19).

The date is the local day of submission in Vietnam; the number counts that agency's
dossiers of that day from 0001. The counter is one upsert that returns the new value,
so it costs one round trip and holds the agency's row lock until the transaction ends.
On PostgreSQL a submission takes its number inside the statement that writes the
dossier (``filing``, with ``code_sql``); ``next_code`` serves SQLite and the tests.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Table, Text, bindparam, func
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import DossierCounter
from shared.worktime import VIETNAM

ZONE = ZoneInfo(VIETNAM)


def local_day(at: datetime) -> date:
    return at.astimezone(ZONE).date()


def code_prefix(agency_code: str, day: date) -> str:
    return f"{agency_code}-{day:%y%m%d}-"


def format_code(agency_code: str, day: date, number: int) -> str:
    # Four digits as the circular shows; a desk past 9,999 dossiers a day gets more
    # digits rather than a repeat.
    return f"{code_prefix(agency_code, day)}{number:04d}"


def code_sql(prefix: ColumnElement[str], number: ColumnElement[int]) -> ColumnElement[str]:
    """``format_code`` in SQL, for a statement that takes the number itself (``filing``)."""
    digits = sql_cast(number, Text)
    return prefix + func.lpad(digits, func.greatest(4, func.length(digits)), "0")


def _counter_upsert(dialect: type[postgresql.Insert] | type[sqlite.Insert]) -> object:
    # Built once, on the table rather than the mapped class: an ORM-enabled statement
    # would go through the ORM's bulk path, a third of this call's CPU (bench/intake.py).
    table = cast(Table, DossierCounter.__table__)
    statement = dialect(table).values(
        agency_code=bindparam("agency_code"), day=bindparam("day"), last_number=1
    )
    return statement.on_conflict_do_update(
        index_elements=[table.c.agency_code, table.c.day],
        set_={"last_number": table.c.last_number + 1},
    ).returning(table.c.last_number)


_UPSERTS = {
    "postgresql": _counter_upsert(postgresql.Insert),
    "sqlite": _counter_upsert(sqlite.Insert),
}


async def next_code(session: AsyncSession, *, agency_code: str, at: datetime) -> str:
    """The next code of ``agency_code`` for the local day of ``at``, in the caller's
    transaction (it is only taken if that transaction commits)."""
    day = local_day(at)
    statement = _UPSERTS[session.get_bind().dialect.name]
    result = await session.execute(statement, {"agency_code": agency_code, "day": day})  # type: ignore[call-overload]
    return format_code(agency_code, day, result.scalar_one())
