"""The pages' one way to the platform: the public API ``/api/v1``.

The API is called in this process, through the gateway's own entry (so its rate
limits, token checks and routing hold for a page exactly as for any client), and each
call arrives as the browser's request would: from the browser's address, with its
forwarding header and its request id. Nothing here reads a service's tables.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlencode

import httpx
from starlette.types import ASGIApp, Message

from shared.errors import STATUS_TITLES
from shared.logging import REQUEST_ID_HEADER

# The address the in-process calls are made to; only the path reaches the gateway.
INTERNAL_HOST = "onestop.internal"
BASE_URL = f"http://{INTERNAL_HOST}"
TOO_SLOW = "Hệ thống đang bận, chưa trả lời kịp. Vui lòng thử lại sau ít phút."


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

    @property
    def refused(self) -> bool:
        """The API refused the change as asked (409, 422): nothing changed, and the page
        says why beside what was typed."""
        return self.status in (409, 422)

    def message(self) -> str:
        """What the page says of a refusal: the detail, then each field's problem."""
        problems = "; ".join(self.field_errors().values())
        return " ".join(part for part in (self.detail or self.title, problems) if part)

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


@dataclass(frozen=True)
class Outgoing:
    """A call as the ASGI scope carries it: the path percent-encoded, the query string
    encoded, the header names lower-case."""

    method: str
    raw_path: bytes
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""

    @classmethod
    def read(
        cls, path: str, params: Mapping[str, str | int] | None, headers: dict[str, str]
    ) -> Outgoing:
        """A GET, built here: httpx's request would cost a page a tenth of its time."""
        return cls(
            "GET",
            quote(path, safe="/%:@").encode("ascii"),
            urlencode(params, doseq=True).encode("ascii") if params else b"",
            [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()],
        )

    @classmethod
    async def encoded(cls, request: httpx.Request) -> Outgoing:
        """A call with a body (a form, files, JSON) as httpx encodes it."""
        return cls(
            request.method,
            request.url.raw_path.split(b"?", 1)[0],
            request.url.query,
            [(name.lower(), value) for name, value in request.headers.raw],
            await request.aread(),
        )


def not_found(detail: str) -> ApiError:
    """A page that is not there for this account (404), said as the API would."""
    return ApiError(404, {"title": "Không tìm thấy", "detail": detail}, httpx.Headers())


def forbidden(detail: str) -> ApiError:
    """A page this account may not open (403), said as the API would."""
    return ApiError(403, {"title": "Không có quyền truy cập", "detail": detail}, httpx.Headers())


async def call_asgi(app: ASGIApp, call: Outgoing, *, client: tuple[str, int]) -> httpx.Response:
    """``call`` answered by ``app`` in this process, from ``client``'s address.

    httpx's own ASGI transport does this behind its client, which costs a page about a
    fifth of its time in redirects, cookies and hooks it has no use for here
    (bench/RESULTS.md, web).
    """
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": call.method,
        "scheme": "http",
        "path": unquote(call.raw_path.decode("ascii")),
        "raw_path": call.raw_path,
        "query_string": call.query,
        "root_path": "",
        "headers": call.headers,
        "client": client,
        "server": (INTERNAL_HOST, 80),
    }
    delivered = False
    status, headers, chunks = 500, [], []

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": call.body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], message.get("headers", [])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return httpx.Response(status, headers=headers, content=b"".join(chunks))


class Api:
    """A client of ``/api/v1``, bound to the gateway that serves the pages."""

    def __init__(self, *, timeout: float) -> None:
        self._app: ASGIApp | None = None
        self._timeout = timeout

    def bind(self, app: ASGIApp) -> None:
        """The gateway, made after the pages it serves (the composition calls this)."""
        self._app = app

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
        """The API's answer; 504 as an ``ApiError`` when it takes longer than the
        pages wait (``WEB_API_TIMEOUT_SECONDS``)."""
        if self._app is None:
            raise RuntimeError("the pages were not given the API to call")
        sent = caller.headers()
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        if headers:
            sent.update(headers)
        if method == "GET" and kwargs.keys() <= {"params"}:
            call = Outgoing.read(path, kwargs.get("params"), sent)
        else:
            call = await Outgoing.encoded(
                httpx.Request(method, BASE_URL + path, headers=sent, **kwargs)
            )
        try:
            async with asyncio.timeout(self._timeout):
                return await call_asgi(self._app, call, client=caller.address)
        except TimeoutError:
            raise ApiError(504, {"detail": TOO_SLOW}, httpx.Headers()) from None
