"""Forwarding ``/api/v1/...`` to the services, kept lean on purpose.

The forwarding path is plain ASGI, not a FastAPI route: no request parsing, no
validation, no response model, the body passed through as bytes. Measured on one core
(bench/gateway.py, results in bench/RESULTS.md), a FastAPI route forwarding through
httpx reaches a few percent of the backend's throughput; this path much more.

Two kinds of upstream share one interface:
- ``AsgiUpstream`` calls a service app in the same process (embedded mode): no
  sockets, no copies, the same scope handed on.
- ``HttpUpstream`` sends over pooled keep-alive connections with the lean client of
  ``shared.http1`` (distributed mode). Typed calls to the same service
  (health, later lookups) go through a pooled httpx client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import tracing
from shared.errors import RETRY_AFTER_SECONDS, problem_response
from shared.http import create_http_client
from shared.http1 import pool_for

# Headers that describe one connection, not the message (RFC 9110 §7.6.1).
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"expect",  # the gateway reads the body itself; no 100-continue dance upstream
    }
)
# Framing is redone for the caller; the gateway's middleware adds its own request id.
RESPONSE_DROPPED = HOP_BY_HOP | {b"x-request-id"}
# Bodies up to this size are read whole and sent with a Content-Length; larger ones
# stream through in chunks without being held in memory.
BUFFERED_BODY_LIMIT = 64 * 1024


class Upstream(Protocol):
    name: str
    client: httpx.AsyncClient

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def forward(self, scope: Scope, receive: Receive, send: Send) -> None: ...


def _without_request_id(send: Send) -> Send:
    """The service answers with its own X-Request-ID; the gateway's middleware adds it once."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [h for h in message["headers"] if h[0] != b"x-request-id"]
        await send(message)

    return wrapped


TOO_LARGE = "Dữ liệu gửi lên vượt quá giới hạn cho phép."
DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024


def declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


# What the gateway answers of its own, by status: the problem's type, and for a service
# it cannot reach, when to try again (as a service whose store is away answers).
PROBLEMS: dict[int, tuple[str, dict[str, str] | None]] = {
    413: ("payload-too-large", None),
    503: ("service-unavailable", {"Retry-After": str(RETRY_AFTER_SECONDS)}),
    504: ("upstream-timeout", None),
}


async def send_problem(send: Send, status: int, detail: str, *, service: str) -> None:
    slug, headers = PROBLEMS[status]
    response = problem_response(status, detail=detail, slug=slug, headers=headers, service=service)
    await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


class AsgiUpstream:
    """A service app in the same process."""

    def __init__(
        self, name: str, app: ASGIApp, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    ) -> None:
        self.name = name
        self.app = app
        self._max_body_bytes = max_body_bytes
        self.client = create_http_client(
            f"http://{name}.internal", transport=httpx.ASGITransport(app=app)
        )

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        await self.client.aclose()

    async def forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A shallow copy of the scope: the service's router writes its own keys into it.
        await call_capped(
            self.app, dict(scope), receive, _without_request_id(send),
            max_body_bytes=self._max_body_bytes, service=self.name,
        )  # fmt: skip


async def call_capped(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, *, max_body_bytes: int, service: str
) -> None:
    """``app`` with the request's body capped at ``max_body_bytes``: 413 when it says it
    is larger, or when more arrives (the app then sees the caller hang up)."""
    declared = declared_length(scope)
    if declared is not None and declared > max_body_bytes:
        await send_problem(send, 413, TOO_LARGE, service=service)
        return
    received = 0
    overflow = started = False

    async def counted_receive() -> Message:
        nonlocal received, overflow
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_body_bytes:
                overflow = True
                return {"type": "http.disconnect"}
        return message

    async def tracked_send(message: Message) -> None:
        nonlocal started
        if overflow and not started:
            return  # the app's answer to the hang-up; the caller gets a 413 instead
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, counted_receive, tracked_send)
    except Exception:
        if not overflow:
            raise
    if overflow and not started:
        await send_problem(send, 413, TOO_LARGE, service=service)


