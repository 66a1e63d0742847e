"""The gateway app: a lean forwarding path in front of a FastAPI app for its own routes."""

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from services.gateway import (
    admin,
    admin_officers,
    citizens,
    metrics,
    officers,
    openapi,
    sync,
    vneid,
)  # fmt: skip
from services.gateway.config import UPSTREAM_NAMES, GatewaySettings
from services.gateway.limits import MemoryLimiter, RedisLimiter, Rule, Throttle
from services.gateway.models import Base, OutboxRecord
from services.gateway.proxy import HttpUpstream, Upstream, call_capped
from services.gateway.router import router
from shared import tracing
from shared.auth import PasswordHasher, TokenClaims
from shared.errors import Unauthorized, install_error_handlers
from shared.events import EventBus
from shared.health import health_router
from shared.logging import RequestContextMiddleware
from shared.metrics import ROUTE_LABEL, MetricsMiddleware
from shared.runtime import Runtime, ServiceSpec, open_runtime

API_PREFIX = "/api/v1/"

# First path segment after /api/v1/ -> the service that owns it.
ROUTES: dict[str, str] = {
    "procedures": "procedures",
    "agencies": "procedures",
    "fields": "procedures",
    "catalogue": "procedures",
    "dossiers": "intake",
    "queues": "intake",
    "lookup": "intake",
    "national": "intake",
    "payments": "intake",
    "calendars": "tracking",
    "stats": "tracking",
    "online-services": "procedures",
    "documents": "documents",
    "storage": "documents",
    "notifications": "notifications",
}


# Request bodies by kind of route: files go to the upload routes (their cap is
# GATEWAY_MAX_BODY_BYTES, and documents checks each file's own limit); an admin's whole
# catalogue to the import; everything else is a small JSON or form body, parsed on a
# service's event loop, and capped low so that no single request can hold it.
UPLOAD_PATHS = frozenset({"/api/v1/documents", "/api/v1/documents/results"})
BULK_PATHS = frozenset({"/api/v1/catalogue/import"})
WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The gateway's own routes under a segment a service owns: an agency's officers are
# accounts (services/gateway/officers.py).
OWN_API = re.compile(r"^/api/v1/agencies/[^/]+/officers/?$")
# The gateway's own addresses outside /api/: everything else is a page, when the
# composition hands the gateway an app of pages (services/web).
OWN_PATHS = frozenset({"/docs", "/healthz", "/readyz", "/metrics"})
TRACE_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})


@dataclass(frozen=True)
class BodyCaps:
    upload: int
    bulk: int
    json: int

    def of(self, path: str) -> int:
        if path in UPLOAD_PATHS:
            return self.upload
        return self.bulk if path in BULK_PATHS else self.json


