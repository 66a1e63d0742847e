"""The pages' routes: plain Starlette routes, each handler given the visit and the
path's parameters. FastAPI's dependency machinery has nothing to give a page (no body
model, no OpenAPI) and cost a tenth of its time (bench/RESULTS.md, web)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.web.visit import Visit

Handler = Callable[..., Awaitable[Response]]


class Pages:
    """A set of pages: ``@pages.get("/thu-tuc/{code}")`` on ``async def f(visit, code)``."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def get(self, path: str) -> Callable[[Handler], Handler]:
        return self._route(path, ["GET"])

    def post(self, path: str) -> Callable[[Handler], Handler]:
        return self._route(path, ["POST"])

    def _route(self, path: str, methods: list[str]) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            async def endpoint(request: Request) -> Response:
                parameters: dict[str, Any] = request.path_params
                return await handler(Visit(request), **parameters)

            self.routes.append(Route(path, endpoint, methods=methods, name=handler.__name__))
            return handler

        return register
