"""The composition root: the one place that knows every service and wires them.

With ``services.cli`` it is the only code allowed to import several services
(import-linter checks that the services themselves never import each other).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from services.documents.main import spec as documents_spec
from services.gateway import sync as portal_sync
from services.gateway.config import GatewaySettings
from services.gateway.main import GatewayApp
from services.gateway.main import create_app as create_gateway
from services.gateway.main import spec as gateway_spec
from services.gateway.proxy import AsgiUpstream, Upstream
from services.intake import audit as intake_audit
from services.intake.audit import Break
from services.intake.config import UPSTREAMS as INTAKE_UPSTREAMS
from services.intake.main import spec as intake_spec
from services.national_portal.main import spec as national_portal_spec
from services.notifications.delivery import SMS_CLIENT
from services.notifications.main import spec as notifications_spec
from services.procedures.main import spec as procedures_spec
from services.sms_mock.main import create_app as create_sms_mock
from services.tracking.main import spec as tracking_spec
from services.web.config import WebSettings
from services.web.main import bind_api
from services.web.main import create_app as create_pages
from shared.db import Database
from shared.events import EventBus, InProcessBus, OutboxRelay, retention
from shared.http import create_http_client
from shared.metrics import Probe, exposition, run_probes, runtime_probe, streams_probe
from shared.migrations import ensure_database, pending, upgrade
from shared.runtime import PeriodicSpec, Runtime, ServiceSpec, open_runtime
from shared.serving import freeze_heap
from shared.settings import Mode, PlatformSettings, ServiceSettings

logger = logging.getLogger("onestop.platform")


def gateway_with_pages(
    settings: GatewaySettings | None = None,
    *,
    upstreams: Mapping[str, Upstream] | None = None,
    bus: EventBus | None = None,
) -> GatewayApp:
    """The gateway serving the web pages (services/web) outside /api/, in both modes;
    the pages call /api/v1 back through this same gateway."""
    settings = settings or GatewaySettings()
    pages = create_pages(WebSettings(platform=settings.platform))
    gateway = create_gateway(settings, upstreams=upstreams, bus=bus, pages=pages)
    bind_api(pages, gateway)
    return gateway


SPECS: dict[str, ServiceSpec] = {
    spec.name: spec
    for spec in (
        procedures_spec,
        intake_spec,
        tracking_spec,
        documents_spec,
        notifications_spec,
        dataclasses.replace(gateway_spec, create_app=gateway_with_pages),
        national_portal_spec,
    )
}
# The services the gateway forwards to, as opposed to itself and the portal mock.
BACKENDS = ("procedures", "intake", "tracking", "documents", "notifications")


# Where the embedded platform serves the national portal mock and the SMS provider mock.
PORTAL_MOUNT = "/dvcqg"
SMS_MOCK_MOUNT = "/sms-mock"


def service_settings(
    name: str, platform: PlatformSettings | None = None, **overrides: Any
) -> ServiceSettings:
    """A service's settings from the environment, with a shared platform part if given."""
    settings_type = SPECS[name].settings_type
    if platform is not None:
        overrides["platform"] = platform
    return settings_type(**overrides)


# Stand-ins of systems outside the platform (the national portal and VNeID): part of an
# install only where they are given a database (a test or demo install).
MOCKS = ("national_portal",)


def installed(platform: PlatformSettings | None = None) -> list[str]:
    """The services of this install: every one of the platform's, and a mock only where
    it is configured (a production install has the real portal, and no mock's database
    to migrate, wait for or back up)."""
    names = []
    for name in SPECS:
        if name in MOCKS:
            try:
                service_settings(name, platform)
            except ValidationError:  # distributed, and no database named for it
                continue
        names.append(name)
    return names


async def migrate(names: Iterable[str], platform: PlatformSettings | None = None) -> None:
    """Create each service's database if needed and apply its migrations."""
    for name in names:
        url = service_settings(name, platform).db_url
        if await ensure_database(url):
            logger.info("database created", extra={"service": name})
        await anyio.to_thread.run_sync(upgrade, SPECS[name].migrations, url)
        logger.info("migrated", extra={"service": name})


async def wait_migrated(
    names: Iterable[str], *, within: float, poll: float = 2.0
) -> dict[str, str]:
    """Until every named service's database is at this release's migrations (another
    process applies them: the install job); what is still pending after ``within`` s."""
    names = list(names)
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = {}
        for name in names:
            gap = await pending(SPECS[name].migrations, service_settings(name).db_url)
            if gap is not None:
                found[name] = gap
        if not found or asyncio.get_running_loop().time() >= deadline:
            return found
        logger.info("waiting for migrations", extra={"pending": found})
        await asyncio.sleep(poll)


