"""A citizen's account by their personal ID number, for the desk filing a dossier for
them at the counter: the dossier is then linked to the account, and the citizen follows
it online. Only desk officers and admins ask; the answer is the account's id and name,
nothing else of it."""

from typing import Annotated

from fastapi import APIRouter, Query

from services.gateway import repository
from shared.access import Grant, allow
from shared.auth import CurrentPrincipal, Position, Role
from shared.contracts.agencies import CitizenAccount
from shared.db import ReadSessionDep
from shared.errors import Forbidden

router = APIRouter(prefix="/api/v1/citizens", tags=["accounts"])


@router.get("", response_model=list[CitizenAccount], **allow(Grant.OFFICER, Grant.ADMIN))
async def citizen_by_id_number(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    id_number: Annotated[
        str, Query(pattern=r"^\d{12}$", max_length=12, description="số định danh cá nhân")
    ],
) -> list[CitizenAccount]:
    """The active citizen account of this ID number: one, or none."""
    desk = any(m.position is Position.DESK for m in principal.agencies)
    if principal.role is not Role.ADMIN and not (principal.role is Role.OFFICER and desk):
        raise Forbidden("Chỉ cán bộ một cửa tra cứu tài khoản của công dân.")
    user = await repository.get_user_by_username(session, id_number)
    if user is None or user.role is not Role.CITIZEN or not user.is_active:
        return []
    return [CitizenAccount(id=str(user.id), full_name=user.full_name)]
