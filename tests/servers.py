"""Serving ASGI apps on real sockets inside a test, with uvicorn as `onestop serve` runs it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

from shared.serving import config
from tests.infra import free_port


@contextlib.asynccontextmanager
async def serving(
    app: ASGIApp,
    *,
    lifespan: Literal["auto", "on", "off"] = "on",
    fleet: list[uvicorn.Server] | None = None,
    port: int | None = None,
) -> AsyncIterator[str]:
    """Serve ``app`` on ``port`` (a free one by default) for the duration of the block;
    yield its base URL. ``fleet`` collects the servers for ``stop_all``."""
    port = port or free_port()
    server = uvicorn.Server(config(app, host="127.0.0.1", port=port, lifespan=lifespan))
    if fleet is not None:
        fleet.append(server)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def stop_all(fleet: list[uvicorn.Server]) -> None:
    """Tell every server of ``fleet`` to stop, so that they stop together: uvicorn looks
    at its exit flag every 0.1 s, and seven servers stopped in turn took most of a second."""
    for server in fleet:
        server.should_exit = True