async def verify_audit(platform: PlatformSettings | None = None) -> tuple[int, list[Break]]:
    """Walk intake's audit chains: the entries checked and every break found."""
    database = Database(service_settings("intake", platform).db_url)
    try:
        async with database.session() as session:
            return await intake_audit.verify(session)
    finally:
        await database.dispose()


class LateApp:
    """An ASGI app given later: what a service asks of an app made after it (intake of
    the gateway's accounts, in one process)."""

    app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            raise RuntimeError("the app was not given yet")
        await self.app(scope, receive, send)


class EmbeddedPlatform:
    """Every service in one process behind the gateway: the quick start and the demo.

    The gateway calls the services in-process; all share one in-process event bus, and
    each service's outbox relay runs as a task. The national portal mock is served
    under ``/dvcqg``.
    """

    def __init__(
        self, platform: PlatformSettings, *, public_url: str, poll_interval: float = 1.0
    ) -> None:
        self.platform = platform
        self.poll_interval = poll_interval
        bus = InProcessBus()
        self.bus = bus
        self.services: dict[str, FastAPI] = {}
        accounts = LateApp()
        # The SMS and Zalo provider the notifications reach in-process (over HTTP).
        self.sms_mock: FastAPI = create_sms_mock()
        # Intake reads the others: it is made last and reaches them in-process.
        for name in sorted(BACKENDS, key=lambda n: n == "intake"):
            overrides: dict[str, Any] = {}
            extra: dict[str, Any] = {}
            if name in ("documents", "intake", "notifications"):
                overrides["public_url"] = public_url
            if name == "notifications":
                extra["transports"] = {SMS_CLIENT: httpx.ASGITransport(app=self.sms_mock)}
            if name == "intake":
                extra["transports"] = {
                    upstream: httpx.ASGITransport(app=self.services[upstream])
                    for upstream in INTAKE_UPSTREAMS
                    if upstream != "accounts"
                }
                # The accounts are the gateway's, which is made after the services.
                extra["transports"]["accounts"] = httpx.ASGITransport(app=accounts)
            settings = service_settings(name, platform, **overrides)
            self.services[name] = SPECS[name].create_app(settings, bus=bus, **extra)
        self.portal: FastAPI = SPECS["national_portal"].create_app(
            service_settings("national_portal", platform)
        )
        gateway_settings = service_settings("gateway", platform, public_url=public_url)
        assert isinstance(gateway_settings, GatewaySettings)
        cap = gateway_settings.max_body_bytes
        upstreams: dict[str, Upstream] = {
            name: AsgiUpstream(name, app, max_body_bytes=cap) for name, app in self.services.items()
        }
        upstreams["national_portal"] = AsgiUpstream(
            "national_portal", self.portal, max_body_bytes=cap
        )
        self.gateway: GatewayApp = gateway_with_pages(
            gateway_settings, upstreams=upstreams, bus=bus
        )
        accounts.app = self.gateway.api
        self._stack: AsyncExitStack | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def runtimes(self) -> list[Runtime]:
        apps = [*self.services.values(), self.gateway.api]
        return [app.state.runtime for app in apps]

    async def start(self, *, workers: bool = True) -> None:
        """The apps' lifespans, and unless told otherwise their workers."""
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            for app in [*self.services.values(), self.portal]:
                await stack.enter_async_context(app.router.lifespan_context(app))
            await stack.enter_async_context(self.gateway.lifespan())
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        self._stop.clear()
        if not workers:
            return
        apps = {**self.services, "gateway": self.gateway.api}
        self._tasks = spawn_workers(
            apps, self._stop, worker="embedded", poll_interval=self.poll_interval
        )

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope.get("path", "")
        for mount, app in ((PORTAL_MOUNT, self.portal), (SMS_MOCK_MOUNT, self.sms_mock)):
            if path == mount or path.startswith(mount + "/"):
                scope = dict(scope)
                scope["path"] = path[len(mount) :] or "/"
                scope["root_path"] = scope.get("root_path", "") + mount
                await app(scope, receive, send)
                return
        await self.gateway(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        try:
            await self.start()
        except Exception as exc:
            logger.exception("start-up failed")
            await send({"type": "lifespan.startup.failed", "message": repr(exc)})
            return
        freeze_heap()  # what start-up made (the apps, their caches) is there for good
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await self.stop()
        await send({"type": "lifespan.shutdown.complete"})


async def reconcile_portal(
    platform: PlatformSettings | None = None, *, send: bool = True
) -> tuple[portal_sync.Reconciled, int, int]:
    """``onestop portal reconcile``: what the national portal lacks or holds stale, now
    owed again; with ``send``, sent at once from here. Returns what was found, how many
    were sent, and how many dossiers are dead-lettered. Distributed, the services are
    reached at their URLs; embedded, the platform is opened in this process (without
    its workers) on the same data."""
    gateway_settings = service_settings("gateway", platform)
    assert isinstance(gateway_settings, GatewaySettings)
    async with AsyncExitStack() as stack:
        if gateway_settings.platform.mode is Mode.DISTRIBUTED:
            runtime = await stack.enter_async_context(
                open_runtime(gateway_settings, outbox_model=gateway_spec.outbox_model)
            )
            for name in ("intake", "national_portal"):
                url = gateway_settings.upstream_url(name)
                assert url is not None  # required in distributed mode
                runtime.clients[name] = await stack.enter_async_context(create_http_client(url))
        else:
            embedded = EmbeddedPlatform(gateway_settings.platform, public_url="http://127.0.0.1")
            await embedded.start(workers=False)
            stack.push_async_callback(embedded.stop)
            runtime = embedded.gateway.api.state.runtime
        worker, portal_client = portal_sync.worker_for(runtime)
        found = await portal_sync.reconcile(worker, portal_client, runtime.db)
        sent = 0
        deadline = asyncio.get_running_loop().time() + RECONCILE_SEND_SECONDS
        while True:
            sent += await worker.drain() if send else 0
            async with runtime.db.read_session() as session:
                status = await portal_sync.status(session, now=datetime.now(UTC))
            if not send or not status.owed or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.5)  # a failed send waits for its backoff
    return found, sent, status.dead_letters


