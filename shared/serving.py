"""Serving a service's app with uvicorn, with its writes coalesced.

uvicorn writes a response's head and its body in two sends. Between the platform's
services on one machine each send is a wake-up of the reader, which then reads the head
alone and waits for the body: measured on the submission path (bench/intake.py), those
second sends and reads were a visible share of every hop's CPU. ``CoalescingProtocol``
hands uvicorn a transport that joins the writes made in one turn of the event loop into
one send at the end of that turn; nothing waits longer than the turn.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Past this many pending bytes a write goes out at once (a large body needs no company).
_SEND_NOW = 64 * 1024


class CoalescingTransport:
    """A transport whose writes in one loop turn leave in one send, in order."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self._pending.append(bytes(data))
        self._size += len(data)
        if self._size >= _SEND_NOW:
            self.flush()

    def writelines(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._size = 0
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._size + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        # Everything else (flow control, extra info, set_protocol) is the real transport's.
        return getattr(self._transport, name)


class CoalescingProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a ``CoalescingTransport``."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(CoalescingTransport(transport))  # type: ignore[arg-type]


def config(app: Any, *, host: str, port: int, **options: Any) -> uvicorn.Config:
    """How every process of the platform is served: coalesced writes, our JSON logs
    (configured by the caller), no ``Server`` header telling what runs it."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=CoalescingProtocol,
        log_config=None,
        access_log=False,
        server_header=False,
        **options,
    )


def freeze_heap() -> None:
    """Move what exists now (modules, the app, its pools and caches) out of the garbage
    collector's sight: a full collection then walks only what requests made. Measured on
    the web pages (bench/RESULTS.md, web): a full collection of the embedded platform's
    heap took 126 ms, a page's latency spike every few seconds."""
    gc.collect()
    gc.freeze()


def serve(app: Any, *, host: str, port: int) -> None:
    """Run ``app`` until stopped; exit 3 (as ``uvicorn.run``) if it could not start."""
    freeze_heap()
    server = uvicorn.Server(config(app, host=host, port=port))
    server.run()
    if not server.started:
        sys.exit(3)
