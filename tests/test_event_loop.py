import asyncio

import uvloop


async def test_the_suite_runs_on_uvloop_like_production() -> None:
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
