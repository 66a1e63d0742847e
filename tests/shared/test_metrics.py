"""/metrics: requests counted by route template and status, probes run at each scrape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from shared.app import create_service_app
from shared.metrics import PROBE_FAILURES, age_seconds


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of metric ``name``, by their sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


class FakeRuntime:
    """What the probes are handed (only what these tests' probes read)."""

    name = "probed"


def service(probes: tuple[Any, ...] = ()) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = FakeRuntime()
        yield

    app = create_service_app(title="t", lifespan=lifespan, service="metrics-test", probes=probes)

    @app.get("/api/v1/things/{code}")
    async def thing(code: str) -> dict[str, str]:
        if code == "boom":
            raise RuntimeError("a bug")
        return {"code": code}

    return app


async def scrape(client: httpx.AsyncClient) -> str:
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return answer.text


async def test_requests_are_counted_by_route_template_and_status() -> None:
    app = service()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        before = samples(await scrape(client), "onestop_http_requests_total")
        for code in ("A-1", "B-2", "C-3"):
            assert (await client.get(f"/api/v1/things/{code}")).status_code == 200
        assert (await client.get("/nowhere")).status_code == 404
        assert (await client.get("/api/v1/things/boom")).status_code == 500
        text = await scrape(client)
    counted = samples(text, "onestop_http_requests_total")

    def grew(route: str, status: str) -> float:
        key = (("method", "GET"), ("route", route), ("service", "metrics-test"),
               ("status", status))  # fmt: skip
        return counted.get(key, 0) - before.get(key, 0)

    # One series for the three dossiers (a code in a label would make one per dossier).
    assert grew("/api/v1/things/{code}", "200") == 3
    assert grew("unmatched", "404") == 1
    assert grew("/api/v1/things/{code}", "500") == 1
    assert not [labels for labels in counted if ("route", "/metrics") in labels]
    timed = samples(text, "onestop_http_request_duration_seconds_count")
    key = (("method", "GET"), ("route", "/api/v1/things/{code}"), ("service", "metrics-test"))
    assert timed[key] >= 4


async def test_a_failing_probe_is_counted_and_the_scrape_still_answers() -> None:
    seen: list[str] = []

    async def fine(runtime: Any) -> None:
        seen.append(runtime.name)

    async def broken(runtime: Any) -> None:
        raise ConnectionError("the database is away")

    app = service((fine, broken))
    before = PROBE_FAILURES.labels("broken")._value.get()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        await scrape(client)
    assert seen == ["probed"]
    # runtime_probe also failed on the fake runtime (no database): it too is counted.
    assert PROBE_FAILURES.labels("broken")._value.get() == before + 1


@pytest.mark.parametrize(
    ("since", "expected"),
    [(None, 0.0), ("2026-01-01 00:00:00", 60.0), ("2026-01-01T00:00:00+00:00", 60.0)],
)
def test_ages_come_from_either_kind_of_timestamp(since: str | None, expected: float) -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    assert age_seconds(since, now=now) == expected
