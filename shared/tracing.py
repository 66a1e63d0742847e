"""OpenTelemetry traces: one dossier's path, from the citizen's request through the
services, the outbox and Redis, to the national portal, as one trace.

Off unless configured: ``onestop serve`` and the workers turn it on when an OTLP endpoint
is set (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, and the
other ``OTEL_*`` variables the SDK reads). Off, nothing is instrumented: no cost.

The process keeps its own tracer provider rather than the global one (which can be set
once per process only), and hands it to each instrumentation: FastAPI (and plain ASGI for
the gateway), SQLAlchemy, Redis, httpx. The platform's own HTTP client (shared/http1.py)
and the events carry the W3C ``traceparent`` themselves: an event is written with the
context of the request that caused it, and its consumer continues that trace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Span, SpanKind

TRACEPARENT = "traceparent"
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

_provider: TracerProvider | None = None


def enabled() -> bool:
    return _provider is not None


def provider() -> TracerProvider | None:
    return _provider


def configure(service: str, *, exporter: SpanExporter | None = None) -> bool:
    """Turn traces on for this process, as ``onestop-<service>``: to ``exporter`` (a
    test's, each span at once), else to the configured OTLP endpoint (in batches).
    False, and nothing done, when neither is there."""
    global _provider
    if exporter is None:
        if not any(os.environ.get(name) for name in ENDPOINT_VARIABLES):
            return False
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor: Any = BatchSpanProcessor(OTLPSpanExporter())
    else:
        processor = SimpleSpanProcessor(exporter)
    made = TracerProvider(resource=Resource.create({"service.name": f"onestop-{service}"}))
    made.add_span_processor(processor)
    _provider = made
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    HTTPXClientInstrumentor().instrument(tracer_provider=made)
    RedisInstrumentor().instrument(tracer_provider=made)
    return True


def shutdown() -> None:
    """Send what is buffered and turn traces off (end of the process, or of a test)."""
    global _provider
    if _provider is None:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    HTTPXClientInstrumentor().uninstrument()
    RedisInstrumentor().uninstrument()
    _provider.shutdown()
    _provider = None


def tracer() -> trace.Tracer:
    """This process's tracer (a no-op one when traces are off)."""
    if _provider is None:
        return trace.NoOpTracer()
    return _provider.get_tracer("onestop")


def instrument_app(app: Any) -> None:
    """A FastAPI app's requests as server spans (when traces are on)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=_provider, excluded_urls="healthz,readyz,metrics"
    )


def asgi_middleware(app: Any) -> Any:
    """A plain ASGI app (the gateway's entry) traced as server spans; as it is when off."""
    if _provider is None:
        return app
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(
        app, tracer_provider=_provider, excluded_urls="healthz,readyz,metrics"
    )


def instrument_engine(engine: Any) -> None:
    """A database engine's statements as client spans (when traces are on)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeter

    usage = NoOpMeter("onestop").create_up_down_counter("db.client.connections.usage")
    EngineTracer(_provider.get_tracer("onestop.db"), engine.sync_engine, usage)  # type: ignore[no-untyped-call]


def outgoing() -> dict[str, str]:
    """The current trace's headers for a request or an event (empty when off)."""
    carrier: dict[str, str] = {}
    if _provider is not None:
        propagate.inject(carrier)
    return carrier


def context_of(carrier: Mapping[str, str] | None) -> Context | None:
    """The trace a request or an event carried, to continue it."""
    if not carrier or TRACEPARENT not in carrier:
        return None
    return propagate.extract(dict(carrier))


@contextmanager
def span(
    name: str,
    *,
    parent: Mapping[str, str] | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    **attributes: str | int,
) -> Iterator[Span]:
    """A span of the platform's own work (consuming an event, a portal sync), continuing
    the trace ``parent`` carries (a ``traceparent``), else the current one."""
    with tracer().start_as_current_span(
        name, context=context_of(parent), kind=kind, attributes=attributes
    ) as made:
        yield made
