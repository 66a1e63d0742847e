"""Gateway overhead: a small GET through the gateway versus straight to the service.

Set-up, as in the issue: the backend and the proxy share CPU core 0, wrk runs on core 1.
Every variant is measured in the same run against the same backend, so the ratios hold
on a noisy machine even when the absolute numbers do not.

Variants:
  direct             wrk -> backend
  gateway-http       wrk -> gateway (lean ASGI path, pooled aiohttp session) -> backend
  gateway-embedded   wrk -> gateway with the backend app in-process (embedded mode)
  route-httpx        wrk -> FastAPI route forwarding with httpx's default transport
  route-httpx-aiohttp  the same route, httpx on the httpx-aiohttp transport

    python bench/gateway.py [--duration 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PATH = "/api/v1/procedures/ping"
SERVER_CORE, LOAD_CORE = "0", "1"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "x-request-id"}


# --- the processes under test -------------------------------------------------------------


def backend_app() -> FastAPI:
    """A trivial JSON GET, with the platform's own middleware and error handlers."""
    from shared.app import create_service_app

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield

    app = create_service_app(title="bench backend", lifespan=lifespan, service="bench")

    @app.get(PATH)
    async def ping() -> dict[str, object]:
        return {"ok": True, "service": "procedures"}

    return app


def gateway_app(upstream: str, data_dir: Path) -> object:
    from services.gateway.config import GatewaySettings
    from services.gateway.main import create_app, spec
    from services.gateway.proxy import AsgiUpstream, HttpUpstream, Upstream
    from shared.migrations import upgrade
    from shared.settings import Mode, PlatformSettings

    # Rate limits on (their cost is part of the path), but out of wrk's reach.
    settings = GatewaySettings(
        platform=PlatformSettings(mode=Mode.EMBEDDED, data_dir=data_dir),
        rate_address_per_minute=10**9,
        rate_address_burst=10**6,
    )
    upgrade(spec.migrations, settings.db_url)
    target: Upstream
    if upstream == "embedded":
        target = AsgiUpstream("procedures", backend_app())
    else:
        target = HttpUpstream("procedures", upstream)
    return create_app(settings, upstreams={"procedures": target})


def route_app(upstream: str, transport: str) -> FastAPI:
    """The naive way: a FastAPI route that forwards with an httpx client."""
    client: httpx.AsyncClient

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        nonlocal client
        if transport == "aiohttp":
            from httpx_aiohttp import AiohttpTransport

            client = httpx.AsyncClient(base_url=upstream, transport=AiohttpTransport())
        else:
            client = httpx.AsyncClient(base_url=upstream)
        yield
        await client.aclose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/api/v1/{path:path}")
    async def forward(path: str, request: Request) -> Response:
        answer = await client.get(f"/api/v1/{path}", headers={"accept": "application/json"})
        headers = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
        return Response(answer.content, status_code=answer.status_code, headers=headers)

    return app


def serve(kind: str, port: int, upstream: str, data_dir: str, log_level: str) -> None:
    from shared.logging import configure_logging

    configure_logging(log_level)
    app: object
    if kind == "backend":
        app = backend_app()
    elif kind == "gateway":
        app = gateway_app(upstream, Path(data_dir))
    else:
        app = route_app(upstream, "aiohttp" if kind == "route-httpx-aiohttp" else "default")
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)  # type: ignore[arg-type]


# --- the measurement -------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(
    kind: str, port: int, upstream: str, data_dir: str, log: Path, log_level: str
) -> subprocess.Popen[bytes]:
    command = [
        "taskset", "-c", SERVER_CORE, sys.executable, __file__, "--serve", kind,
        "--port", str(port), "--upstream", upstream, "--data-dir", data_dir,
        "--log-level", log_level,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{PATH}", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{kind} did not answer on port {port}; see {log}")


def wrk(
    url: str, *, connections: int, duration: int, script: Path | None = None
) -> dict[str, float]:
    """wrk's rate and latency for ``url``; ``script``: a Lua file (e.g. a header)."""
    options = ["-s", str(script)] if script is not None else []
    output = subprocess.run(
        [
            "taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{duration}s",
            "--latency", *options, url,
        ],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} failed responses\n{output}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "p50_ms": _latency(output, "50%"),
        "p99_ms": _latency(output, "99%"),
    }


def _latency(output: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def measure(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        sys.exit("wrk and taskset are needed: apt-get install wrk util-linux")
    work = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    log = work / "servers.log"
    backend_port = free_port()
    backend_url = f"http://127.0.0.1:{backend_port}"
    processes = [start("backend", backend_port, "", "", log, args.log_level)]
    variants: dict[str, str] = {"direct": backend_url}
    try:
        for name, kind, upstream in (
            ("gateway-http", "gateway", backend_url),
            ("gateway-embedded", "gateway", "embedded"),
            ("route-httpx", "route-httpx", backend_url),
            ("route-httpx-aiohttp", "route-httpx-aiohttp", backend_url),
        ):
            if args.only and name not in args.only:
                continue
            port = free_port()
            processes.append(start(kind, port, upstream, str(work / name), log, args.log_level))
            variants[name] = f"http://127.0.0.1:{port}"

        results: dict[str, dict[str, float]] = {}
        idle: dict[str, dict[str, float]] = {}
        for name, base in variants.items():
            url = base + PATH
            wrk(url, connections=args.connections, duration=2)  # warm-up
            results[name] = wrk(url, connections=args.connections, duration=args.duration)
            idle[name] = wrk(url, connections=1, duration=max(3, args.duration // 2))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)

    direct, direct_idle = results["direct"], idle["direct"]
    print(f"\nGateway benchmark: GET {PATH}")
    print(f"servers on core {SERVER_CORE}, wrk on core {LOAD_CORE}; log level {args.log_level};")
    print(f"{args.connections} connections x {args.duration}s, then 1 connection (low load).\n")
    print(f"{'variant':<22}{'req/s':>9}{'x direct':>10}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'low-load p50':>14}{'added p50':>11}")  # fmt: skip
    for name, figures in results.items():
        added = idle[name]["p50_ms"] - direct_idle["p50_ms"]
        print(
            f"{name:<22}{figures['rps']:>9.0f}{figures['rps'] / direct['rps']:>10.2f}"
            f"{figures['p50_ms']:>9.2f}{figures['p99_ms']:>9.2f}"
            f"{idle[name]['p50_ms']:>13.3f}ms{added:>9.3f}ms"
        )
    print(f"\nserver logs: {log}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    # INFO keeps the access log on, as in production: it is part of the real cost.
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--only", nargs="*", help="measure only these variants (and direct)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", default="", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.upstream, args.data_dir, args.log_level)
    else:
        measure(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
