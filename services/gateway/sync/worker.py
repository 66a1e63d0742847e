"""The sync worker: claims owed dossiers, reads each whole from intake, sends the
portal what it lacks, and retries with backoff or dead-letters what cannot be sent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from opentelemetry.trace import SpanKind
from sqlalchemy import case, select, update

from services.gateway import national
from services.gateway.config import GatewaySettings
from services.gateway.models import PortalSync, User
from services.gateway.portal_client import PortalClient, PortalError
from shared import tracing
from shared.auth import Principal, Role, TokenService
from shared.contracts.dvcqg import ErrorCode
from shared.contracts.national import NationalRecord, NationalVersions
from shared.db import Database
from shared.errors import is_store_away
from shared.http import create_http_client
from shared.lanes import run_in_lanes
from shared.retry import Backoff
from shared.runtime import BackgroundJob, Runtime
from shared.tracing import TRACEPARENT

logger = logging.getLogger("onestop.gateway.sync")
# Intake (the platform's own side) unreachable or unavailable: the dossier is tried again
# after this, for as long as the outage lasts, without spending the portal's retry budget.
INTAKE_AWAY_RETRY_SECONDS = 2.0


class IntakeAway(PortalError):
    """The dossier could not be read from intake because intake, or its database, is
    away: nothing was tried at the portal."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


# Who the sync is when it reads intake: an admin principal of its own.
SYNC_PRINCIPAL = Principal(subject="portal-sync", username="portal-sync", role=Role.ADMIN)


@dataclass(frozen=True)
class Claim:
    code: str
    changes: int
    sent_version: int
    sent_steps: int
    attempts: int
    owed_since: datetime | None
    traceparent: str | None = None
    lease: datetime | None = None  # when this claim would lapse (its next_attempt_at)


@dataclass
class Attempt:
    """What one attempt got the portal to acknowledge."""

    version: int
    steps: int
    moved: bool = False


