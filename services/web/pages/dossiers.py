"""A citizen's dossiers: the list, and each dossier's page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.web.visit import Visit

router = APIRouter(include_in_schema=False)
CURSOR_LIMIT = 500


@router.get("/ho-so")
async def my_dossiers(request: Request) -> Response:
    visit = Visit(request)
    visit.require_login()
    params: dict[str, str | int] = {"limit": visit.web.settings.page_size}
    cursor = request.query_params.get("sau", "")[:CURSOR_LIMIT]
    if cursor:
        params["cursor"] = cursor
    listed = await visit.get("/api/v1/dossiers", signed=True, params=params)
    return visit.render("my_dossiers.html", dossiers=listed["items"],
                        next_cursor=listed.get("next_cursor"))  # fmt: skip
