"""``/healthz`` (the process is alive) and ``/readyz`` (its dependencies answer)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from shared.contracts.health import ReadinessReport

Check = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_SECONDS = 2.0


async def run_checks(service: str, checks: Mapping[str, Check]) -> ReadinessReport:
    """Run every check concurrently, each with a timeout; report each outcome."""

    async def outcome(check: Check) -> str:
        try:
            await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
        except TimeoutError:
            return "error: timeout"
        except Exception as exc:
            return f"error: {type(exc).__name__}"
        return "ok"

    names = list(checks)
    results = await asyncio.gather(*(outcome(checks[name]) for name in names))
    statuses = dict(zip(names, results, strict=True))
    healthy = all(result == "ok" for result in results)
    return ReadinessReport(service=service, status="ok" if healthy else "error", checks=statuses)


def health_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        report = await request.app.state.runtime.readiness()
        return JSONResponse(report.model_dump(), status_code=200 if report.status == "ok" else 503)

    return router
