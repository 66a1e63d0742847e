"""Forwarding ``/api/v1/...`` to the services, kept lean on purpose.

The forwarding path is plain ASGI, not a FastAPI route: no request parsing, no
validation, no response model, the body passed through as bytes. Measured on one core
(bench/gateway.py), a FastAPI route forwarding through httpx's default transport
reaches a few percent of the backend's throughput; this path reaches about half.

Two kinds of upstream share one interface:
- ``AsgiUpstream`` calls a service app in the same process (embedded mode): no
  sockets, no copies, the same scope handed on.
- ``HttpUpstream`` uses one pooled aiohttp session per service (distributed mode).
  Typed calls to the same service (health, later lookups) go through an httpx client
  backed by that same session, so each service has one connection pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from yarl import URL

from shared.errors import problem_response
from shared.http import create_http_client

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
    }
)
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


class AsgiUpstream:
    """A service app in the same process."""

    def __init__(self, name: str, app: ASGIApp) -> None:
        self.name = name
        self.app = app
        self.client = create_http_client(
            f"http://{name}.internal", transport=httpx.ASGITransport(app=app)
        )

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        await self.client.aclose()

    async def forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A shallow copy: the service's router writes its own keys into the scope.
        await self.app(dict(scope), receive, _without_request_id(send))


class BodyTooLarge(Exception):
    pass


class _Overflow:
    """Set when a streamed request body passed the size cap."""

    exceeded = False


class HttpUpstream:
    """A service over HTTP, through one pooled aiohttp session."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        connect_timeout: float = 2.0,
        read_timeout: float = 30.0,
        max_connections: int = 200,
        max_body_bytes: int = 25 * 1024 * 1024,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_read=read_timeout
        )
        self._max_connections = max_connections
        self._max_body_bytes = max_body_bytes
        self._session: aiohttp.ClientSession | None = None
        self.client = create_http_client(
            self.base_url, transport=AiohttpTransport(client=self._get_session)
        )

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, keepalive_timeout=60),
                timeout=self._timeout,
                auto_decompress=False,  # pass compressed bodies through as they are
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            )
        return self._session

    async def start(self) -> None:
        self._get_session()

    async def close(self) -> None:
        await self.client.aclose()
        if self._session is not None:
            await self._session.close()

    async def forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = self._get_session()
        raw_path = scope.get("raw_path") or scope["path"].encode()
        target = self.base_url.encode() + raw_path
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        headers: list[tuple[str, str]] = []
        content_length: int | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name in HOP_BY_HOP:
                chunked = chunked or (name == b"transfer-encoding")
                continue
            if name == b"content-length":
                content_length = int(value) if value.isdigit() else None
            headers.append((name.decode("latin-1"), value.decode("latin-1")))
        client = scope.get("client")
        if client:
            headers.append(("X-Forwarded-For", client[0]))
        headers.append(("X-Forwarded-Proto", scope.get("scheme", "http")))

        if content_length is not None and content_length > self._max_body_bytes:
            await self._problem(send, 413, "Dữ liệu gửi lên vượt quá giới hạn cho phép.")
            return
        body: bytes | AsyncIterator[bytes] | None = None
        overflow = _Overflow()
        if content_length is not None and content_length <= BUFFERED_BODY_LIMIT:
            body = await _read_body(receive) if content_length else None
        elif content_length is not None or chunked:
            body = self._stream_body(receive, overflow)

        started = False
        try:
            async with session.request(
                scope["method"],
                URL(target.decode("latin-1"), encoded=True),
                headers=headers,
                data=body,
                allow_redirects=False,
            ) as response:
                response_headers = [
                    (name.lower(), value)
                    for name, value in response.raw_headers
                    if name.lower() not in HOP_BY_HOP and name.lower() != b"x-request-id"
                ]
                await send(
                    {
                        "type": "http.response.start",
                        "status": response.status,
                        "headers": response_headers,
                    }
                )
                started = True
                async for chunk in response.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except BodyTooLarge:
            if not started:
                await self._problem(send, 413, "Dữ liệu gửi lên vượt quá giới hạn cho phép.")
        except (TimeoutError, aiohttp.ServerTimeoutError):
            if started:
                raise
            await self._problem(send, 504, f"Dịch vụ {self.name} không phản hồi kịp.")
        except aiohttp.ClientError:
            if started:
                raise
            if overflow.exceeded:  # aiohttp reports the body generator's error as its own
                await self._problem(send, 413, "Dữ liệu gửi lên vượt quá giới hạn cho phép.")
                return
            await self._problem(send, 503, f"Không kết nối được dịch vụ {self.name}.")

    async def _stream_body(self, receive: Receive, overflow: _Overflow) -> AsyncIterator[bytes]:
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self._max_body_bytes:
                overflow.exceeded = True
                raise BodyTooLarge
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return

    async def _problem(self, send: Send, status: int, detail: str) -> None:
        response = problem_response(status, detail=detail, service=self.name)
        await send(
            {"type": "http.response.start", "status": status, "headers": response.raw_headers}
        )
        await send({"type": "http.response.body", "body": response.body})


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
