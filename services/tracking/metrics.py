"""Tracking's figures at each scrape: the open dossiers by how they stand now."""

from datetime import UTC, datetime

from prometheus_client import Gauge

from services.tracking import repository
from shared.runtime import Runtime

OPEN = Gauge(
    "onestop_dossiers_open",
    "Open dossiers by how they stand now (overdue, due_soon, on_track, paused, no_deadline)",
    ["timeliness"],
)


async def open_dossiers_probe(runtime: Runtime) -> None:
    async with runtime.db.read_session() as session:
        counts = await repository.open_counts(session, now=datetime.now(UTC))
    for timeliness, count in counts.items():
        OPEN.labels(timeliness).set(count)


PROBES = (open_dossiers_probe,)
