"""The officers of an agency, as the accounts hold them: whom a dossier can be given to.

``GET /api/v1/agencies/{code}/officers`` is the gateway's (it owns the accounts), not the
catalogue's like the rest of ``/api/v1/agencies``: ``main.OWN_API`` keeps it here.
"""

from typing import Annotated

from fastapi import APIRouter, Path

from services.gateway import repository
from shared.access import Grant, allow
from shared.auth import POSITION_LABELS, CurrentPrincipal, Role
from shared.contracts.agencies import AgencyOfficer
from shared.db import ReadSessionDep
from shared.errors import NotFound

router = APIRouter(prefix="/api/v1/agencies", tags=["agencies"])
AgencyCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9.\-]{1,30}$")]


@router.get(
    "/{code}/officers", response_model=list[AgencyOfficer], **allow(Grant.AGENCY, Grant.ADMIN)
)
async def agency_officers(
    session: ReadSessionDep, principal: CurrentPrincipal, code: AgencyCode
) -> list[AgencyOfficer]:
    """The agency's active officers by name, each with their position in it: for its own
    officers (whom to assign a dossier to) and admins; 404 for other officers."""
    if principal.role is not Role.ADMIN and not principal.is_member_of(code):
        raise NotFound(f"Không có cơ quan {code}.")
    rows = await repository.agency_officers(session, code)
    return [
        AgencyOfficer(
            id=str(row.id),
            username=row.username,
            full_name=row.full_name,
            position=row.position,
            position_label=POSITION_LABELS[row.position],
        )
        for row in rows
    ]
