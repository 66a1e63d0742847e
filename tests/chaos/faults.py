"""The faults: a server killed (or PostgreSQL stopped in immediate mode, a crash), kept
down a few seconds, and brought back; then the time until every part that depends on it
answers ready again is measured from the moment it is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from tests.chaos.stage import Stage
from tests.cluster import SERVICES, WORKERS


@dataclass(frozen=True)
class Fault:
    name: str
    down: Callable[[Stage], None]
    up: Callable[[Stage], None]
    watched: tuple[str, ...]  # the parts whose readiness is timed after ``up``


@dataclass
class Outcome:
    fault: str
    down_seconds: float  # from the kill to the server being back
    ready_seconds: float  # from the server being back to every watched part ready


EVERY_PART = (*SERVICES, *WORKERS)


def _part(name: str) -> Fault:
    return Fault(
        name,
        down=lambda stage: stage.cluster.kill(name),
        up=lambda stage: stage.cluster.start(name),
        watched=(name,),
    )


def _restart_s3(stage: Stage) -> None:
    stage.s3.start()  # the same ports and data; returns once it answers


FAULTS: dict[str, Fault] = {
    "postgres": Fault(
        "postgres",
        down=lambda stage: stage.postgres.stop("immediate"),
        up=lambda stage: stage.postgres.start(),
        watched=EVERY_PART,
    ),
    "redis": Fault(
        "redis",
        down=lambda stage: stage.redis.kill(),
        up=lambda stage: stage.redis.start(),
        watched=EVERY_PART,
    ),
    "s3": Fault("s3", down=lambda stage: stage.s3.kill(), up=_restart_s3, watched=("documents",)),
    **{name: _part(name) for name in ("intake", "gateway", "tracking", *WORKERS)},
}


async def inflict(stage: Stage, fault: Fault, *, down_for: float) -> Outcome:
    """``fault`` while the traffic flows (the blocking calls in threads)."""
    began = time.monotonic()
    await asyncio.to_thread(fault.down, stage)
    await asyncio.sleep(down_for)
    await asyncio.to_thread(fault.up, stage)
    back = time.monotonic()
    ready = await asyncio.to_thread(stage.cluster.wait_ready, fault.watched, within=60)
    return Outcome(fault.name, back - began, ready)
