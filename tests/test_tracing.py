"""One dossier's path is one trace: the citizen's request at the gateway, intake, the
event through the outbox and Redis to tracking, the sync to the national portal, the
portal's answer; every service on its own socket, as distributed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared import tracing
from shared.auth import Position
from tests.conftest import PgDatabase
from tests.infra import S3Server
from tests.intake import flow
from tests.platform import Platform, distributed, eventually


@pytest.fixture
async def traced(
    pg_database: PgDatabase, s3_server: S3Server
) -> AsyncIterator[tuple[Platform, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    assert tracing.configure("test", exporter=exporter)
    try:
        async with distributed(pg_database, s3_server) as platform:
            yield platform, exporter
    finally:
        tracing.shutdown()
    assert not tracing.enabled()


def port_of(span: ReadableSpan) -> int | None:
    attributes = span.attributes or {}
    port = attributes.get("server.port", attributes.get("net.host.port"))
    return int(port) if isinstance(port, int | str) else None


def spans_of(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return list(exporter.get_finished_spans())


def request_span(exporter: InMemorySpanExporter, method: str, path: str) -> ReadableSpan:
    """The gateway's server span of a request: a root (the platform's trace starts at it)."""
    [found] = [
        s for s in spans_of(exporter)
        if s.kind is SpanKind.SERVER and s.parent is None and s.name.startswith(method)
        and (s.attributes or {}).get("http.target", (s.attributes or {}).get("url.path")) == path
    ]  # fmt: skip
    return found


async def trace_to_the_portal(
    exporter: InMemorySpanExporter, entry: ReadableSpan, code: str
) -> list[ReadableSpan]:
    """The spans of ``entry``'s trace once the sync to the portal is among them; each
    hangs from ``entry``."""
    trace_id = entry.context.trace_id

    async def reached_the_portal() -> list[ReadableSpan] | None:
        mine = [s for s in spans_of(exporter) if s.context.trace_id == trace_id]
        synced = [s for s in mine if s.name == "portal.sync" and s.attributes
                  and s.attributes.get("dossier") == code]  # fmt: skip
        calls = [s for s in mine if "DongBoHoSoMC" in s.name or "CapNhatTienDo" in s.name]
        return mine if synced and calls else None

    mine = await eventually(reached_the_portal)
    by_id = {s.context.span_id: s for s in mine}
    for span in mine:
        root = span
        while root.parent is not None:
            assert root.parent.span_id in by_id, (span.name, root.name)
            root = by_id[root.parent.span_id]
        assert root is entry, span.name
    return mine


def consumed_by(spans: list[ReadableSpan]) -> set[str]:
    return {str((s.attributes or {}).get("group")) for s in spans if s.kind is SpanKind.CONSUMER}


async def test_a_dossier_is_one_trace_from_the_citizen_to_the_portal(
    traced: tuple[Platform, InMemorySpanExporter],
) -> None:
    platform, exporter = traced
    citizen = platform.citizen("citizen-1")
    # A trace a client names is not continued: the platform's starts at the gateway.
    foreign = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    submitted = await flow.submit(platform, citizen, extra_headers={"traceparent": foreign})
    assert submitted.status_code == 201, submitted.text
    code = submitted.json()["code"]
    entry = request_span(exporter, "POST", "/api/v1/dossiers")
    assert f"{entry.context.trace_id:032x}" != foreign.split("-")[1]

    mine = await trace_to_the_portal(exporter, entry, code)
    names = {s.name for s in mine}
    # The services, each a server span of its own on its own socket: the gateway, intake,
    # procedures (the catalogue), documents (the uploads' check), the portal.
    servers = {port_of(s) for s in mine if s.kind is SpanKind.SERVER}
    assert len(servers) >= 4, names
    assert any(s.kind is SpanKind.CLIENT and "INSERT" in s.name for s in mine), names  # SQL
    # The event, through the outbox and Redis, to the portal sync (and documents).
    assert "gateway.portal_sync" in consumed_by(mine), names

    # The desk receives it: intake asks tracking for the deadline, and tracking's clock
    # starts from the event; the sync takes the change on, in the same trace.
    desk = platform.officer("desk-1", Position.DESK)
    received = await flow.act(platform, code, "receive", desk)
    assert received.status_code == 200, received.text
    entry = request_span(exporter, "POST", f"/api/v1/dossiers/{code}/actions/receive")
    mine = await trace_to_the_portal(exporter, entry, code)
    assert {"tracking.dossiers", "gateway.portal_sync"} <= consumed_by(mine)
    assert len({port_of(s) for s in mine if s.kind is SpanKind.SERVER}) >= 4
