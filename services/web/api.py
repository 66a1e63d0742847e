"""The pages' one way to the platform: the public API ``/api/v1``.

The API is called in this process, through the gateway's own entry (so its rate
limits, token checks and routing hold for a page exactly as for any client), and each
call arrives as the browser's request would: from the browser's address, with its
forwarding header and its request id. Nothing here reads a service's tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.types import ASGIApp

from shared.errors import STATUS_TITLES
from shared.logging import REQUEST_ID_HEADER

# The address the in-process calls are made to; only the path reaches the gateway.
BASE_URL = "http://onestop.internal"
CLIENT_EXTENSION = "onestop.client"


@dataclass(frozen=True)
class Caller:
    """Who a call is made for: the browser whose request the page is answering."""

    address: tuple[str, int]
    forwarded_for: str | None = None
    request_id: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.forwarded_for is not None:
            headers["x-forwarded-for"] = self.forwarded_for
        if self.request_id is not None:
            headers[REQUEST_ID_HEADER] = self.request_id
        return headers


class ApiError(Exception):
    """An answer of 400 or more, with its problem details (RFC 9457)."""

    def __init__(self, status: int, problem: Mapping[str, Any], headers: httpx.Headers) -> None:
        self.status = status
        self.title: str = str(problem.get("title") or STATUS_TITLES.get(status, "Lỗi"))
        self.detail: str | None = problem.get("detail")
        errors = problem.get("errors")
        self.errors: list[Mapping[str, Any]] = errors if isinstance(errors, list) else []
        self.retry_after: str | None = headers.get("retry-after")
        super().__init__(f"{status} {self.title}")

    @classmethod
    def of(cls, response: httpx.Response) -> ApiError:
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        return cls(response.status_code, problem if isinstance(problem, dict) else {},
                   response.headers)  # fmt: skip

    def field_errors(self) -> dict[str, str]:
        """The message for each field at fault, by its JSON pointer without ``#``
        (``/applicant/full_name``), as the forms name their fields."""
        found: dict[str, str] = {}
        for error in self.errors:
            pointer = str(error.get("pointer") or "")
            message = str(error.get("message") or error.get("detail") or "")
            if pointer and message:
                found.setdefault(pointer.removeprefix("#"), message)
        return found


class CallerTransport(httpx.AsyncBaseTransport):
    """Hands each request to the gateway's ASGI entry with the browser's address as the
    client, which is what its per-address limits count."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.app is None:
            raise RuntimeError("the pages were not given the API to call")
        address = request.extensions.get(CLIENT_EXTENSION, ("127.0.0.1", 0))
        transport = httpx.ASGITransport(app=self.app, client=address)
        return await transport.handle_async_request(request)


class Api:
    """An HTTP client of ``/api/v1`` bound to the gateway that serves the pages."""

    def __init__(self, *, timeout: float) -> None:
        self._transport = CallerTransport()
        self._client = httpx.AsyncClient(
            transport=self._transport, base_url=BASE_URL, timeout=timeout, trust_env=False
        )

    def bind(self, app: ASGIApp) -> None:
        """The gateway, made after the pages it serves (the composition calls this)."""
        self._transport.app = app

    async def request(
        self,
        caller: Caller,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        sent = caller.headers()
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        if headers:
            sent.update(headers)
        return await self._client.request(
            method, path, headers=sent, extensions={CLIENT_EXTENSION: caller.address}, **kwargs
        )

    async def close(self) -> None:
        await self._client.aclose()
