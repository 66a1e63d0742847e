"""A lean HTTP/1.1 client for calls between the platform's services: pooled keep-alive
connections (the gateway's forwarding, intake's calls to documents).

Why not aiohttp or httpx here: measured on this machine, one GET through aiohttp's
client costs about 160 µs of CPU and through httpx more, while the bytes themselves
(write the head, parse the answer) cost about 45 µs. The gateway shares its CPU with
the services, so that difference decides whether the gateway is the bottleneck
(bench/gateway.py measures all of them). Parsing is left to ``httptools``, the parser
uvicorn itself uses; this module only frames requests, pools connections and turns
parser callbacks into ASGI messages.

Scope, on purpose: requests to the platform's own services (HTTP/1.1, uvicorn on the
other side), and the documents' small uploads to the S3 server over plain HTTP
(``shared/storage.py``: one signed PUT, a whole body, a short answer). Bodies stream
both ways with back-pressure; a request body of unknown length is sent chunked.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import httptools

from shared import tracing
from shared.logging import REQUEST_ID_HEADER, current_request_id

# Messages the parser hands to the waiting request: (kind, value).
_HEAD, _BODY, _DONE, _LOST = 0, 1, 2, 3
# Pause reading from the service while this many body chunks wait for a slow client.
_HIGH_WATER, _LOW_WATER = 16, 4


class UpstreamConnectError(ConnectionError):
    """The service could not be reached."""


class UpstreamClosed(ConnectionError):
    """The service closed the connection before answering in full."""


class UpstreamBusy(ConnectionError):
    """No connection to the service came free in time (every one is in use)."""


@dataclass(slots=True)
class ResponseHead:
    status: int
    headers: list[tuple[bytes, bytes]]


class _Connection(asyncio.Protocol):
    """One keep-alive connection; at most one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.events: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()
        self.reusable = True
        self.received_any = False
        self._headers: list[tuple[bytes, bytes]] = []
        self._can_write = asyncio.Event()
        self._can_write.set()
        self._paused = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports have the Transport interface without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received_any = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.reusable = False
            self.events.put_nowait((_LOST, "invalid response"))
            self.close()
            return
        if not self._paused and self.events.qsize() > _HIGH_WATER and self.transport:
            self._paused = True
            self.transport.pause_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._can_write.set()
        self.events.put_nowait((_LOST, exc))

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if not self.parser.should_keep_alive():
            self.reusable = False
        self.events.put_nowait((_HEAD, ResponseHead(status, self._headers)))
        self._headers = []

    def on_body(self, body: bytes) -> None:
        self.events.put_nowait((_BODY, body))

    def on_message_complete(self) -> None:
        self.events.put_nowait((_DONE, None))

    # used by the pool
    async def next_event(self, wait_seconds: float) -> tuple[int, Any]:
        try:
            event = self.events.get_nowait()
        except asyncio.QueueEmpty:
            event = await asyncio.wait_for(self.events.get(), wait_seconds)
        if self._paused and self.events.qsize() <= _LOW_WATER and self.transport:
            self._paused = False
            self.transport.resume_reading()
        return event

    async def write(self, data: bytes, wait_seconds: float) -> None:
        """Send ``data``; if the service stops reading, wait at most ``wait_seconds``
        for it to take them (``TimeoutError``)."""
        if self.transport is None or self.transport.is_closing():
            raise UpstreamClosed("connection closed while sending")
        self.transport.write(data)
        if not self._can_write.is_set():
            await asyncio.wait_for(self._can_write.wait(), wait_seconds)

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()


