"""Web pages against the API call underneath each, in the same run.

`onestop run` (embedded, demo data) on CPU core 0, wrk on core 1. For each page, the
page (rendered from the API, called in-process through the gateway) and then the API
call it is built on, each for the same duration and connections: pages per second and
p99 against calls per second and p99, and the ratio (the issue asks for at least 0.5).
Then the bytes of script and style each page makes the browser load.

Rate limits are off in the measured process (one address sends everything); logs at
WARNING, so neither side pays for its access log.

    python bench/web.py [--duration 10] [--connections 16]
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
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gateway import LOAD_CORE, SERVER_CORE, free_port, wrk  # noqa: E402

CITIZEN, PASSWORD = "001099000001", "congdan-demo"
# Each page and the API call it is built on (the others it makes are kept a minute).
PAIRS = (
    ("home", "/", "/api/v1/procedures?page=1&size=10"),
    ("search", "/?q=dang+ky+khai+sinh", "/api/v1/procedures?q=dang+ky+khai+sinh&page=1&size=10"),
    ("procedure", "/thu-tuc/TTHC-01", "/api/v1/procedures/TTHC-01"),
    ("my dossiers", "/ho-so", "/api/v1/dossiers?limit=10"),
)
ASSETS = re.compile(r'<(?:script[^>]*src|link[^>]*rel="stylesheet"[^>]*href)="([^"]+)"')


def start(work: Path, port: int) -> subprocess.Popen[bytes]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ONESTOP_")},
        "GATEWAY_RATE_LIMITS_ENABLED": "false",
        "ONESTOP_LOG_LEVEL": "WARNING",
    }
    command = [
        "taskset", "-c", SERVER_CORE, str(Path(sys.executable).parent / "onestop"), "run",
        "--port", str(port), "--data-dir", str(work / "data"),
    ]  # fmt: skip
    log = (work / "run.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        try:  # wait on the process, not a sleep: one that fails to start is told at once
            code = process.wait(0.3)
        except subprocess.TimeoutExpired:
            continue
        raise RuntimeError(f"onestop run exited with {code}; see {work / 'run.log'}")
    process.kill()
    raise RuntimeError(f"onestop run did not start; see {work / 'run.log'}")


def logins(base: str, username: str = CITIZEN, password: str = PASSWORD) -> tuple[str, str]:
    """An account's page cookie (through the login form, as a browser) and API token:
    the demo citizen's unless another is named."""
    with httpx.Client(base_url=base, timeout=30) as client:
        form = client.get("/dang-nhap").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None, "no login form"
        client.post("/dang-nhap", data={"csrf": csrf.group(1), "username": username,
                                         "password": password, "next": "/"})  # fmt: skip
        cookie = f"onestop_session={client.cookies['onestop_session']}"
        token = client.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        ).json()["access_token"]
    return cookie, f"Bearer {token}"


def asset_bytes(base: str, path: str, cookie: str) -> int:
    """Script and style the page makes a browser fetch (its own, nothing from outside)."""
    with httpx.Client(base_url=base, headers={"cookie": cookie}) as client:
        page = client.get(path).text
        return sum(len(client.get(src).content) for src in ASSETS.findall(page))


def wrk_with(url: str, header: str | None, *, connections: int, duration: int) -> dict[str, float]:
    if header is None:
        return wrk(url, connections=connections, duration=duration)
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    name, _, value = header.partition(": ")
    script.write_text(f'wrk.headers["{name}"] = "{value}"\n', encoding="utf-8")
    try:
        return wrk(url, connections=connections, duration=duration, script=script)
    finally:
        script.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        sys.exit("wrk and taskset are needed: apt-get install wrk util-linux")
    work = Path(tempfile.mkdtemp(prefix="bench-web-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start(work, port)
    try:
        cookie, bearer = logins(base)
        print(f"pages against their API call, {args.duration} s each, {args.connections} "
              f"connections (server on core {SERVER_CORE}, wrk on {LOAD_CORE})")  # fmt: skip
        print(f"{'page':<13}{'pages/s':>9}{'p99 ms':>8}{'API/s':>9}{'p99 ms':>8}{'ratio':>7}"
              f"{'script+style':>14}")  # fmt: skip
        for name, page, api in PAIRS:
            signed = name == "my dossiers"
            if not signed:  # warm both (the pages' reference lists, the catalogue cache)
                for url in (base + page, base + api):
                    wrk_with(url, None, connections=2, duration=1)
            shown = wrk_with(base + page, f"Cookie: {cookie}" if signed else None,
                             connections=args.connections, duration=args.duration)  # fmt: skip
            under = wrk_with(base + api, f"Authorization: {bearer}" if signed else None,
                             connections=args.connections, duration=args.duration)  # fmt: skip
            assets = asset_bytes(base, page, cookie)
            print(f"{name:<13}{shown['rps']:>9.0f}{shown['p99_ms']:>8.1f}{under['rps']:>9.0f}"
                  f"{under['p99_ms']:>8.1f}{shown['rps'] / under['rps']:>7.2f}"
                  f"{assets / 1024:>11.1f} KB")  # fmt: skip
    finally:
        process.terminate()
        process.wait(20)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
