"""A worker that claims work from its database and does each piece in a task of its own,
a bounded number at once (the portal sync, the notifications' delivery)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

logger = logging.getLogger("onestop.lanes")

T = TypeVar("T")


async def run_in_lanes(
    stop: asyncio.Event,
    *,
    lanes: int,
    poll_seconds: float,
    claim: Callable[[int], Awaitable[Sequence[T]]],
    handle: Callable[[T], Coroutine[Any, Any, None]],
    name: str,
) -> None:
    """Until ``stop``: claim as many pieces as lanes are free and handle each in a task;
    rest for ``poll_seconds`` when nothing is owed. A failed claim (the database away)
    is logged and tried again. On ``stop``, the pieces in hand are finished first.

    ``handle`` must not raise: what it cannot do is its own to log (and to leave for a
    later claim)."""
    running: set[asyncio.Task[None]] = set()
    try:
        while not stop.is_set():
            claimed: Sequence[T] = []
            if len(running) < lanes:
                try:
                    claimed = await claim(lanes - len(running))
                except Exception:
                    logger.warning("cannot claim, retrying", extra={"worker": name}, exc_info=True)
            for piece in claimed:
                task = asyncio.create_task(handle(piece))
                running.add(task)
                task.add_done_callback(running.discard)
            if claimed and len(running) < lanes:
                continue  # more may be owed
            # Full, or nothing owed: until a lane frees, the poll interval, or stop.
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait(
                {stopped, *running}, timeout=poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            stopped.cancel()
    finally:
        if running:
            await asyncio.gather(*running, return_exceptions=True)
