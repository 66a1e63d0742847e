"""``onestop``: run, serve, migrate, seed, workers. The composition root's command line."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import sys
from collections.abc import Callable
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from services import backup, bootstrap, composition
from services.notifications.config import DEMO_SMS_KEY
from services.sms_mock.main import create_app as create_sms_mock
from shared import tracing
from shared.auth import AgencyMembership, Position
from shared.logging import configure_logging
from shared.migrations import make_revision
from shared.serving import serve as serve_app
from shared.settings import InsecureSettingsError, Mode, PlatformSettings, SettingsFolderError

app = typer.Typer(help="Nền tảng Bộ phận Một cửa — one-stop desk platform.", no_args_is_help=True)

DEMO_LOGINS = (
    ("quản trị", "admin", "admin-demo"),
    ("cán bộ một cửa", "canbo1", "canbo-demo"),
    ("chuyên viên xử lý", "chuyenvien1", "canbo-demo"),
    ("lãnh đạo", "lanhdao1", "canbo-demo"),
    ("chuyên viên Sở Tư pháp (liên thông)", "tuphap1", "canbo-demo"),
    ("công dân", "001099000001", "congdan-demo"),
    ("công dân", "001099000002", "congdan-demo"),
)
SEEDED_MARKER = ".seeded"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"onestop {package_version('onestop')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Nền tảng Bộ phận Một cửa — one-stop desk platform."""


DataDir = Annotated[
    Path | None,
    typer.Option(
        help="Embedded mode: the folder `onestop run` keeps its data in (default: data).",
        file_okay=False,
    ),
]


class Refused(Exception):
    """A command that cannot do what it was asked: one line to the operator, exit 1."""


def _platform(data_dir: Path | None, *, needs: list[str]) -> PlatformSettings:
    """The settings a command works on. Embedded, the folder must hold the databases
    ``needs`` names already: a command pointed at the wrong folder would otherwise make
    empty ones there and report on nothing."""
    overrides: dict[str, Any] = {} if data_dir is None else {"data_dir": data_dir.resolve()}
    platform = PlatformSettings(**overrides)
    missing = []
    for name in needs:
        url = make_url(composition.service_settings(name, platform).db_url)
        if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
            missing.append(Path(url.database or "").name)
    if missing:
        raise Refused(
            f"no platform data in {platform.data_dir} ({', '.join(missing)} missing): "
            "give the folder `onestop run --data-dir` uses, or run `onestop migrate` there"
        )
    return platform


def _service_name(value: str) -> str:
    if value not in composition.SPECS:
        raise typer.BadParameter(f"unknown service; one of {', '.join(composition.SPECS)}")
    return value


@app.command()
def run(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    data_dir: Annotated[Path, typer.Option(help="Where SQLite files and objects live.")] = Path(
        "data"
    ),
) -> None:
    """Run the whole platform in one process (embedded mode: SQLite, local files)."""
    platform = PlatformSettings(mode=Mode.EMBEDDED, data_dir=data_dir.resolve())
    configure_logging(platform.log_level, log_format=platform.log_format)
    tracing.configure("platform")
    names = list(composition.SPECS)
    # Each migration applied is a line: not what a person starting the demo needs to
    # read before the banner (`onestop migrate` and `bootstrap` still show them).
    for name in ("alembic", "onestop.platform"):
        logging.getLogger(name).setLevel(logging.WARNING)
    asyncio.run(composition.migrate(names, platform))
    logging.getLogger("onestop.platform").setLevel(logging.NOTSET)
    marker = platform.data_dir / SEEDED_MARKER
    if not marker.exists() and not platform.is_production:
        asyncio.run(bootstrap.seed(platform))
        marker.write_text("demo data loaded\n", encoding="utf-8")
    url = f"http://{host}:{port}"
    embedded = composition.EmbeddedPlatform(platform, public_url=url)
    typer.echo(f"\nMột cửa đang chạy: {url}")
    typer.echo(
        f"  Trang web:    {url}/  (tra cứu hồ sơ: {url}/tra-cuu, đăng nhập: {url}/dang-nhap)"
    )
    typer.echo(
        f"  Cán bộ:       {url}/can-bo  (lãnh đạo: {url}/lanh-dao, quản trị: {url}/quan-tri/can-bo)"
    )
    typer.echo(f"  API:          {url}/api/v1/health  (tài liệu: {url}/docs)")
    typer.echo(f"  Cổng DVCQG (mô phỏng): {url}{composition.PORTAL_MOUNT}/readyz")
    typer.echo(f"  Đăng nhập VNeID (mô phỏng): {url}/api/v1/auth/vneid")
    typer.echo(f"  Thư điện tử (chưa cấu hình SMTP, ghi thành tệp): {platform.data_dir / 'mail'}")
    typer.echo(f"  SMS/Zalo (mô phỏng): {url}{composition.SMS_MOCK_MOUNT}/api/admin/messages"
               f"  (x-api-key: {DEMO_SMS_KEY})")  # fmt: skip
    typer.echo(f"  Dữ liệu:      {platform.data_dir}")
    typer.echo("  Tài khoản demo:")
    for role, username, password in DEMO_LOGINS:
        typer.echo(f"    {role:<15} {username:<14} / {password}")
    typer.echo("")
    serve_app(embedded, host=host, port=port)


