"""A new install's first data, apart from the demo's: the reference data (agencies, the
catalogue, the national calendar) and the first admin (``onestop bootstrap``); then
officers from the command line through the admin API (``onestop officers``).

Part of the composition root with ``composition.py``: it reaches several services.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from services.composition import service_settings
from services.gateway import seed as gateway_seed
from services.gateway import staff
from services.gateway.schemas import OFFICER_USERNAME
from services.national_portal import portal
from services.national_portal.schemas import ProcedureIn
from services.procedures import seed as procedures_seed
from services.procedures.caching import invalidate_shared_cache as invalidate_catalogue_cache
from services.procedures.catalogue_io import import_catalogue
from services.procedures.models import OutboxRecord as ProceduresOutbox
from services.procedures.schemas import CatalogueDocument
from services.tracking import seed as tracking_seed
from shared.auth import PasswordHasher, Principal, Role, TokenService
from shared.db import Database
from shared.events import Outbox
from shared.settings import PlatformSettings, ServiceSettings, Settings

# Shorter than this, the first admin's password is refused (as a new password is).
MIN_ADMIN_PASSWORD = 10
CLI_SUBJECT = "onestop-cli"


class BootstrapError(RuntimeError):
    """What the operator must fix before the install can be bootstrapped."""


class SeedRefused(BootstrapError):
    pass


@dataclass(frozen=True)
class ServiceSeed:
    """Data a service starts with, and what to do once it is committed."""

    load: Callable[[AsyncSession], Awaitable[dict[str, int]]]
    # E.g. drop a read cache that a running service holds over the old data.
    committed: Callable[[ServiceSettings], Awaitable[None]] | None = None


async def seed_portal_procedures(session: AsyncSession) -> dict[str, int]:
    """The portal mock's national procedure database: the catalogue's procedures, so
    that the dossiers the platform syncs name procedures the portal knows."""
    _, procedures = procedures_seed.load_catalogue()
    known = [ProcedureIn(MaTTHC=p.code, TenTTHC=p.name) for p in procedures]
    return {"procedures": await portal.register_procedures(session, known)}


def read_catalogue_export(path: Path) -> CatalogueDocument:
    """An operator's catalogue (``GET /api/v1/catalogue/export``'s document)."""
    try:
        return CatalogueDocument.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise BootstrapError(f"{path}: not a catalogue export ({exc.__class__.__name__})") from exc


async def import_catalogue_export(
    document: CatalogueDocument, session: AsyncSession
) -> dict[str, int]:
    outbox = Outbox(ProceduresOutbox, source="procedures")
    report = await import_catalogue(session, document=document, outbox=outbox)
    return report.model_dump()


class AdminSettings(Settings):
    """The first admin (``ONESTOP_ADMIN_*``; the password also from the secrets folder,
    as the file ``onestop_admin_password``)."""

    model_config = SettingsConfigDict(env_prefix="ONESTOP_ADMIN_", extra="ignore")

    username: str = Field(default="admin", pattern=OFFICER_USERNAME)
    full_name: str = Field(default="Quản trị hệ thống", min_length=1, max_length=200)
    password: SecretStr | None = None


def reference_seeds(
    *, agencies: Path | None = None, catalogue: Path | None = None, portal_mock: bool = False
) -> dict[str, ServiceSeed]:
    """What every install needs, production included: the catalogue (the shipped one
    with ``agencies``, or an operator's export), the national calendar, and for an
    install with the national portal mock, the mock's list of procedures."""
    procedures: Callable[[AsyncSession], Awaitable[dict[str, int]]]
    if catalogue is not None:
        procedures = functools.partial(import_catalogue_export, read_catalogue_export(catalogue))
    else:
        procedures = functools.partial(
            procedures_seed.seed, agencies_file=agencies or procedures_seed.AGENCIES_FILE
        )
    seeds = {
        "procedures": ServiceSeed(procedures, committed=invalidate_catalogue_cache),
        "tracking": ServiceSeed(tracking_seed.seed),
    }
    if portal_mock:
        seeds["national_portal"] = ServiceSeed(seed_portal_procedures)
    return seeds


# The demo (``make run``, the tests): the reference data and the demo accounts, in order:
# officers' memberships name agencies the procedures' part creates.
_reference = reference_seeds(portal_mock=True)
SEEDS: dict[str, ServiceSeed] = {
    "procedures": _reference["procedures"],
    "gateway": ServiceSeed(gateway_seed.seed),
    "tracking": _reference["tracking"],
    "national_portal": _reference["national_portal"],
}


async def load(
    seeds: Mapping[str, ServiceSeed], platform: PlatformSettings | None = None
) -> dict[str, dict[str, int]]:
    """Each service's part in its own transaction, in the order given; again, each
    adds only what is missing."""
    results: dict[str, dict[str, int]] = {}
    for name, service_seed in seeds.items():
        settings = service_settings(name, platform)
        database = Database(settings.db_url)
        try:
            async with database.session() as session:
                results[name] = await service_seed.load(session)
        finally:
            await database.dispose()
        if service_seed.committed is not None:
            await service_seed.committed(settings)
    return results


async def seed(platform: PlatformSettings | None = None) -> dict[str, dict[str, int]]:
    """The demo data of every service that has some. Refused in production."""
    if (platform or PlatformSettings()).is_production:
        raise SeedRefused("demo data is never loaded in production")
    return await load(SEEDS, platform)


async def create_admin(
    admin: AdminSettings, platform: PlatformSettings | None = None
) -> str | None:
    """The first admin's username if made now; None when an admin exists already (then
    the password is not needed, nor looked at: an operator may empty its file)."""
    password = admin.password.get_secret_value() if admin.password is not None else ""
    database = Database(service_settings("gateway", platform).db_url)
    try:
        async with database.session() as session:
            if await staff.admin_exists(session):
                return None
            if not password:
                raise BootstrapError(
                    "no admin yet: set ONESTOP_ADMIN_PASSWORD (or the file "
                    "onestop_admin_password in ONESTOP_SECRETS_DIR) for the first one"
                )
            if len(password) < MIN_ADMIN_PASSWORD:
                raise BootstrapError(
                    f"ONESTOP_ADMIN_PASSWORD must be {MIN_ADMIN_PASSWORD}+ characters"
                )
            user = await staff.create_first_admin(
                session,
                username=admin.username,
                full_name=admin.full_name,
                password=password,
                hasher=PasswordHasher(),
                now=datetime.now(UTC),
            )
            return user.username if user is not None else None
    finally:
        await database.dispose()


def admin_api(url: str, platform: PlatformSettings | None = None) -> httpx.AsyncClient:
    """A client of the gateway's admin API, as an admin: a short-lived token this
    command signs with the platform's secret (so it needs the install's settings)."""
    tokens = TokenService.from_settings(platform or PlatformSettings())
    principal = Principal(subject=CLI_SUBJECT, username=CLI_SUBJECT, role=Role.ADMIN)
    return httpx.AsyncClient(
        base_url=url.rstrip("/"),
        headers={"authorization": f"Bearer {tokens.issue(principal)}"},
        timeout=httpx.Timeout(30.0, connect=5.0),
    )


class ApiRefused(RuntimeError):
    """The admin API said no: its problem's title and details, for one line."""


def answer(response: httpx.Response) -> Any:
    if response.is_success:
        return response.json()
    try:
        problem = response.json()
    except ValueError:
        problem = {"title": response.text[:200]}
    details = "; ".join(
        f"{error.get('pointer', '')} {error.get('message', '')}".strip()
        for error in problem.get("errors", [])
    )
    title = problem.get("detail") or problem.get("title") or response.reason_phrase
    raise ApiRefused(f"{response.status_code} {title}" + (f" ({details})" if details else ""))
