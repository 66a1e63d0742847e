"""``onestop run`` as a user starts it: a subprocess on a port with a data folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

ONESTOP = str(Path(sys.executable).parent / "onestop")


@contextmanager
def onestop_run(
    data_dir: Path, port: int, *, env: Mapping[str, str] | None = None
) -> Iterator[tuple[str, Path]]:
    """The platform's base URL and its log, once it answers its health check; ``env``
    adds settings (``GATEWAY_...``)."""
    log = data_dir.parent / f"run-{port}.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ONESTOP_")}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [ONESTOP, "run", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**environment, **(env or {})},
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_healthy(process, base_url, log)
            yield base_url, log
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(
    process: subprocess.Popen[bytes], base_url: str, log: Path, within: float = 60.0
) -> None:
    """Until the health check answers, polled from synchronous code (no event loop waits
    on it). Between two polls it waits for the process instead of sleeping, so a
    platform that fails to start is reported at once, not after ``within``."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        try:
            code = process.wait(0.2)
        except subprocess.TimeoutExpired:
            continue
        raise AssertionError(f"onestop run exited with {code}:\n{_tail(log)}")
    raise AssertionError(f"not healthy within {within}s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]