@app.command()
def serve(
    service: Annotated[str, typer.Argument(callback=_service_name, help="The service to run.")],
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    # In a container: every interface.
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",
) -> None:
    """Run one service (distributed mode: its own process, PostgreSQL, Redis, S3)."""
    spec = composition.SPECS[service]
    settings = spec.settings_type()
    configure_logging(settings.platform.log_level, log_format=settings.platform.log_format)
    tracing.configure(service)
    serve_app(spec.create_app(settings), host=host, port=port)


@app.command("sms-mock")
def sms_mock(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",
) -> None:
    """Run the SMS and Zalo provider mock (development; SMS_MOCK_API_KEY is its key)."""
    configure_logging()
    serve_app(create_sms_mock(), host=host, port=port)


@app.command()
def migrate(
    service: Annotated[str | None, typer.Argument(help="One service; all when omitted.")] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Apply nothing: wait until the databases are at this release's migrations "
            "(a pod's init step while the install job runs).",
        ),
    ] = False,
    timeout: Annotated[float, typer.Option(help="With --wait: give up after seconds.")] = 900,
) -> None:
    """Create each service's database if missing and apply its migrations."""
    configure_logging()
    names = [_service_name(service)] if service else composition.installed()
    if not wait:
        asyncio.run(composition.migrate(names))
        return
    left = asyncio.run(composition.wait_migrated(names, within=timeout))
    if left:
        gaps = "; ".join(f"{name} {gap}" for name, gap in left.items())
        raise Refused(f"not migrated after {timeout:g} s: {gaps}")


@app.command()
def revision(
    service: Annotated[str, typer.Argument(callback=_service_name, help="The service.")],
    message: Annotated[str, typer.Option("--message", "-m", help="What the migration does.")],
) -> None:
    """Write a new migration of SERVICE from its models (against its migrated database)."""
    configure_logging()
    spec = composition.SPECS[service]
    url = spec.settings_type().db_url
    asyncio.run(composition.migrate([service]))
    make_revision(spec.migrations, url, message)


@app.command()
def seed(data_dir: DataDir = None) -> None:
    """Load the demo data (agencies, catalogue, calendar, demo accounts). Refused in
    production, which starts with `onestop bootstrap`."""
    configure_logging()
    platform = _platform(data_dir, needs=list(bootstrap.SEEDS))
    try:
        results = asyncio.run(bootstrap.seed(platform))
    except bootstrap.SeedRefused as exc:
        raise Refused(f"refused: {exc}") from exc
    _print_counts(results)


def _print_counts(results: dict[str, dict[str, int]]) -> None:
    for name, counts in results.items():
        typer.echo(f"{name}: " + ", ".join(f"{k} +{v}" for k, v in counts.items()))


