"""``onestop``: run, serve, migrate, seed, workers. The composition root's command line."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path
from typing import Annotated

import typer

from services import composition
from services.notifications.config import DEMO_SMS_KEY
from services.sms_mock.main import create_app as create_sms_mock
from shared.logging import configure_logging
from shared.migrations import make_revision
from shared.serving import serve as serve_app
from shared.settings import Mode, PlatformSettings

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
    configure_logging(platform.log_level)
    names = list(composition.SPECS)
    asyncio.run(composition.migrate(names, platform))
    marker = platform.data_dir / SEEDED_MARKER
    if not marker.exists() and not platform.is_production:
        asyncio.run(composition.seed(platform))
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
    port: Annotated[int, typer.Option()] = 8000,
    host: Annotated[str, typer.Option()] = "0.0.0.0",  # in a container: every interface
) -> None:
    """Run one service (distributed mode: its own process, PostgreSQL, Redis, S3)."""
    spec = composition.SPECS[service]
    settings = spec.settings_type()
    configure_logging(settings.platform.log_level)
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
) -> None:
    """Create each service's database if missing and apply its migrations."""
    configure_logging()
    names = [_service_name(service)] if service else list(composition.SPECS)
    asyncio.run(composition.migrate(names))


@app.command()
def revision(
    service: Annotated[str, typer.Argument(callback=_service_name)],
    message: Annotated[str, typer.Option("--message", "-m", help="What the migration does.")],
) -> None:
    """Write a new migration of SERVICE from its models (against its migrated database)."""
    configure_logging()
    spec = composition.SPECS[service]
    url = spec.settings_type().db_url
    asyncio.run(composition.migrate([service]))
    make_revision(spec.migrations, url, message)


@app.command()
def seed() -> None:
    """Load the demo data (agencies, demo accounts). Refused in production."""
    configure_logging()
    try:
        results = asyncio.run(composition.seed())
    except composition.SeedRefused as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    for name, counts in results.items():
        typer.echo(f"{name}: " + ", ".join(f"{k} +{v}" for k, v in counts.items()))


@app.command()
def audit() -> None:
    """Verify every dossier's audit chain; exit 1 if any entry was changed or removed."""
    configure_logging()
    checked, breaks = asyncio.run(composition.verify_audit())
    for found in breaks:
        typer.echo(f"{found.dossier_code} #{found.sequence}: {found.reason}", err=True)
    typer.echo(f"{checked} audit entries checked, {len(breaks)} problems")
    if breaks:
        raise typer.Exit(code=1)


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
    service: Annotated[str | None, typer.Option(help="Only this service's part.")] = None,
) -> None:
    """Run a background worker (distributed mode)."""
    if name not in ("relay", "consume"):
        raise typer.BadParameter("known workers: relay, consume")
    platform = PlatformSettings()
    if platform.mode is not Mode.DISTRIBUTED:
        typer.echo("workers run in distributed mode (ONESTOP_MODE=distributed)", err=True)
        raise typer.Exit(code=2)
    configure_logging(platform.log_level)
    if name == "relay":
        names = [_service_name(service)] if service else composition.relay_services()
    else:
        names = [_service_name(service)] if service else composition.consumer_services()
    asyncio.run(_until_signal(name, names))


async def _until_signal(worker: str, names: list[str]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if worker == "relay":
        await composition.run_relays(names, stop)
    else:
        # Each process its own consumer name: Redis shares a group's messages among them.
        await composition.run_consumers(names, stop, worker=f"{socket.gethostname()}-{os.getpid()}")


def main() -> None:
    app()