# How long ``onestop portal reconcile`` keeps retrying what fails before it leaves the
# rest to the workers.
RECONCILE_SEND_SECONDS = 60.0


def housekeeping(spec: ServiceSpec) -> list[PeriodicSpec]:
    """What every service's workers do beside its own jobs: prune the event tables."""
    inboxes = tuple(dict.fromkeys(c.inbox_model for c in spec.consumers))
    if spec.outbox_model is None and not inboxes:
        return []

    async def prune_events(runtime: Runtime) -> int:
        days = runtime.settings.platform.event_retention_days
        return await retention.prune(runtime.db, outbox=spec.outbox_model, inboxes=inboxes,
                                     older_than=retention.cutoff(days))  # fmt: skip

    return [PeriodicSpec(name=f"{spec.name}.prune_events", interval_seconds=3600,
                         job=prune_events)]  # fmt: skip


def spawn_workers(
    apps: Mapping[str, FastAPI], stop: asyncio.Event, *, worker: str, poll_interval: float = 1.0
) -> list[asyncio.Task[None]]:
    """In the apps' own process (their lifespans running): each one's outbox relay,
    consumers and periodic jobs, as tasks that end when ``stop`` is set."""
    tasks: list[asyncio.Task[None]] = []
    for name, app in apps.items():
        runtime: Runtime = app.state.runtime
        if runtime.outbox is not None:
            relay = OutboxRelay(
                runtime.db, runtime.outbox, runtime.bus, poll_interval=poll_interval
            )
            tasks.append(asyncio.create_task(relay.run(stop)))
        for consumer_spec in SPECS[name].consumers:
            for consumer in consumer_spec.consumers(runtime, name=f"{name}-{worker}"):
                tasks.append(asyncio.create_task(consumer.run(stop)))
        for job in (*SPECS[name].jobs, *housekeeping(SPECS[name])):
            tasks.append(asyncio.create_task(job.run(runtime, stop)))
    return tasks


async def open_runtimes(stack: AsyncExitStack, names: Iterable[str]) -> dict[str, Runtime]:
    """Distributed mode: each named service's resources, from its settings, closed with
    ``stack``."""
    runtimes = {}
    for name in names:
        settings = service_settings(name)
        outbox_model = SPECS[name].outbox_model
        runtimes[name] = await stack.enter_async_context(
            open_runtime(settings, outbox_model=outbox_model)
        )
    return runtimes


