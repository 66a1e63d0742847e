"""Uploads through the documents service against a direct ``minio`` PUT, same S3 server.

The service runs as its own process (``onestop serve documents``, distributed mode:
PostgreSQL, the SeaweedFS S3 server); each upload is a multipart POST that the service
streams, checks (size, type from the bytes, SHA-256), stores and records. The baseline
puts the same bytes with the ``minio`` client straight into the same server, at the
same concurrency, in the same run. Then one 100 MB file streams through the service
while its peak resident memory (VmHWM) is read before and after.

    python bench/documents.py [--count-small 400] [--count-large 40] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import urllib3
from minio import Minio
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.auth import Principal, Role, TokenService  # noqa: E402
from shared.migrations import ensure_database, upgrade  # noqa: E402
from shared.settings import PlatformSettings  # noqa: E402
from tests.infra import S3Server, free_port, seaweedfs, wait_for_port  # noqa: E402

SECRET = "bench-secret-" + "x" * 40
DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/onestop_bench_documents"
PDF_HEAD = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


def payload(size: int) -> bytes:
    body = os.urandom(size - len(PDF_HEAD))
    return PDF_HEAD + body


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL process (its backends come and go with connections;
    the bench's own connections are the service's, so the sum over a run is its share)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        if "(postgres)" in text:
            total += cpu_seconds(int(stat.parent.name))
    return total


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def run_many(
    count: int, concurrency: int, one: Callable[[int], Awaitable[None]]
) -> tuple[float, list[float]]:
    """Wall time of ``count`` calls at ``concurrency``, and each call's latency."""
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def timed(number: int) -> None:
        async with gate:
            began = time.perf_counter()
            await one(number)
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(timed(n) for n in range(count)))
    return time.perf_counter() - began, latencies


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


async def main(args: argparse.Namespace) -> None:
    await ensure_database(DATABASE)
    await asyncio.to_thread(upgrade, ROOT / "services/documents/migrations", DATABASE)
    tokens = TokenService.from_settings(PlatformSettings(jwt_secret=SecretStr(SECRET)))
    token = tokens.issue(Principal(subject="bench", username="001099000001", role=Role.CITIZEN))
    with tempfile.TemporaryDirectory() as folder, seaweedfs(Path(folder)) as s3:
        port = free_port()
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            "ONESTOP_MODE": "distributed",
            "ONESTOP_ENVIRONMENT": "development",
            "ONESTOP_JWT_SECRET": SECRET,
            "ONESTOP_LOG_LEVEL": "WARNING",
            "DOCUMENTS_DATABASE_URL": DATABASE,
            "DOCUMENTS_S3_ENDPOINT": s3.endpoint,
            "DOCUMENTS_S3_ACCESS_KEY": s3.access_key,
            "DOCUMENTS_S3_SECRET_KEY": s3.secret_key,
            "DOCUMENTS_S3_BUCKET": bucket,
            "DOCUMENTS_MAX_UPLOAD_BYTES": str(200 * 1024 * 1024),
        }
        service = subprocess.Popen(  # noqa: ASYNC220 - started once, before the measuring
            [str(ROOT / ".venv/bin/onestop"), "serve", "documents", "--port", str(port),
             "--host", "127.0.0.1"],
            env=env,
        )  # fmt: skip
        try:
            await asyncio.to_thread(wait_for_port, port)  # off the loop: it sleeps
            await measure(args, port, token, s3, bucket, service.pid)
        finally:
            service.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.wait(10)


