from typing import Annotated

from fastapi import APIRouter, Query

from services.procedures import service as procedure_service
from services.procedures.models import AgencyLevel
from services.procedures.schemas import AgencyOut
from shared.db import SessionDep

router = APIRouter(prefix="/api/v1", tags=["agencies"])

AGENCY_CODE = r"^[A-Z0-9.]{1,30}$"


@router.get("/agencies", response_model=list[AgencyOut])
async def list_agencies(
    session: SessionDep,
    level: AgencyLevel | None = None,
    parent: Annotated[str | None, Query(pattern=AGENCY_CODE)] = None,
) -> list[AgencyOut]:
    """Agencies with their national codes, optionally by level or parent."""
    agencies = await procedure_service.list_agencies(session, level=level, parent_code=parent)
    return [AgencyOut.model_validate(a) for a in agencies]


@router.get("/agencies/{code}", response_model=AgencyOut)
async def get_agency(session: SessionDep, code: str) -> AgencyOut:
    """One agency by its national code."""
    agency = await procedure_service.get_agency_or_raise(session, code=code)
    return AgencyOut.model_validate(agency)
