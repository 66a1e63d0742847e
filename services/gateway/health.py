"""``GET /api/v1/health``: the gateway's own readiness and every service's."""

import asyncio
from collections.abc import Mapping

import httpx

from services.gateway.proxy import Upstream
from shared.contracts.health import PlatformHealth, ReadinessReport
from shared.health import CHECK_TIMEOUT_SECONDS
from shared.runtime import Runtime


async def service_readiness(upstream: Upstream) -> ReadinessReport:
    try:
        response = await upstream.client.get("/readyz", timeout=CHECK_TIMEOUT_SECONDS + 1)
        return ReadinessReport.model_validate_json(response.content)
    except (httpx.HTTPError, ValueError) as exc:
        return ReadinessReport(
            service=upstream.name,
            status="error",
            checks={"reachable": f"error: {type(exc).__name__}"},
        )


async def platform_health(runtime: Runtime, upstreams: Mapping[str, Upstream]) -> PlatformHealth:
    names = list(upstreams)
    reports = await asyncio.gather(
        runtime.readiness(), *(service_readiness(upstreams[name]) for name in names)
    )
    services = {"gateway": reports[0], **dict(zip(names, reports[1:], strict=True))}
    healthy = all(report.status == "ok" for report in services.values())
    return PlatformHealth(status="ok" if healthy else "degraded", services=services)