class ConnectionPool:
    """Keep-alive connections to one service (``host:port``), bounded in number."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        max_connections: int = 200,
        connect_timeout: float = 2.0,
        read_timeout: float = 30.0,
        write_timeout: float = 30.0,
        acquire_timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.host_header = f"{host}:{port}".encode()
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._acquire_timeout = acquire_timeout
        self._idle: collections.deque[_Connection] = collections.deque()
        self._slots = asyncio.Semaphore(max_connections)

    async def _acquire(self) -> tuple[_Connection, bool]:
        """A connection, and whether it was reused (a reused one may have gone stale)."""
        while self._idle:
            connection = self._idle.pop()
            if connection.transport is not None and not connection.transport.is_closing():
                return connection, True
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(_Connection, self.host, self.port), self._connect_timeout
            )
        except (OSError, TimeoutError) as exc:
            raise UpstreamConnectError(f"{self.host}:{self.port}: {exc!r}") from exc
        return protocol, False

    def _release(self, connection: _Connection) -> None:
        if connection.reusable and connection.events.empty():
            connection.parser = httptools.HttpResponseParser(connection)
            connection.received_any = False
            self._idle.append(connection)
        else:
            connection.close()

    async def close(self) -> None:
        while self._idle:
            self._idle.pop().close()

    async def get(self, target: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """A GET answered in full: its status and body (small answers, typed by the
        caller), carrying the request id as ``shared.http``'s clients do. Raises
        ``UpstreamConnectError``, ``UpstreamClosed`` or ``TimeoutError``."""
        request_id = current_request_id()
        if request_id and REQUEST_ID_HEADER not in headers:
            headers = {**headers, REQUEST_ID_HEADER: request_id}
        headers = {**headers, **tracing.outgoing()}  # the trace goes on in the service
        parts = [target, *headers.keys(), *headers.values()]
        if any("\r" in part or "\n" in part for part in parts):
            raise ValueError("a request target or header holds a line break")
        lines = [f"GET {target} HTTP/1.1", f"host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        exchange = await self.request(head, None)
        body = b"".join([chunk async for chunk in exchange.body()])
        return exchange.head.status, body

    async def request(
        self,
        head: bytes,
        body: bytes | AsyncIterator[bytes] | None,
    ) -> Exchange:
        """Send a request (its head already framed) and wait for the response head.
        Raises ``UpstreamBusy`` when no connection comes free in time, and
        ``TimeoutError`` when the service takes neither the request nor answers."""
        try:
            await asyncio.wait_for(self._slots.acquire(), self._acquire_timeout)
        except TimeoutError:
            raise UpstreamBusy(f"{self.host}:{self.port}: every connection is in use") from None
        try:
            for attempt in (1, 2):
                connection, reused = await self._acquire()
                try:
                    if isinstance(body, bytes) or body is None:
                        # One send for head and body: on loopback each send costs a
                        # wake-up of the service, and it would read the head alone.
                        await connection.write(head + body if body else head, self.write_timeout)
                    else:
                        await connection.write(head, self.write_timeout)
                        await _send_chunked(connection, body, self.write_timeout)
                    kind, value = await connection.next_event(self.read_timeout)
                except BaseException:
                    connection.close()
                    raise
                if kind == _HEAD:
                    return Exchange(self, connection, value)
                connection.close()
                # A kept-alive connection closed before any byte of an answer: most
                # often the service had closed it while idle and never saw the request,
                # but it may also have read it, acted, and died before answering. Sent
                # again only when a second delivery does no harm (RFC 9110 §9.2.2): an
                # idempotent method, or a request that carries its Idempotency-Key.
                stale = reused and not connection.received_any
                if not (stale and attempt == 1 and not _is_stream(body) and _repeatable(head)):
                    raise UpstreamClosed(f"{self.host}:{self.port} closed the connection")
            raise AssertionError("unreachable")
        except BaseException:
            self._slots.release()
            raise


def pool_for(url: str, **options: Any) -> ConnectionPool | None:
    """A pool for a service at a plain ``http://host:port``; None for anything this
    client does not speak (TLS, a path prefix)."""
    parsed = urlsplit(url)
    if parsed.scheme != "http" or not parsed.hostname or parsed.path not in ("", "/"):
        return None
    return ConnectionPool(parsed.hostname, parsed.port or 80, **options)


def _is_stream(body: object) -> bool:
    return body is not None and not isinstance(body, bytes)


IDEMPOTENT_METHODS = frozenset({b"GET", b"HEAD", b"OPTIONS", b"TRACE", b"PUT", b"DELETE"})


def _repeatable(head: bytes) -> bool:
    """Whether the request may be delivered twice: its method is idempotent, or it
    carries an Idempotency-Key (the service answers a repeat from its record)."""
    method = head.split(b" ", 1)[0]
    return method in IDEMPOTENT_METHODS or b"\r\nidempotency-key:" in head.lower()


async def _send_chunked(
    connection: _Connection, body: AsyncIterator[bytes], wait_seconds: float
) -> None:
    async for chunk in body:
        if chunk:
            await connection.write(b"%x\r\n%b\r\n" % (len(chunk), chunk), wait_seconds)
    await connection.write(b"0\r\n\r\n", wait_seconds)


class Exchange:
    """A response being received; iterate ``body()`` to the end, then it is released."""

    def __init__(self, pool: ConnectionPool, connection: _Connection, head: ResponseHead) -> None:
        self.head = head
        self._pool = pool
        self._connection = connection
        self._open = True
        self._complete = False  # the whole answer was read: the connection may be reused

    async def body(self) -> AsyncIterator[bytes]:
        try:
            while True:
                kind, value = await self._connection.next_event(self._pool.read_timeout)
                if kind == _BODY:
                    yield value
                elif kind == _DONE:
                    self._complete = True
                    return
                else:
                    raise UpstreamClosed("the service closed the connection mid-response")
        except BaseException:
            self._connection.close()
            raise
        finally:
            self.release()

    def release(self) -> None:
        """Give the connection back (or close it if the response was not read in full:
        the rest of it would otherwise be read as the next request's answer)."""
        if self._open:
            self._open = False
            if not self._complete:
                self._connection.close()
            self._pool._release(self._connection)
            self._pool._slots.release()

    def abandon(self) -> None:
        """The response will not be read (a HEAD answer, an error): close the connection."""
        self._connection.close()
        self.release()