class GatewayApp:
    """Routes ``/api/v1/<segment>/...`` of the services straight to them; all else to ``api``."""

    def __init__(
        self,
        api: FastAPI,
        upstreams: Mapping[str, Upstream],
        *,
        own_max_body_bytes: int,
        body_caps: BodyCaps | None = None,
        pages: ASGIApp | None = None,
    ) -> None:
        self.api = api
        self.pages = pages
        self._own_max_body_bytes = own_max_body_bytes
        self._body_caps = body_caps
        self.upstreams = dict(upstreams)
        self._routes = {
            segment: self.upstreams[name]
            for segment, name in ROUTES.items()
            if name in self.upstreams
        }
        # Request id and access log for both paths, forwarded and local; counted and
        # timed (forwarded requests by the service they went to); traced when on.
        self._entry = tracing.asgi_middleware(
            RequestContextMiddleware(MetricsMiddleware(self._dispatch, service="gateway"))
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(n in TRACE_HEADERS for n, _ in scope["headers"]):
            # A trace starts here: one a client names is neither continued nor forwarded.
            scope["headers"] = [h for h in scope["headers"] if h[0] not in TRACE_HEADERS]
        await self._entry(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(API_PREFIX):
                throttle: Throttle = self.api.state.throttle
                if not await throttle.admit(scope, send):
                    return
                segment = path[len(API_PREFIX) :].split("/", 1)[0]
                upstream = None if OWN_API.match(path) else self._routes.get(segment)
                if upstream is not None:
                    scope[ROUTE_LABEL] = f"forward:{upstream.name}"
                    await self._forward(upstream, scope, receive, send)
                    return
            elif self.pages is not None and path not in OWN_PATHS:
                scope[ROUTE_LABEL] = "pages"
                # A page's form may carry the citizen's files (to upload through the API).
                cap = self._body_caps.upload if self._body_caps else self._own_max_body_bytes
                await call_capped(self.pages, scope, receive, send, max_body_bytes=cap,
                                  service="web")  # fmt: skip
                return
            # Its own routes take small bodies (a login, a registration): capped low.
            cap = self._own_max_body_bytes
            await call_capped(self.api, scope, receive, send, max_body_bytes=cap, service="gateway")
            return
        await self.api(scope, receive, send)  # the lifespan

    async def _forward(
        self, upstream: Upstream, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """To the service, its body held to the cap of its kind of route."""
        if self._body_caps is None or scope["method"] not in WITH_BODY:
            await upstream.forward(scope, receive, send)
            return
        cap = self._body_caps.of(scope["path"])
        await call_capped(upstream.forward, scope, receive, send, max_body_bytes=cap,
                          service=upstream.name)  # fmt: skip

    def lifespan(self) -> AbstractAsyncContextManager[None]:
        """The gateway's resources, for a composition root that runs several apps."""
        context: AbstractAsyncContextManager[None] = self.api.router.lifespan_context(self.api)  # type: ignore[assignment]
        return context


def http_upstreams(settings: GatewaySettings) -> dict[str, Upstream]:
    upstreams: dict[str, Upstream] = {}
    for name in UPSTREAM_NAMES:
        url = settings.upstream_url(name)
        if url is not None:
            upstreams[name] = HttpUpstream(
                name,
                url,
                connect_timeout=settings.upstream_connect_timeout_seconds,
                read_timeout=settings.upstream_read_timeout_seconds,
                max_connections=settings.upstream_max_connections,
                max_body_bytes=settings.max_body_bytes,
            )
    return upstreams


def throttle(settings: GatewaySettings, runtime: Runtime) -> Throttle:
    """The rate limits and the revoked tokens, in Redis when the platform has one."""
    limiter = RedisLimiter(runtime.redis) if runtime.redis is not None else MemoryLimiter()

    def claims_of(token: str) -> TokenClaims | None:
        try:
            return runtime.tokens.claims(token)
        except Unauthorized:
            return None  # the service it goes to answers 401

    minute = 60.0
    return Throttle(
        limiter,
        caller=Rule("caller", settings.rate_caller_per_minute, minute, settings.rate_caller_burst),
        address=Rule("address", settings.rate_address_per_minute, minute,
                     settings.rate_address_burst),
        lookup=Rule("lookup", settings.rate_lookup_per_minute, minute, settings.rate_lookup_burst),
        login=Rule("login", settings.rate_login_per_minute, minute, settings.rate_login_burst),
        claims_of=claims_of,
        trusted_proxies=settings.trusted_proxies,
        enabled=settings.rate_limits_enabled,
    )  # fmt: skip


def create_api(
    settings: GatewaySettings, upstreams: Mapping[str, Upstream], bus: EventBus | None
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(settings, outbox_model=OutboxRecord, bus=bus) as runtime:
            app.state.runtime = runtime
            app.state.throttle = throttle(settings, runtime)
            runtime.clients.update((name, u.client) for name, u in upstreams.items())
            # The VNeID provider's keys: its key set, read through the portal mock's
            # client (an absolute GATEWAY_VNEID_JWKS_URL goes to the real provider).
            app.state.vneid_keys = vneid.ProviderKeys(
                runtime.clients.get("national_portal"), settings.vneid_jwks_url
            )
            for upstream in upstreams.values():
                await upstream.start()
            try:
                yield
            finally:
                for upstream in upstreams.values():
                    await upstream.close()

    api = FastAPI(
        title="Một cửa — API",
        description="Cổng API của nền tảng Bộ phận Một cửa.",
        version="0.1.0",
        lifespan=lifespan,
        # One document for the whole /api/v1, the services' routes included (openapi.py).
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    api.state.upstreams = upstreams
    api.state.hasher = PasswordHasher()
    install_error_handlers(api)
    api.include_router(health_router())
    api.include_router(metrics.router)
    api.include_router(router)
    api.include_router(admin.router)
    api.include_router(officers.router)
    api.include_router(citizens.router)
    api.include_router(admin_officers.router)
    api.include_router(openapi.router)
    return api


def create_app(
    settings: GatewaySettings | None = None,
    *,
    upstreams: Mapping[str, Upstream] | None = None,
    bus: EventBus | None = None,
    pages: ASGIApp | None = None,
) -> GatewayApp:
    """The gateway, handed its upstreams (in-process apps or URLs) and the web pages it
    serves outside /api/ (the composition's ``services.web``); it imports no service."""
    settings = settings or GatewaySettings()
    if upstreams is None:
        upstreams = http_upstreams(settings)
    api = create_api(settings, upstreams, bus)
    caps = BodyCaps(settings.max_body_bytes, settings.max_bulk_body_bytes,
                    settings.max_json_body_bytes)  # fmt: skip
    return GatewayApp(
        api, upstreams, own_max_body_bytes=settings.own_max_body_bytes, body_caps=caps,
        pages=pages,
    )  # fmt: skip


spec = ServiceSpec(
    name="gateway",
    settings_type=GatewaySettings,
    create_app=create_app,
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    outbox_model=OutboxRecord,
    consumers=(sync.CHANGES,),
    jobs=(sync.SYNC_JOB,),
    # The sync runs in the consumers: their /metrics tell its backlog too.
    probes=(metrics.portal_sync_probe,),
)