class SyncWorker:
    """Claims owed dossiers and sends them, ``concurrency`` at a time."""

    def __init__(
        self,
        db: Database,
        settings: GatewaySettings,
        *,
        intake: httpx.AsyncClient,
        portal: PortalClient,
        tokens: TokenService,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._settings = settings
        self._intake = intake
        self._portal = portal
        self._tokens = tokens
        self._clock = clock
        self._backoff = Backoff(
            settings.portal_retry_base_seconds, settings.portal_retry_cap_seconds
        )
        self._token: tuple[str, float] | None = None
        # Claims a store outage interrupted: handed back at the next claim rather than
        # left leased for ``portal_sync_lease_seconds`` (two minutes) after the outage.
        self._interrupted: dict[str, datetime] = {}

    # -- the loop -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: claim owed dossiers as lanes come free (``concurrency`` at
        once) and send each in a task of its own; rest for the poll interval when
        nothing is owed. On ``stop``, the dossiers in hand are finished first."""
        await run_in_lanes(
            stop, lanes=self._settings.portal_sync_concurrency,
            poll_seconds=self._settings.portal_sync_poll_seconds, claim=self._claim,
            handle=self._guarded, name="portal sync",
        )  # fmt: skip

    async def _guarded(self, claim: Claim) -> None:
        """``sync``, whose unexpected failures (the gateway's own database) are logged:
        the claim's lease runs out and the dossier is claimed again."""
        try:
            await self.sync(claim)
        except Exception as exc:
            if is_store_away(exc) and claim.lease is not None:
                self._interrupted[claim.code] = claim.lease
                logger.warning(
                    "portal sync interrupted, the database is away",
                    extra={"dossier": claim.code, "error": type(exc).__name__},
                )
                return
            logger.exception("portal sync failed; retried when its lease ends",
                             extra={"dossier": claim.code})  # fmt: skip

    async def drain(self) -> int:
        """Send until nothing owed is due now (tests, the reconcile command): how many."""
        done = 0
        while claims := await self._claim(self._settings.portal_sync_concurrency):
            await asyncio.gather(*(self.sync(claim) for claim in claims))
            done += len(claims)
        return done

    # -- claiming ---------------------------------------------------------------------------

    async def _claim(self, limit: int) -> list[Claim]:
        now = self._clock()
        lease = now + timedelta(seconds=self._settings.portal_sync_lease_seconds)
        due = (
            select(PortalSync.code)
            .where(PortalSync.owed, PortalSync.dead_at.is_(None), PortalSync.next_attempt_at <= now)
            .order_by(PortalSync.next_attempt_at)
            .limit(limit)
        )
        if not self._db.is_sqlite:
            due = due.with_for_update(skip_locked=True)  # another worker's claim is skipped
        statement = (
            update(PortalSync)
            .where(PortalSync.code.in_(due.scalar_subquery()))
            .values(next_attempt_at=lease)
            .returning(PortalSync.code, PortalSync.changes, PortalSync.sent_version,
                       PortalSync.sent_steps, PortalSync.attempts, PortalSync.owed_since,
                       PortalSync.traceparent)
        )  # fmt: skip
        async with self._db.session() as session:
            for code, lease_at in list(self._interrupted.items()):
                # Still ours if no one claimed it since (its lease is the one we set).
                await session.execute(
                    update(PortalSync)
                    .where(PortalSync.code == code, PortalSync.next_attempt_at == lease_at)
                    .values(next_attempt_at=now)
                )
            self._interrupted.clear()
            rows = (await session.execute(statement)).all()
        return [Claim(*row, lease=lease) for row in rows]

    # -- sending ----------------------------------------------------------------------------

    async def sync(self, claim: Claim) -> None:
        parent = {TRACEPARENT: claim.traceparent} if claim.traceparent else None
        with tracing.span("portal.sync", parent=parent, kind=SpanKind.PRODUCER,
                          dossier=claim.code):  # fmt: skip
            await self._sync(claim)

    async def _sync(self, claim: Claim) -> None:
        attempt = Attempt(claim.sent_version, claim.sent_steps)
        try:
            record = await self._record(claim.code)
            await self._send(record, attempt)
        except PortalError as exc:
            await self._failed(claim, attempt, exc)
            return
        await self._succeeded(claim, attempt)

    async def _send(self, record: NationalRecord, attempt: Attempt) -> None:
        if record.version > attempt.version:
            updating = attempt.version > 0
            try:
                await self._portal.call(
                    "DongBoHoSoMC", national.dossier_body(record, updating=updating)
                )
            except PortalError as exc:
                if not (updating and exc.code == ErrorCode.NOT_FOUND):
                    raise
                # The portal lost the dossier it had: send it as new.
                await self._portal.call(
                    "DongBoHoSoMC", national.dossier_body(record, updating=False)
                )
            attempt.version, attempt.moved = record.version, True
        if attempt.steps < len(record.steps):
            names = await self._names(national.officer_subjects(record))
            for step in record.steps[attempt.steps :]:
                try:
                    await self._portal.call(
                        "CapNhatTienDoHoSoMC", national.progress_body(record, step, names)
                    )
                except PortalError as exc:
                    if exc.code == ErrorCode.NOT_FOUND:
                        # The portal lost the dossier: the next attempt sends it whole.
                        attempt.version, attempt.steps = 0, 0
                    raise
                attempt.steps, attempt.moved = attempt.steps + 1, True

    async def _record(self, code: str) -> NationalRecord:
        try:
            response = await self._intake.get(
                f"/api/v1/national/dossiers/{code}",
                headers={"Authorization": f"Bearer {self._bearer()}"},
                timeout=self._settings.portal_timeout_seconds,
            )
        except httpx.HTTPError as exc:
            raise IntakeAway(f"intake: {type(exc).__name__}") from exc
        if response.status_code == 404:
            raise PortalError("intake has no such dossier", retryable=False)
        if response.status_code in (502, 503, 504):
            raise IntakeAway(f"intake: HTTP {response.status_code}")
        if response.status_code != 200:
            # Busy, down, or refusing the sync's token (a setting to fix): retried.
            raise PortalError(f"intake: HTTP {response.status_code}", retryable=True)
        return NationalRecord.model_validate_json(response.content)

    async def versions(self, *, after: str | None, limit: int) -> NationalVersions:
        response = await self._intake.get(
            "/api/v1/national/dossiers",
            params={"limit": limit, **({"after": after} if after else {})},
            headers={"Authorization": f"Bearer {self._bearer()}"},
            timeout=self._settings.portal_timeout_seconds,
        )
        response.raise_for_status()
        return NationalVersions.model_validate_json(response.content)

    def _bearer(self) -> str:
        """The sync's own token for intake, renewed at half its lifetime."""
        now = time.monotonic()
        if self._token is None or now >= self._token[1]:
            lifetime = self._tokens.ttl.total_seconds()
            self._token = (self._tokens.issue(SYNC_PRINCIPAL), now + lifetime / 2)
        return self._token[0]

    async def _names(self, subjects: set[str]) -> dict[str, str]:
        """Officers' names from the accounts the gateway keeps."""
        ids = []
        for subject in subjects:
            with contextlib.suppress(ValueError):
                ids.append(uuid.UUID(subject))
        if not ids:
            return {}
        async with self._db.read_session() as session:
            rows = await session.execute(select(User.id, User.full_name).where(User.id.in_(ids)))
            return {str(user_id): name for user_id, name in rows.all()}

    # -- the outcome ------------------------------------------------------------------------

    async def _succeeded(self, claim: Claim, attempt: Attempt) -> None:
        now = self._clock()
        lag = (now - claim.owed_since).total_seconds() if claim.owed_since else None
        unchanged = PortalSync.changes == claim.changes
        async with self._db.session() as session:
            await session.execute(
                update(PortalSync)
                .where(PortalSync.code == claim.code)
                .values(
                    sent_version=attempt.version,
                    sent_steps=attempt.steps,
                    attempts=0,
                    last_error=None,
                    synced_at=now,
                    lag_seconds=lag,
                    # A change that came in meanwhile is owed still, from about now.
                    owed=~unchanged,
                    owed_since=case((unchanged, None), else_=now),
                    next_attempt_at=now,
                )
            )

    async def _failed(self, claim: Claim, attempt: Attempt, error: PortalError) -> None:
        now = self._clock()
        if isinstance(error, IntakeAway):
            # Not the portal's failure: the budget and the backoff are left as they were,
            # and the dossier is tried again soon after intake is back.
            attempts, wait = claim.attempts, INTAKE_AWAY_RETRY_SECONDS
        else:
            attempts = 1 if attempt.moved else claim.attempts + 1
            wait = self._backoff.delay(attempts)
        dead = not error.retryable or attempts >= self._settings.portal_retry_budget
        values: dict[str, Any] = {
            "sent_version": attempt.version,
            "sent_steps": attempt.steps,
            "attempts": attempts,
            "last_error": str(error)[:2000],
            "next_attempt_at": now + timedelta(seconds=wait),
        }
        if dead:
            values["dead_at"] = now
            logger.error("portal sync dead-lettered: %s", error, extra={"dossier": claim.code})
        async with self._db.session() as session:
            await session.execute(
                update(PortalSync).where(PortalSync.code == claim.code).values(**values)
            )


async def run_sync(runtime: Runtime, stop: asyncio.Event) -> None:
    """The gateway's sync worker, until ``stop``. Beside the app it uses the app's
    clients of intake and the portal; in a worker process, clients of their URLs."""
    settings = runtime.settings
    assert isinstance(settings, GatewaySettings)
    if not settings.portal_sync_enabled:
        logger.info("portal sync is off (GATEWAY_PORTAL_SYNC_ENABLED=false)")
        return
    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, httpx.AsyncClient] = {}
        for name in ("intake", "national_portal"):
            client = runtime.clients.get(name)
            url = settings.upstream_url(name)
            if client is None and url is not None:
                client = await stack.enter_async_context(create_http_client(url))
            if client is None:
                logger.warning("portal sync has no address for %s; not started", name)
                return
            clients[name] = client
        runtime.clients.update(clients)
        worker, _ = worker_for(runtime)
        await worker.run(stop)


def worker_for(runtime: Runtime) -> tuple[SyncWorker, PortalClient]:
    """A sync worker on the runtime's database and its clients of intake and the portal."""
    settings = runtime.settings
    assert isinstance(settings, GatewaySettings)
    portal = PortalClient(
        runtime.clients["national_portal"],
        client_id=settings.portal_client_id,
        client_secret=settings.portal_client_secret.get_secret_value(),
        timeout_seconds=settings.portal_timeout_seconds,
    )
    worker = SyncWorker(
        runtime.db, settings, intake=runtime.clients["intake"], portal=portal,
        tokens=runtime.tokens,
    )  # fmt: skip
    return worker, portal


SYNC_JOB = BackgroundJob(name="gateway.portal_sync", run=run_sync)
