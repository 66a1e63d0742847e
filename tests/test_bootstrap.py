"""A new install without the demo: reference data, the first admin once, secrets from
files, and the command line's answers to an operator's mistakes."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
import typer
from alembic.script import ScriptDirectory
from pydantic import SecretStr
from sqlalchemy import select

from services import bootstrap, cli, composition
from services.gateway.models import AccountEvent, User
from services.procedures import catalogue_io
from services.tracking.models import CalendarDay
from shared.auth import PasswordHasher, Role
from shared.db import Database
from shared.errors import Conflict
from shared.migrations import alembic_config, downgrade, pending
from shared.settings import Environment, PlatformSettings
from tests.conftest import embedded_platform
from tests.onestop import ONESTOP

SECRET = "a-production-secret-of-forty-characters!"


@pytest.fixture(autouse=True)
def _portal_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    # The gateway's settings in production want the credential the portal issued.
    monkeypatch.setenv("GATEWAY_PORTAL_CLIENT_SECRET", "the-portal-issued-this-" + "x" * 20)


# The services a bootstrap writes to (the others' settings want their own secrets).
BOOTSTRAPPED = ["procedures", "tracking", "gateway"]


def production(data_dir: Path) -> PlatformSettings:
    return embedded_platform(
        data_dir, environment=Environment.PRODUCTION, jwt_secret=SecretStr(SECRET)
    )


async def rows(platform: PlatformSettings, service: str, model: type) -> list:  # type: ignore[type-arg]
    database = Database(composition.service_settings(service, platform).db_url)
    try:
        async with database.read_session() as session:
            return list(await session.scalars(select(model)))
    finally:
        await database.dispose()


async def test_a_production_install_gets_the_reference_data_and_one_admin_and_no_demo(
    tmp_path: Path,
) -> None:
    platform = production(tmp_path)
    await composition.migrate(BOOTSTRAPPED, platform)
    seeds = bootstrap.reference_seeds()
    first = await bootstrap.load(seeds, platform)
    assert first == {
        "procedures": {"agencies": 11, "procedures": 33, "offers": 14 + 5 * 19},
        "tracking": {"calendars": 1, "days": 130},
    }
    admin = bootstrap.AdminSettings(password=SecretStr("first-login-only-1"))
    assert await bootstrap.create_admin(admin, platform) == "admin"

    # Again, as the migrate job does at every upgrade: nothing added, the admin untouched,
    # and no password needed any more.
    assert await bootstrap.load(seeds, platform) == {
        "procedures": {"agencies": 0, "procedures": 0, "offers": 0},
        "tracking": {"calendars": 0, "days": 0},
    }
    assert await bootstrap.create_admin(bootstrap.AdminSettings(), platform) is None
    # Nor a good one: the operator may empty the secret file after the first login.
    emptied = bootstrap.AdminSettings(password=SecretStr(""))
    assert await bootstrap.create_admin(emptied, platform) is None
    other = bootstrap.AdminSettings(username="second", password=SecretStr("another-password"))
    assert await bootstrap.create_admin(other, platform) is None

    users = await rows(platform, "gateway", User)
    assert [(u.username, u.role, u.password_must_change) for u in users] == [
        ("admin", Role.ADMIN, True)  # no demo account: the given password works once
    ]
    assert await PasswordHasher().verify(users[0].password_hash, "first-login-only-1")
    events = await rows(platform, "gateway", AccountEvent)
    assert [(e.kind, e.detail["by"]) for e in events] == [("admin.created", "bootstrap")]
    assert len(await rows(platform, "tracking", CalendarDay)) == 130


async def test_the_first_admin_needs_a_password_long_enough_and_a_free_username(
    tmp_path: Path,
) -> None:
    platform = production(tmp_path)
    await composition.migrate(["gateway"], platform)
    with pytest.raises(bootstrap.BootstrapError, match="ONESTOP_ADMIN_PASSWORD"):
        await bootstrap.create_admin(bootstrap.AdminSettings(), platform)
    short = bootstrap.AdminSettings(password=SecretStr("short"))
    with pytest.raises(bootstrap.BootstrapError, match="10"):
        await bootstrap.create_admin(short, platform)
    assert await rows(platform, "gateway", User) == []

    # A username some citizen or officer has already is not taken over.
    test_platform = embedded_platform(tmp_path)
    await bootstrap.load({"gateway": bootstrap.SEEDS["gateway"]}, test_platform)
    database = Database(composition.service_settings("gateway", platform).db_url)
    async with database.session() as session:
        admins = await session.scalars(select(User).where(User.role == Role.ADMIN))
        for user in admins:
            await session.delete(user)
    await database.dispose()
    taken = bootstrap.AdminSettings(username="canbo1", password=SecretStr("long-enough-pw"))
    with pytest.raises(Conflict):
        await bootstrap.create_admin(taken, platform)


async def test_an_operators_catalogue_export_bootstraps_another_install(tmp_path: Path) -> None:
    source = embedded_platform(tmp_path / "source")
    await composition.migrate(["procedures"], source)
    await bootstrap.load({"procedures": bootstrap.SEEDS["procedures"]}, source)
    database = Database(composition.service_settings("procedures", source).db_url)
    async with database.read_session() as session:
        document = await catalogue_io.export_catalogue(session)
    await database.dispose()
    export = tmp_path / "catalogue.json"
    export.write_text(document.model_dump_json(), encoding="utf-8")

    target = production(tmp_path / "target")
    await composition.migrate(["procedures"], target)
    seeds = bootstrap.reference_seeds(catalogue=export)
    loaded = await bootstrap.load({"procedures": seeds["procedures"]}, target)
    assert loaded["procedures"] == {
        "agencies": 11, "fields": 16, "procedures": 33, "versions": 33, "offers": 14 + 5 * 19,
    }  # fmt: skip

    broken = tmp_path / "broken.json"
    broken.write_text('{"agencies": "not a list"}', encoding="utf-8")
    with pytest.raises(bootstrap.BootstrapError, match="not a catalogue export"):
        bootstrap.reference_seeds(catalogue=broken)


def test_secrets_are_read_from_the_secrets_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "onestop_admin_password").write_text("from-a-secret-file\n", encoding="utf-8")
    (tmp_path / "ONESTOP_JWT_SECRET").write_text(SECRET, encoding="utf-8")
    monkeypatch.setenv("ONESTOP_SECRETS_DIR", str(tmp_path))
    monkeypatch.delenv("ONESTOP_JWT_SECRET", raising=False)
    admin = bootstrap.AdminSettings()
    assert admin.password is not None
    assert admin.password.get_secret_value() == "from-a-secret-file"
    platform = PlatformSettings(environment=Environment.PRODUCTION)
    assert platform.jwt_secret.get_secret_value() == SECRET
    # The environment wins over a file of the same name.
    monkeypatch.setenv("ONESTOP_ADMIN_PASSWORD", "from-the-environment")
    admin = bootstrap.AdminSettings()
    assert admin.password is not None
    assert admin.password.get_secret_value() == "from-the-environment"


def onestop(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ONESTOP_")}
    return subprocess.run(
        [ONESTOP, *args], capture_output=True, text=True, env={**clean, **env}, timeout=60
    )


def test_the_command_line_says_what_to_fix_in_one_line(tmp_path: Path) -> None:
    version = onestop("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("onestop 0.")
    cases = [
        (("audit",), {"ONESTOP_ENVIRONMENT": "production"}, "ONESTOP_JWT_SECRET must be set"),
        (("migrate", "intake"), {"ONESTOP_MODE": "distributed"}, "INTAKE_DATABASE_URL is required"),
        (("audit",), {"ONESTOP_SECRETS_DIR": str(tmp_path / "none")}, "is not a folder"),
        (("audit", "--data-dir", str(tmp_path / "empty")), {}, "no platform data in"),
        (("seed", "--data-dir", str(tmp_path / "empty")), {}, "no platform data in"),
    ]
    for args, env, message in cases:
        result = onestop(*args, **env)
        assert result.returncode == 1, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    # Nothing was made in the folder the operator mistyped.
    assert not (tmp_path / "empty").exists()


def test_every_command_and_option_has_help() -> None:
    # Typer's own click: a group is what has commands.
    def commands(group: Any, prefix: str) -> Iterator[tuple[str, Any]]:
        for name, command in group.commands.items():
            yield f"{prefix} {name}", command
            if hasattr(command, "commands"):
                yield from commands(command, f"{prefix} {name}")

    found = dict(commands(typer.main.get_command(cli.app), "onestop"))
    assert {"onestop bootstrap", "onestop officers add", "onestop officers deactivate"} <= set(
        found
    )
    for name, command in found.items():
        assert command.help, name
        for parameter in command.params:
            assert getattr(parameter, "help", None), (name, parameter.name)


async def test_a_pod_waits_for_the_migrations_of_its_release(tmp_path: Path) -> None:
    """``onestop migrate --wait``: a new release's pods start once the install job has
    brought every database to the release's migrations, not before."""
    platform = embedded_platform(tmp_path)
    settings = composition.service_settings("procedures", platform)
    migrations = composition.SPECS["procedures"].migrations
    head = ScriptDirectory.from_config(
        alembic_config(migrations, settings.db_url)
    ).get_current_head()
    assert head is not None
    before = await pending(migrations, settings.db_url)
    assert before == f"at nothing, wants {head}"
    await composition.migrate(["procedures"], platform)
    assert await pending(migrations, settings.db_url) is None
    previous = (
        ScriptDirectory.from_config(alembic_config(migrations, settings.db_url))
        .get_revision(head)
        .down_revision
    )
    assert isinstance(previous, str)
    await anyio.to_thread.run_sync(downgrade, migrations, settings.db_url, previous)
    assert await pending(migrations, settings.db_url) == f"at {previous}, wants {head}"

    waited = onestop("migrate", "procedures", "--wait", "--timeout", "0",
                     ONESTOP_DATA_DIR=str(tmp_path))  # fmt: skip
    assert waited.returncode == 1
    assert waited.stderr.strip() == (
        f"onestop: not migrated after 0 s: procedures at {previous}, wants {head}"
    )
    await composition.migrate(["procedures"], platform)
    done = onestop("migrate", "procedures", "--wait", ONESTOP_DATA_DIR=str(tmp_path))
    assert (done.returncode, done.stderr) == (0, "")


def test_a_production_install_has_no_portal_mock_to_migrate_unless_it_names_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real portal is outside: its mock's database is only there when named, and
    `onestop bootstrap` / `migrate --wait` / `backup` leave it out otherwise (a
    production cluster has no PORTAL_DATABASE_URL)."""
    for name in list(os.environ):
        if name.startswith(("ONESTOP_", "PORTAL_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ONESTOP_MODE", "distributed")
    assert composition.installed() == [n for n in composition.SPECS if n != "national_portal"]
    monkeypatch.setenv("PORTAL_DATABASE_URL", "postgresql+asyncpg://onestop@db/portal")
    assert composition.installed() == list(composition.SPECS)
    monkeypatch.setenv("ONESTOP_MODE", "embedded")
    monkeypatch.delenv("PORTAL_DATABASE_URL")
    assert composition.installed() == list(composition.SPECS)  # the demo has it in-process
