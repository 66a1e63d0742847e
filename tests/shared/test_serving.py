"""Serving with coalesced writes: one send per loop turn, in order, nothing held back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI, Response
from fastapi.responses import StreamingResponse

from shared.serving import CoalescingTransport
from tests.servers import serving


class RecordingTransport:
    """What a real transport was asked to do."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.sent.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> Any:
        return f"info:{name}"


async def next_turn() -> None:
    await asyncio.sleep(0)


async def test_writes_of_one_turn_leave_in_one_send() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real)  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"body")
    assert real.sent == []
    await next_turn()
    assert real.sent == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    transport.write(b"next")
    await next_turn()
    assert real.sent[1:] == [b"next"]


async def test_close_sends_what_is_pending_first_and_abort_drops_it() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real)  # type: ignore[arg-type]
    transport.write(b"last words")
    transport.close()
    assert real.sent == [b"last words"]
    assert real.closed
    await next_turn()  # the scheduled flush finds nothing more
    assert real.sent == [b"last words"]

    other = RecordingTransport()
    transport = CoalescingTransport(other)  # type: ignore[arg-type]
    transport.write(b"never")
    transport.abort()
    await next_turn()
    assert other.sent == []
    assert other.aborted


async def test_a_large_write_is_not_held_and_the_rest_is_delegated() -> None:
    real = RecordingTransport()
    transport = CoalescingTransport(real)  # type: ignore[arg-type]
    transport.write(b"head")
    transport.write(b"x" * 70_000)
    assert real.sent == [b"head" + b"x" * 70_000]
    assert transport.get_extra_info("peername") == "info:peername"


def app() -> FastAPI:
    api = FastAPI()

    @api.get("/small")
    async def small() -> dict[str, str]:
        return {"chữ": "Việt"}

    @api.get("/empty", status_code=204)
    async def empty() -> Response:
        return Response(status_code=204)

    @api.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for number in range(5):
                yield f"{number}\n".encode()
                await asyncio.sleep(0.01)

        return StreamingResponse(chunks(), media_type="text/plain")

    return api


async def test_uvicorn_answers_every_kind_of_response_over_kept_alive_connections() -> None:
    async with serving(app(), lifespan="off") as url, httpx.AsyncClient(base_url=url) as client:
        for _ in range(3):  # the same connection, one request after another
            small = await client.get("/small")
            assert small.status_code == 200
            assert small.json() == {"chữ": "Việt"}
            head = await client.head("/small")
            assert head.status_code in (200, 405)
            assert (await client.get("/empty")).status_code == 204
            streamed = await client.get("/stream")
            assert streamed.text == "0\n1\n2\n3\n4\n"
