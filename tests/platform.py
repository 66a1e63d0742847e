"""The whole platform inside a test, behind its gateway: embedded (one process, SQLite,
in-process events) or distributed (each service on a socket, PostgreSQL, Redis Streams,
the S3 server), with the outbox relays and consumers running in both."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
import httpx
import uvicorn
from fastapi import FastAPI
from redis.asyncio import Redis

from services import bootstrap, composition
from services.gateway.proxy import HttpUpstream, Upstream
from shared.auth import AgencyMembership, Position, Principal, Role, TokenService
from tests.conftest import SERVERS, PgDatabase, distributed_platform, embedded_platform
from tests.infra import S3Server, free_port
from tests.servers import serving, stop_all

CENTRE = "000.00.15.H49"  # the provincial one-stop centre (seeded)
SPECIALIST = "chuyenvien1"  # the centre's seeded specialist
T = TypeVar("T")
# Events reach their consumers within a few of these (the relays poll).
POLL_SECONDS = 0.05
# Each service's pool of PostgreSQL connections in a distributed test platform: four
# platforms at once (pytest -n 4), eight services each, share the server's hundred. A
# request beyond it waits for a connection; the services' default (20) is for production.
POOL = 8


@dataclass
class Platform:
    client: httpx.AsyncClient  # the gateway
    # Each service's app (its lifespan running), the gateway's and the portal mock's.
    apps: dict[str, FastAPI]
    tokens: TokenService
    urls: dict[str, str] = field(default_factory=dict)  # each service's database
    entry: Any = None  # the gateway's ASGI app, which ``client`` calls

    def client_at(self, address: str) -> httpx.AsyncClient:
        """A client calling the gateway from another address (close it after use)."""
        transport = httpx.ASGITransport(app=self.entry, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://gw")

    def auth(self, principal: Principal) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens.issue(principal)}"}

    def admin(self) -> dict[str, str]:
        return self.auth(Principal(subject="admin-1", username="admin", role=Role.ADMIN))

    def citizen(self, subject: str = "citizen-1") -> dict[str, str]:
        return self.auth(Principal(subject=subject, username=subject, role=Role.CITIZEN))

    async def officer_id(self, username: str = SPECIALIST) -> str:
        """A seeded officer's account id: whom a dossier can be assigned to (intake asks
        the gateway's accounts, which know no other)."""
        listed = await self.client.get(f"/api/v1/agencies/{CENTRE}/officers", headers=self.admin())
        assert listed.status_code == 200, listed.text
        return next(str(o["id"]) for o in listed.json() if o["username"] == username)

    def officer(self, subject: str, *positions: Position, agency: str = CENTRE) -> dict[str, str]:
        memberships = tuple(AgencyMembership(agency_code=agency, position=p) for p in positions)
        return self.auth(
            Principal(subject=subject, username=subject, role=Role.OFFICER, agencies=memberships)
        )


async def eventually(check: Callable[[], Awaitable[T | None]], *, seconds: float = 30) -> T:
    """``check()`` once it gives something other than None (or fail after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while True:
        found = await check()
        if found is not None:
            return found
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.05)


_seeded: Path | None = None


async def _migrated_and_seeded(data_dir: Path) -> None:
    """``data_dir`` as ``onestop migrate`` and ``onestop seed`` leave it: built once per
    process, then copied (its SQLite files name no path), since seeding costs about a
    second a platform, mostly hashing the demo accounts' passwords."""
    global _seeded
    if _seeded is None:
        built = Path(tempfile.mkdtemp(prefix="onestop-seeded-"))
        atexit.register(shutil.rmtree, built, ignore_errors=True)
        settings = embedded_platform(built)
        await composition.migrate(composition.SPECS, settings)
        await bootstrap.seed(settings)
        _seeded = built
    await anyio.to_thread.run_sync(
        functools.partial(shutil.copytree, _seeded, data_dir, dirs_exist_ok=True)
    )