def relay_jobs(
    runtimes: Mapping[str, Runtime], stop: asyncio.Event
) -> list[Coroutine[Any, Any, None]]:
    """Each service's outbox relayed to Redis until ``stop`` is set."""
    jobs = []
    for name, runtime in runtimes.items():
        assert runtime.outbox is not None
        jobs.append(OutboxRelay(runtime.db, runtime.outbox, runtime.bus).run(stop))
        logger.info("relay started", extra={"service": name})
    return jobs


def consumer_jobs(
    runtimes: Mapping[str, Runtime], stop: asyncio.Event, *, worker: str
) -> list[Coroutine[Any, Any, None]]:
    """The events each service consumes applied, and its periodic jobs run, until
    ``stop``. Several workers may run: each consumer group shares its messages among
    them, and the periodic jobs (the deadline scanner) are safe to overlap."""
    jobs: list[Coroutine[Any, Any, None]] = []
    for name, runtime in runtimes.items():
        spec = SPECS[name]
        for consumer_spec in spec.consumers:
            for consumer in consumer_spec.consumers(runtime, name=f"{name}-{worker}"):
                jobs.append(consumer.run(stop))
            logger.info("consumer started", extra={"group": consumer_spec.group})
        for job in (*spec.jobs, *housekeeping(spec)):
            jobs.append(job.run(runtime, stop))
            logger.info("job started", extra={"job": job.name})
    return jobs


async def run_relays(names: Iterable[str], stop: asyncio.Event) -> None:
    """Distributed mode: relay the outboxes of ``names`` to Redis until ``stop`` is set."""
    async with AsyncExitStack() as stack:
        await asyncio.gather(*relay_jobs(await open_runtimes(stack, names), stop))


async def run_consumers(names: Iterable[str], stop: asyncio.Event, *, worker: str) -> None:
    """Distributed mode: apply the events the services ``names`` consume until ``stop``."""
    async with AsyncExitStack() as stack:
        runtimes = await open_runtimes(stack, names)
        await asyncio.gather(*consumer_jobs(runtimes, stop, worker=worker))


WorkerJobs = Callable[[Mapping[str, Runtime], asyncio.Event], list[Coroutine[Any, Any, None]]]


def worker_app(names: Iterable[str], jobs: WorkerJobs, *, streams: bool = False) -> FastAPI:
    """A background worker as an app to serve: its jobs run for the app's lifespan (a
    SIGTERM lets each finish what it holds), and it answers ``/healthz`` (every job
    still running) and ``/readyz`` (and each service's database and Redis answer), for
    the probes of the platform's orchestrator, and ``/metrics``: each service's pool,
    outbox and own figures, and with ``streams`` its consumer groups' lag on Redis."""
    names = list(names)
    probes: dict[str, tuple[Probe, ...]] = {
        name: (runtime_probe, *SPECS[name].probes) for name in names
    }
    if streams:
        groups = {c.group: c.topics for name in names for c in SPECS[name].consumers}
        first = names[0]
        probes[first] = (*probes[first], streams_probe(groups))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        async with AsyncExitStack() as stack:
            runtimes = await open_runtimes(stack, names)
            tasks = [asyncio.create_task(job) for job in jobs(runtimes, stop)]
            app.state.runtimes, app.state.tasks = runtimes, tasks
            try:
                yield
            finally:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    def stopped(request: Request) -> int:
        return sum(task.done() for task in request.app.state.tasks)

    @app.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        down = stopped(request)
        return JSONResponse({"status": "error" if down else "ok", "jobs_stopped": down},
                            status_code=503 if down else 200)  # fmt: skip

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        runtimes: dict[str, Runtime] = request.app.state.runtimes
        await asyncio.gather(*(run_probes(runtimes[n], probes[n]) for n in runtimes))
        return exposition()

    @app.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        runtimes: dict[str, Runtime] = request.app.state.runtimes
        reports = await asyncio.gather(*(r.readiness() for r in runtimes.values()))
        ready = not stopped(request) and all(report.status == "ok" for report in reports)
        body = {"status": "ok" if ready else "error", "jobs_stopped": stopped(request),
                "services": {r.service: r.model_dump() for r in reports}}  # fmt: skip
        return JSONResponse(body, status_code=200 if ready else 503)

    return app


def consumer_services() -> list[str]:
    return [
        name for name, spec in SPECS.items() if spec.consumers or spec.jobs or housekeeping(spec)
    ]


def relay_services() -> list[str]:
    return [name for name, spec in SPECS.items() if spec.outbox_model is not None]