@app.command("bootstrap")
def bootstrap_install(
    agencies: Annotated[
        Path | None,
        typer.Option(
            help="The install's agencies (YAML, as services/procedures/seed_data/agencies.yaml); "
            "default: the shipped province's.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    catalogue: Annotated[
        Path | None,
        typer.Option(
            help="An operator's catalogue export (JSON, GET /api/v1/catalogue/export) instead "
            "of the shipped catalogue and --agencies.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    portal_mock: Annotated[
        bool,
        typer.Option(help="Also give the national portal mock its procedures (not production)."),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Install or upgrade: apply every service's migrations, load the reference data
    (agencies, the catalogue, the national calendar), and create the first admin from
    ONESTOP_ADMIN_USERNAME and ONESTOP_ADMIN_PASSWORD (or the secrets folder). Safe to
    run again, at every upgrade: it adds only what is missing and never changes an admin."""
    configure_logging()
    seeds = bootstrap.reference_seeds(
        agencies=agencies, catalogue=catalogue, portal_mock=portal_mock
    )
    platform = _platform(data_dir, needs=[])
    if portal_mock and platform.is_production:
        raise Refused("the national portal mock is not part of a production install")
    admin = bootstrap.AdminSettings()
    asyncio.run(composition.migrate(composition.installed(platform), platform))
    _print_counts(asyncio.run(bootstrap.load(seeds, platform)))
    created = asyncio.run(bootstrap.create_admin(admin, platform))
    if created:
        typer.echo(f"admin: {created} created; the password given is for the first login only")
    else:
        typer.echo("admin: one exists already, none created")


@app.command()
def audit(data_dir: DataDir = None) -> None:
    """Verify every dossier's audit chain; exit 1 if any entry was changed or removed."""
    configure_logging()
    platform = _platform(data_dir, needs=["intake"])
    checked, breaks = asyncio.run(composition.verify_audit(platform))
    for found in breaks:
        typer.echo(f"{found.dossier_code} #{found.sequence}: {found.reason}", err=True)
    typer.echo(f"{checked} audit entries checked, {len(breaks)} problems")
    if breaks:
        raise typer.Exit(code=1)


def _all_settings() -> dict[str, Any]:
    return {name: composition.service_settings(name) for name in composition.installed()}


@app.command("backup")
def backup_install(
    destination: Annotated[
        Path, typer.Argument(help="A new folder for the backup (never an existing one).")
    ],
) -> None:
    """Back up every service's database (pg_dump) and the documents' bucket, with a
    manifest of checksums; the platform may keep running."""
    configure_logging()
    try:
        summary = asyncio.run(backup.backup(destination, _all_settings()))
    except backup.BackupError as exc:
        raise Refused(str(exc)) from exc
    for name, size in summary.databases.items():
        typer.echo(f"{name}: {size} bytes")
    typer.echo(f"documents: {summary.objects} objects, {summary.object_bytes} bytes")
    typer.echo(f"backup in {destination}")


@app.command("restore")
def restore_install(
    source: Annotated[Path, typer.Argument(help="A folder `onestop backup` made.")],
    replace: Annotated[
        bool,
        typer.Option(help="Drop what the databases hold first (else they must be empty)."),
    ] = False,
) -> None:
    """Restore every service's database and the documents from a backup, after checking
    every file against its manifest. Stop the platform's services and workers first."""
    configure_logging()
    try:
        summary = asyncio.run(backup.restore(source, _all_settings(), replace=replace))
    except backup.BackupError as exc:
        raise Refused(str(exc)) from exc
    typer.echo(
        f"restored {len(summary.databases)} databases and {summary.objects} documents "
        f"({summary.object_bytes} bytes)"
    )


portal_app = typer.Typer(help="The national portal (DVCQG) and the sync to it.")
app.add_typer(portal_app, name="portal")


@portal_app.command("reconcile")
def portal_reconcile(
    send: Annotated[
        bool, typer.Option(help="Send what is owed now, from here (else the workers will).")
    ] = True,
) -> None:
    """Compare every dossier with what the national portal holds; list and re-send the
    ones it lacks or holds at an older version. Exit 1 if any is left dead-lettered."""
    configure_logging()
    found, sent, dead = asyncio.run(composition.reconcile_portal(send=send))
    for code in found.missing:
        typer.echo(f"missing at the portal: {code}")
    for code in found.stale:
        typer.echo(f"stale at the portal:   {code}")
    typer.echo(
        f"{found.checked} dossiers checked: {len(found.missing)} missing, "
        f"{len(found.stale)} stale; {sent} sent; {dead} dead-lettered"
    )
    if dead:
        typer.echo("see GET /api/v1/admin/portal-sync/dead-letters for the reasons", err=True)
        raise typer.Exit(code=1)


@app.command()
def worker(
    name: Annotated[
        str,
        typer.Argument(
            help="The worker: 'relay' (outboxes to Redis) or 'consume' (events into services)."
        ),
    ],
    service: Annotated[
        list[str] | None,
        typer.Option(
            help="Only this service's part; repeat it for several (e.g. '--service gateway'"
            " alone is the portal sync, to scale or restart apart from the other consumers)."
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="Port of its /healthz and /readyz.")] = 8000,
    host: Annotated[str, typer.Option(help="Address of its /healthz and /readyz.")] = "0.0.0.0",
) -> None:
    """Run a background worker (distributed mode) until SIGTERM; it answers /healthz and
    /readyz on PORT for the orchestrator's probes."""
    if name not in ("relay", "consume"):
        raise typer.BadParameter("known workers: relay, consume")
    platform = PlatformSettings()
    if platform.mode is not Mode.DISTRIBUTED:
        raise Refused("workers run in distributed mode (ONESTOP_MODE=distributed)")
    configure_logging(platform.log_level, log_format=platform.log_format)
    tracing.configure(f"worker-{name}")
    jobs: composition.WorkerJobs
    if name == "relay":
        names = [_service_name(s) for s in service] if service else composition.relay_services()
        jobs = composition.relay_jobs
    else:
        names = [_service_name(s) for s in service] if service else composition.consumer_services()
        # Each process its own consumer name: Redis shares a group's messages among them.
        jobs = functools.partial(
            composition.consumer_jobs, worker=f"{socket.gethostname()}-{os.getpid()}"
        )
    app = composition.worker_app(names, jobs, streams=name == "consume")
    serve_app(app, host=host, port=port)


officers_app = typer.Typer(
    help="Officer accounts, through the running platform's admin API (as /quan-tri/can-bo).",
    no_args_is_help=True,
)
app.add_typer(officers_app, name="officers")
GatewayUrl = Annotated[
    str,
    typer.Option(
        "--url",
        envvar="ONESTOP_URL",
        help="The platform's gateway (inside a container: http://127.0.0.1:8000).",
    ),
]


def _membership(value: str) -> AgencyMembership:
    code, _, position = value.partition(":")
    try:
        return AgencyMembership(agency_code=code, position=Position(position or "desk"))
    except ValueError as exc:
        positions = ", ".join(p.value for p in Position)
        raise typer.BadParameter(f"AGENCY_CODE:POSITION, the position one of {positions}") from exc


def _call(url: str, request: Callable[[Any], Any]) -> Any:
    async def go() -> Any:
        async with bootstrap.admin_api(url) as client:
            return bootstrap.answer(await request(client))

    try:
        return asyncio.run(go())
    except bootstrap.ApiRefused as exc:
        raise Refused(str(exc)) from exc
    except (OSError, httpx.HTTPError) as exc:
        raise Refused(f"cannot reach the platform at {url}: {exc}") from exc


def _officer_line(officer: dict[str, Any]) -> str:
    places = ", ".join(f"{m['agency_code']}:{m['position']}" for m in officer["memberships"])
    state = "active" if officer["is_active"] else "inactive"
    return f"{officer['username']:<20} {state:<8} {officer['full_name']}  [{places}]"


@officers_app.command("add")
def officers_add(
    username: Annotated[str, typer.Argument(help="Lowercase letters, digits, . _ -")],
    full_name: Annotated[str, typer.Option("--name", help="The officer's full name.")],
    agency: Annotated[
        list[str],
        typer.Option(help="AGENCY_CODE:POSITION (desk, specialist or leader); repeatable."),
    ],
    url: GatewayUrl = "http://127.0.0.1:8000",
) -> None:
    """Create an officer; print the one-time password they set their own with."""
    memberships = [_membership(value).model_dump(mode="json") for value in agency]
    body = {"username": username, "full_name": full_name, "memberships": memberships}
    issued = _call(url, lambda client: client.post("/api/v1/admin/officers", json=body))
    typer.echo(_officer_line(issued["officer"]))
    typer.echo(f"one-time password: {issued['one_time_password']}")


@officers_app.command("list")
def officers_list(
    agency: Annotated[str | None, typer.Option(help="Only this agency's officers.")] = None,
    url: GatewayUrl = "http://127.0.0.1:8000",
) -> None:
    """Every officer, active or not."""
    params = {"agency": agency} if agency else {}
    for officer in _call(url, lambda c: c.get("/api/v1/admin/officers", params=params)):
        typer.echo(_officer_line(officer))


@officers_app.command("deactivate")
def officers_deactivate(
    username: Annotated[str, typer.Argument(help="The officer's username.")],
    url: GatewayUrl = "http://127.0.0.1:8000",
) -> None:
    """Deactivate an officer: every login of theirs ends at once."""
    officers = _call(url, lambda client: client.get("/api/v1/admin/officers"))
    found = [o for o in officers if o["username"] == username]
    if not found:
        raise Refused(f"no officer {username}")
    path = f"/api/v1/admin/officers/{found[0]['id']}/deactivate"
    typer.echo(_officer_line(_call(url, lambda client: client.post(path))))


def _one_line(exc: ValidationError) -> str:
    """A settings error as one line: where, and what is wrong."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    return f"{exc.title}: " + "; ".join(parts)


def main() -> None:
    """The ``onestop`` command; what the operator must fix is one line, not a traceback."""
    try:
        app()
    except ValidationError as exc:
        sys.exit(f"onestop: configuration error: {_one_line(exc)}")
    except (InsecureSettingsError, SettingsFolderError, bootstrap.BootstrapError) as exc:
        sys.exit(f"onestop: configuration error: {exc}")
    except Refused as exc:
        sys.exit(f"onestop: {exc}")
