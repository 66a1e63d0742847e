"""The gateway's ``/metrics``: its requests (forwarded ones by service), its pool and
outbox, and the sync to the national portal. Only for whoever reaches the pod itself
(Prometheus): a request that came through a proxy (the Ingress) gets 404."""

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from prometheus_client import Gauge

from services.gateway.sync.status import status
from shared.errors import NotFound
from shared.metrics import exposition, run_probes, runtime_probe
from shared.runtime import Runtime

PORTAL_OWED = Gauge("onestop_portal_sync_owed", "Dossiers owed to the national portal")
PORTAL_DEAD = Gauge("onestop_portal_sync_dead_letters", "Dossiers the sync gave up on")
PORTAL_LAG = Gauge(
    "onestop_portal_sync_lag_seconds", "How long the oldest owed dossier has waited (0: none)"
)
PORTAL_RECENT_P95 = Gauge(
    "onestop_portal_sync_recent_lag_p95_seconds",
    "95th percentile of the last hour's change-to-portal times",
)
FORWARDED = (b"x-forwarded-for", b"forwarded")

router = APIRouter(include_in_schema=False)


async def portal_sync_probe(runtime: Runtime) -> None:
    async with runtime.db.read_session() as session:
        found = await status(session, now=datetime.now(UTC))
    PORTAL_OWED.set(found.owed)
    PORTAL_DEAD.set(found.dead_letters)
    PORTAL_LAG.set(found.lag_seconds)
    PORTAL_RECENT_P95.set(found.recent.p95 or 0.0)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    if any(name in FORWARDED for name, _ in request.scope["headers"]):
        raise NotFound("Không có địa chỉ này.")
    await run_probes(request.app.state.runtime, (runtime_probe, portal_sync_probe))
    return exposition()
