"""The pages anyone may open: the home page and its search, a procedure, the public
lookup of a dossier, the public statistics. Their addresses are fixed: slips, SMS and
other sites link to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from starlette.datastructures import QueryParams
from starlette.responses import Response

from services.web.api import ApiError
from services.web.rendering import LEVELS, ONLINE_LEVELS, processing_time
from services.web.routing import Pages
from services.web.visit import Visit

router = Pages()

ONLINE_FILTERS = {"any": "Có dịch vụ trực tuyến", "full": "Toàn trình", "partial": "Một phần"}
MAX_QUERY = 200


async def fields(visit: Visit) -> dict[str, str]:
    """Each field's name by its code."""

    async def load() -> dict[str, str]:
        listed = await visit.get("/api/v1/fields")
        return {item["code"]: item["name"] for item in listed}

    names: dict[str, str] = await visit.web.reference.get("fields", load)
    return names


async def agencies(visit: Visit) -> dict[str, dict[str, Any]]:
    """Each agency by its code."""

    async def load() -> dict[str, dict[str, Any]]:
        listed = await visit.get("/api/v1/agencies")
        return {item["code"]: item for item in listed}

    found: dict[str, dict[str, Any]] = await visit.web.reference.get("agencies", load)
    return found


async def agency_names(visit: Visit) -> dict[str, str]:
    """Each agency's name by its code."""
    return {code: agency["name"] for code, agency in (await agencies(visit)).items()}


def whole(value: str | None, *, low: int, high: int, default: int) -> int:
    try:
        number = int(value or default)
    except ValueError:
        return default
    return min(max(number, low), high)


@dataclass(frozen=True)
class Search:
    """The home page's search as the address carries it; what it cannot mean is
    dropped rather than refused (an old link still opens)."""

    q: str
    field: str
    level: str
    online: str
    page: int

    @classmethod
    def of(cls, query: QueryParams, known_fields: dict[str, str]) -> Search:
        field = query.get("field", "")
        level = query.get("level", "")
        online = query.get("online", "")
        return cls(
            q=query.get("q", "").strip()[:MAX_QUERY],
            field=field if field in known_fields else "",
            level=level if level in LEVELS else "",
            online=online if online in ONLINE_FILTERS else "",
            page=whole(query.get("page"), low=1, high=10_000, default=1),
        )

    def api_params(self, size: int) -> dict[str, str | int]:
        params: dict[str, str | int] = {"page": self.page, "size": size}
        for name in ("q", "field", "level", "online"):
            if value := getattr(self, name):
                params[name] = value
        return params

    def link(self, page: int) -> str:
        """This search's address at another page."""
        params = {name: getattr(self, name) for name in ("q", "field", "level", "online")}
        params = {name: value for name, value in params.items() if value}
        if page > 1:
            params["page"] = str(page)
        return "/?" + urlencode(params) if params else "/"


def rows_of(items: list[dict[str, Any]], fields: dict[str, str]) -> list[dict[str, Any]]:
    """The search results as the list shows them (labels looked up here, once, rather
    than by the template: a fifth of a page's rendering)."""
    return [
        {
            "code": item["code"],
            "name": item["name"],
            "field": fields.get(item["field_code"], ""),
            "level": LEVELS.get(item["level"], ""),
            "online": ONLINE_LEVELS.get(item["online_level"]) if item["online_level"] != "none"
            else None,
            "time": processing_time(item["processing_time"]),
        }
        for item in items
    ]  # fmt: skip


@router.get("/")
async def home(visit: Visit) -> Response:
    request = visit.request
    names = await fields(visit)
    search = Search.of(request.query_params, names)
    size = visit.web.settings.page_size
    results = await visit.get("/api/v1/procedures", params=search.api_params(size))
    pages = max(1, -(-results["total"] // size))
    context = {
        "search": search,
        "results": results,
        "rows": rows_of(results["items"], names),
        "pages": pages,
        "fields": names,
        "online_filters": ONLINE_FILTERS,
    }
    if visit.partial:
        return visit.render("_procedure_results.html", **context)
    return visit.render("home.html", **context)


@router.get("/thu-tuc/{code}")
async def procedure(visit: Visit, code: str) -> Response:
    found = await visit.get(f"/api/v1/procedures/{quote(code, safe='')}")
    known = await agencies(visit)
    offered_by = [known[c] for c in found.get("offered_by") or [] if c in known]
    return visit.render(
        "procedure.html",
        procedure=found,
        field_name=(await fields(visit)).get(found["field_code"], ""),
        offered_by=offered_by,
    )


@router.get("/tra-cuu")
async def lookup_form(visit: Visit) -> Response:
    request = visit.request
    code = request.query_params.get("ma", "").strip()
    if code:
        return visit.redirect(f"/tra-cuu/{quote(code[:64], safe='')}")
    return visit.render("lookup.html", code="", found=None, missing=False)


@router.get("/tra-cuu/{code}")
async def lookup(visit: Visit, code: str) -> Response:
    try:
        found = await visit.get(f"/api/v1/lookup/{quote(code, safe='')}")
    except ApiError as error:
        if error.status not in (404, 422):
            raise
        return visit.render("lookup.html", status=404, code=code, found=None, missing=True)
    agency = (await agencies(visit)).get(found["agency_code"])
    return visit.render("lookup.html", code=code, found=found, agency=agency, missing=False)


@router.get("/thong-ke")
async def statistics(visit: Visit) -> Response:
    request = visit.request
    group_by = "field" if request.query_params.get("theo") == "linh-vuc" else "agency"
    report = await visit.get("/api/v1/stats/public", params={"group_by": group_by})
    names = (
        await fields(visit)
        if group_by == "field"
        else {code: agency["name"] for code, agency in (await agencies(visit)).items()}
    )
    return visit.render("statistics.html", report=report, names=names, group_by=group_by)
