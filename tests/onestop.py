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
    """The platform's base URL and its log; ``env`` adds settings (``GATEWAY_...``)."""
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
            yield f"http://127.0.0.1:{port}", log
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_healthy(base_url: str, log: Path, within: float = 60.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        try:
            if httpx.get(f"{base_url}/api/v1/health", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not healthy within {within}s:\n{log.read_text()[-3000:]}")