class BodyTooLarge(Exception):
    """A streamed request body passed the size cap."""


class HttpUpstream:
    """A service over HTTP: pooled keep-alive connections on the lean client of ``http1``."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        connect_timeout: float = 2.0,
        read_timeout: float = 30.0,
        max_connections: int = 200,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        pool = pool_for(
            self.base_url,
            max_connections=max_connections,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        if pool is None:
            raise ValueError(f"{name}: an upstream is http://host:port, got {base_url!r}")
        self._pool = pool
        self._max_body_bytes = max_body_bytes
        self.client = create_http_client(
            self.base_url,
            timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=30, pool=5),
        )

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        await self.client.aclose()
        await self._pool.close()

    async def forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        target = scope.get("raw_path") or scope["path"].encode()
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        lines = [
            b"%s %s HTTP/1.1\r\nhost: %s\r\n" % (method.encode(), target, self._pool.host_header)
        ]
        content_length: int | None = None
        chunked = False
        dropped = HOP_BY_HOP | _nominated(scope["headers"])
        for name, value in scope["headers"]:
            if name in dropped:
                chunked = chunked or name == b"transfer-encoding"
                continue
            if name == b"content-length":
                content_length = int(value) if value.isdigit() else None
                continue
            lines.append(b"%s: %s\r\n" % (name, value))
        client = scope.get("client")
        if client:
            lines.append(b"x-forwarded-for: %s\r\n" % client[0].encode())
        lines.append(b"x-forwarded-proto: %s\r\n" % scope.get("scheme", "http").encode())
        for name, value in tracing.outgoing().items():  # the trace goes on in the service
            lines.append(b"%s: %s\r\n" % (name.encode(), value.encode()))

        if content_length is not None and content_length > self._max_body_bytes:
            await send_problem(send, 413, TOO_LARGE, service=self.name)
            return
        body: bytes | AsyncIterator[bytes] | None = None
        if content_length is not None and content_length <= BUFFERED_BODY_LIMIT:
            body = await _read_body(receive) if content_length else b""
            lines.append(b"content-length: %d\r\n" % len(body))
        elif content_length is not None or chunked:
            body = self._stream_body(receive)
            lines.append(b"transfer-encoding: chunked\r\n")
        elif method in ("POST", "PUT", "PATCH"):
            lines.append(b"content-length: 0\r\n")
        lines.append(b"\r\n")

        try:
            exchange = await self._pool.request(b"".join(lines), body)
        except BodyTooLarge:
            await send_problem(send, 413, TOO_LARGE, service=self.name)
            return
        except TimeoutError:
            await send_problem(
                send, 504, f"Dịch vụ {self.name} không phản hồi kịp.", service=self.name
            )
            return
        except ConnectionError:
            await send_problem(
                send, 503, f"Không kết nối được dịch vụ {self.name}.", service=self.name
            )
            return
        head = exchange.head
        await send(
            {
                "type": "http.response.start",
                "status": head.status,
                "headers": [h for h in head.headers if h[0] not in RESPONSE_DROPPED],
            }
        )
        if method == "HEAD":
            exchange.abandon()  # no body follows a HEAD answer, whatever its headers say
            await send({"type": "http.response.body", "body": b""})
            return
        async for chunk in exchange.body():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _stream_body(self, receive: Receive) -> AsyncIterator[bytes]:
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self._max_body_bytes:
                raise BodyTooLarge
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return


def _nominated(headers: list[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Headers the caller's ``Connection`` header names as connection-only (RFC 9110 §7.6.1)."""
    names = [
        token.strip().lower()
        for name, value in headers
        if name == b"connection"
        for token in value.split(b",")
    ]
    return frozenset(names)


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return parts[0] if len(parts) == 1 else b"".join(parts)