@contextlib.asynccontextmanager
async def embedded(data_dir: Path, *, public_url: str = "http://gw") -> AsyncIterator[Platform]:
    """``public_url``: where browsers reach it, when a test serves it on a socket."""
    settings = embedded_platform(data_dir)
    await _migrated_and_seeded(data_dir)
    stack = composition.EmbeddedPlatform(
        settings, public_url=public_url, poll_interval=POLL_SECONDS
    )
    await stack.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=stack), base_url="http://gw"
        ) as client:
            apps = {**stack.services, "gateway": stack.gateway.api, "national_portal": stack.portal}
            yield Platform(client, apps, TokenService.from_settings(settings), entry=stack)
    finally:
        await stack.stop()


@contextlib.asynccontextmanager
async def distributed(
    pg_database: PgDatabase,
    s3: S3Server,
    *,
    notifications: dict[str, Any] | None = None,
    data_dir: Path | None = None,
) -> AsyncIterator[Platform]:
    """``notifications``: its settings (an SMTP server, the SMS provider's address);
    without them, what it would send is written under ``data_dir`` (a temporary one)."""
    scratch = None if data_dir is not None else tempfile.TemporaryDirectory(prefix="onestop-")
    settings = distributed_platform(data_dir=data_dir or Path(scratch.name))  # type: ignore[union-attr]
    # Streams and groups of earlier tests would replay their dossiers' events into this
    # platform (codes repeat from test to test): start from an empty event store.
    redis = Redis.from_url(SERVERS.redis_url)
    await redis.flushdb()
    await redis.aclose()
    urls = {name: await pg_database(name, seeded=True) for name in composition.SPECS}
    fleet: list[uvicorn.Server] = []
    async with contextlib.AsyncExitStack() as stack:
        if scratch is not None:
            stack.callback(scratch.cleanup)  # last, once every server has stopped
        upstreams: dict[str, Upstream] = {}
        apps: dict[str, FastAPI] = {}
        gateway_port = free_port()
        # Intake reads the others: it starts last, handed their addresses.
        names = sorted((*composition.BACKENDS, "national_portal"), key=lambda n: n == "intake")
        for name in names:
            extra: dict[str, Any] = {}
            if name == "documents":
                extra = {
                    "s3_endpoint": s3.endpoint,
                    "s3_access_key": s3.access_key,
                    "s3_secret_key": s3.secret_key,
                    "s3_bucket": "platform-test",
                }
            if name == "notifications":
                # Smaller still: its consumers and delivery lanes take what they get.
                extra = {"public_url": f"http://127.0.0.1:{gateway_port}", "db_pool_size": 5,
                         **(notifications or {})}  # fmt: skip
            if name == "intake":
                extra = {
                    f"{upstream}_url": upstreams[upstream].base_url  # type: ignore[attr-defined]
                    for upstream in ("procedures", "tracking", "documents")
                }
                # The gateway's accounts, served below on a port chosen now.
                extra["accounts_url"] = f"http://127.0.0.1:{gateway_port}"
            service_settings = composition.service_settings(
                name, settings, database_url=urls[name], **{"db_pool_size": POOL, **extra}
            )
            app = composition.SPECS[name].create_app(service_settings)
            base_url = await stack.enter_async_context(serving(app, fleet=fleet))
            upstreams[name] = HttpUpstream(name, base_url)
            apps[name] = app
        # Unwound before the servers: they are told to stop together.
        stack.callback(stop_all, fleet)
        gateway_settings = composition.service_settings(
            "gateway",
            settings,
            database_url=urls["gateway"],
            db_pool_size=POOL,
            **{f"{name}_url": u.base_url for name, u in upstreams.items()},  # type: ignore[attr-defined]
        )
        gateway = composition.SPECS["gateway"].create_app(gateway_settings, upstreams=upstreams)
        await stack.enter_async_context(gateway.lifespan())
        apps["gateway"] = gateway.api
        await stack.enter_async_context(serving(gateway, lifespan="off", port=gateway_port))
        stop = asyncio.Event()
        # The services' workers and the gateway's (the national portal sync).
        workers = {name: app for name, app in apps.items() if name != "national_portal"}
        tasks = composition.spawn_workers(workers, stop, worker="test", poll_interval=POLL_SECONDS)
        try:
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://gw")
            )
            yield Platform(client, apps, TokenService.from_settings(settings), urls, gateway)
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
