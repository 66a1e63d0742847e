"""Editing agencies (admin): a new agency, its name, level, parent, address and calendar,
and the procedures its one-stop desk offers. Each change of an agency is announced
(``agency.upserted``: tracking learns the calendar it follows) in the same transaction.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.procedures import events as procedure_events
from services.procedures import repository
from services.procedures.models import Agency
from services.procedures.schemas import AgencyEdit, AgencyIn
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events import Outbox


def _invalid(pointer: str, message: str) -> Unprocessable:
    return Unprocessable(message, errors=[{"pointer": pointer, "message": message}])


async def _check_parent(session: AsyncSession, code: str, parent_code: str | None) -> None:
    """The parent exists and is neither the agency nor below it (no cycle)."""
    seen = {code}
    current = parent_code
    while current is not None:
        if current in seen:
            raise _invalid("#/parent_code", "Cơ quan cấp trên không thể là chính nó hoặc cấp dưới.")
        seen.add(current)
        parent = await repository.get_agency(session, current)
        if parent is None:
            raise _invalid("#/parent_code", "Không có cơ quan cấp trên mã này.")
        current = parent.parent_code


async def create(session: AsyncSession, outbox: Outbox, body: AgencyIn) -> Agency:
    if await repository.get_agency(session, body.code) is not None:
        raise Conflict(f"Đã có cơ quan mã {body.code}.")
    await _check_parent(session, body.code, body.parent_code)
    agency = Agency(**body.model_dump())
    session.add(agency)
    await session.flush()
    procedure_events.agency_upserted(session, outbox, agency)
    return agency


async def update(session: AsyncSession, outbox: Outbox, code: str, body: AgencyEdit) -> Agency:
    agency = await repository.get_agency(session, code)
    if agency is None:
        raise NotFound(f"Không có cơ quan mã {code}.")
    await _check_parent(session, code, body.parent_code)
    for name, value in body.model_dump().items():
        setattr(agency, name, value)
    await session.flush()
    procedure_events.agency_upserted(session, outbox, agency)
    return agency


async def offered(session: AsyncSession, code: str) -> list[str]:
    if await repository.get_agency(session, code) is None:
        raise NotFound(f"Không có cơ quan mã {code}.")
    return await repository.offered_codes(session, code)


async def set_offered(session: AsyncSession, code: str, procedures: list[str]) -> list[str]:
    """Replace what the agency's desk offers; every code must be a procedure."""
    if await repository.get_agency(session, code) is None:
        raise NotFound(f"Không có cơ quan mã {code}.")
    wanted = list(dict.fromkeys(procedures))
    known = await repository.procedure_codes_among(session, wanted)
    unknown = [
        {"pointer": f"#/procedures/{index}", "message": f"Không có thủ tục mã {value}."}
        for index, value in enumerate(procedures)
        if value not in known
    ]
    if unknown:
        raise Unprocessable("Có mã thủ tục không tồn tại.", errors=unknown)
    await repository.replace_offered(session, code, wanted)
    return sorted(wanted)
