"""Fuzz the platform's public API with schemathesis: ``python -m tests.fuzz.run``.

A fresh embedded platform (``onestop run``) is started on a free port, and schemathesis
tries every operation of the gateway's OpenAPI document with every check on, three
times: as a citizen, as a desk officer, and without a login. The rate limits are raised
through the gateway's settings so that the run tests the API rather than the limiter,
and logout is left out so that each run keeps its token (tests/fuzz/schemathesis.toml).

``make test`` runs a bounded pass (tests/fuzz/test_fuzz.py); ``make fuzz`` a long one,
with its figures recorded in bench/RESULTS.md. Exit status 0 only when no check failed
and no operation errored for any identity.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.infra import free_port
from tests.onestop import onestop_run

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = str(Path(sys.executable).parent / "st")
# The demo accounts `onestop run` seeds (services/gateway/seed_data/accounts.yaml).
IDENTITIES: dict[str, tuple[str, str] | None] = {
    "citizen": ("001099000001", "congdan-demo"),
    "officer": ("canbo1", "canbo-demo"),
    "anonymous": None,
}
# High enough that tens of thousands of calls from one address in minutes pass: the
# limiter still runs on every call, it just never refuses one here.
RAISED_LIMITS = {
    f"GATEWAY_{name}": "1000000"
    for name in (
        "RATE_CALLER_PER_MINUTE",
        "RATE_CALLER_BURST",
        "RATE_ADDRESS_PER_MINUTE",
        "RATE_ADDRESS_BURST",
        "RATE_LOOKUP_PER_MINUTE",
        "RATE_LOOKUP_BURST",
        "RATE_LOGIN_PER_MINUTE",
        "RATE_LOGIN_BURST",
        "LOGIN_FAILURES_BURST",
        "LOGIN_FAILURES_LONG_BURST",
    )
}


@dataclass(frozen=True)
class Outcome:
    identity: str
    operations: int  # tested
    cases: int  # generated
    failures: int  # unique failures, every check
    errors: int  # operations schemathesis could not test
    seconds: float
    exit_code: int
    log: Path

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and self.failures == 0 and self.errors == 0


def log_in(base_url: str, username: str, password: str) -> str:
    answer = httpx.post(
        f"{base_url}/api/v1/auth/token", data={"username": username, "password": password}
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


def fuzz(
    base_url: str,
    identity: str,
    token: str | None,
    *,
    max_examples: int,
    phases: str,
    workdir: Path,
) -> Outcome:
    report = workdir / f"{identity}.json"
    log = workdir / f"{identity}.log"
    command = [
        SCHEMATHESIS, "--config-file", str(CONFIG), "run",
        f"{base_url}/api/v1/openapi.json",
        "--checks", "all",
        "--max-examples", str(max_examples),
        "--phases", phases,
        "--report", "json", "--report-json-path", str(report),
    ]  # fmt: skip
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
    with log.open("wb") as output:
        finished = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, check=False)
    if not report.exists():  # schemathesis stopped before reporting: say why
        return Outcome(identity, 0, 0, 0, 1, 0.0, finished.returncode or 1, log)
    figures = json.loads(report.read_text())
    return Outcome(
        identity=identity,
        operations=figures["operations"]["tested"],
        cases=figures["test_cases"]["generated"],
        failures=sum(failure["count"] for failure in figures["failures"]),
        errors=len(figures["errors"]),
        seconds=figures["running_time"],
        exit_code=finished.returncode,
        log=log,
    )


def run(
    *, max_examples: int, phases: str, workdir: Path, identities: Sequence[str] = tuple(IDENTITIES)
) -> list[Outcome]:
    """Start the platform, fuzz it as each identity, stop it."""
    port = free_port()
    with onestop_run(workdir / "data", port, env=RAISED_LIMITS) as (base_url, _):
        outcomes = []
        for identity in identities:
            login = IDENTITIES[identity]
            token = log_in(base_url, *login) if login is not None else None
            outcomes.append(
                fuzz(base_url, identity, token, max_examples=max_examples, phases=phases,
                     workdir=workdir)
            )  # fmt: skip
    return outcomes


def summary(outcomes: Sequence[Outcome]) -> str:
    lines = [f"{'identity':<10} {'operations':>10} {'cases':>8} {'failures':>8} "
             f"{'errors':>6} {'seconds':>8}"]  # fmt: skip
    for o in outcomes:
        lines.append(
            f"{o.identity:<10} {o.operations:>10} {o.cases:>8} {o.failures:>8} "
            f"{o.errors:>6} {o.seconds:>8.1f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=100, help="per operation and phase")
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    parser.add_argument("--identity", action="append", choices=list(IDENTITIES))
    parser.add_argument("--workdir", type=Path, help="keep the logs and reports here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fuzz-") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        outcomes = run(
            max_examples=args.max_examples,
            phases=args.phases,
            workdir=workdir,
            identities=args.identity or tuple(IDENTITIES),
        )
        print(summary(outcomes))
        for outcome in outcomes:
            if not outcome.passed:
                print(f"\n--- {outcome.identity}: schemathesis said\n{outcome.log.read_text()}")
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