async def measure(
    args: argparse.Namespace, port: int, token: str, s3: S3Server, bucket: str, pid: int
) -> None:
    minio = Minio(
        s3.endpoint,
        access_key=s3.access_key,
        secret_key=s3.secret_key,
        secure=False,
        region="us-east-1",
    )
    url = f"http://127.0.0.1:{port}/api/v1/documents"
    headers = {"authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=args.concurrency)
    # The uploads to the service go through urllib3 in threads, as the minio client's
    # PUTs do: the same HTTP stack on both sides, so the ratio is the service's and not
    # the difference between two clients (httpx's multipart cost 2.2 ms of CPU per 100 KB
    # upload against urllib3's 1 ms, on the same two cores as everything else).
    uploader = urllib3.PoolManager(maxsize=args.concurrency, timeout=120)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        # Warm up (connections, the bucket) and read the idle memory.
        for _ in range(5):
            warm = await client.post(url, files={"file": ("a.pdf", payload(1024))}, headers=headers)
            warm.raise_for_status()
        print(f"\n{'upload':<22}{'files/s':>9}{'MB/s':>8}{'p99 ms':>9}   vs direct PUT")
        for label, size, count in (
            ("100 KB", 100 * 1024, args.count_small),
            ("5 MB", 5 * 1024 * 1024, args.count_large),
        ):
            data = payload(size)

            def post(number: int, data: bytes) -> None:
                body, content_type = urllib3.encode_multipart_formdata(
                    {"file": (f"{number}.pdf", data, "application/pdf")}
                )
                response = uploader.request(
                    "POST", url, body=body, headers={**headers, "content-type": content_type}
                )
                if response.status != 201:
                    raise RuntimeError(f"upload refused: {response.status} {response.data!r}")

            async def through_service(number: int, data: bytes = data) -> None:
                await asyncio.to_thread(post, number, data)

            async def direct(number: int, data: bytes = data) -> None:
                await asyncio.to_thread(
                    minio.put_object, bucket, f"direct/{uuid.uuid4().hex}", io.BytesIO(data),
                    len(data), "application/pdf",
                )  # fmt: skip

            # Alternating halves: the S3 server's warm-up (it grows volumes as a bucket
            # fills) falls on both sides alike.
            walls = {"service": 0.0, "direct": 0.0}
            lats: dict[str, list[float]] = {"service": [], "direct": []}

            # Where each side's CPU goes: this process (the client), the service, the S3
            # server, PostgreSQL. Both sides share two cores, so the sums bound the rates.
            def cpu_now() -> list[float]:
                return [cpu_seconds(os.getpid()), cpu_seconds(pid),
                        cpu_seconds(s3.process.pid), postgres_cpu_seconds()]  # fmt: skip

            cpu = {"service": [0.0] * 4, "direct": [0.0] * 4}
            for _ in range(2):
                for name, one in (("direct", direct), ("service", through_service)):
                    cpu_before = cpu_now()
                    wall, lat = await run_many(count // 2, args.concurrency, one)
                    spent = zip(cpu[name], cpu_before, cpu_now(), strict=True)
                    cpu[name] = [total + after - before for total, before, after in spent]
                    walls[name] += wall
                    lats[name] += lat
            service_wall, service_lat = walls["service"], lats["service"]
            direct_wall, direct_lat = walls["direct"], lats["direct"]
            for name, wall, lat in (
                ("service", service_wall, service_lat),
                ("direct minio PUT", direct_wall, direct_lat),
            ):
                print(
                    f"{label + ' ' + name:<22}{count / wall:>9.1f}{count * size / wall / 1e6:>8.1f}"
                    f"{p99(lat) * 1000:>9.1f}"
                )
            print(f"{'':<22}service / direct throughput: {direct_wall / service_wall:.2f}x")
            for name, used in cpu.items():
                caller, server, store, database = (1000 * seconds / count for seconds in used)
                print(
                    f"{'':<22}CPU ms per upload, {name}: client {caller:.1f}, service "
                    f"{server:.1f}, S3 server {store:.1f}, PostgreSQL {database:.1f}"
                )

        idle_rss, idle_peak = rss_mb(pid), peak_rss_mb(pid)
        big = payload(100 * 1024 * 1024)
        began = time.perf_counter()
        response = await client.post(url, files={"file": ("lon.pdf", big)}, headers=headers)
        response.raise_for_status()
        seconds = time.perf_counter() - began
        peak = peak_rss_mb(pid)
        print(
            f"\n100 MB through the service in {seconds:.1f} s: resident {idle_rss:.0f} MB idle, "
            f"peak {peak:.0f} MB (peak before {idle_peak:.0f} MB): "
            f"+{peak - max(idle_rss, 0):.0f} MB above idle"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count-small", type=int, default=400)
    parser.add_argument("--count-large", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=8)
    asyncio.run(main(parser.parse_args()))
