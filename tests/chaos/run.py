"""Chaos: the platform under traffic while its servers die one after another, then the
checks (tests/chaos/checks.py). ``make chaos`` runs every fault, longer; ``make test``
runs the quick cases (tests/chaos/test_chaos.py).

    python -m tests.chaos.run [--faults postgres,redis,...|none] [--down 4] [--gap 6]
                              [--citizens 4] [--pace 4] [--rounds 2] [--calm 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.chaos.checks import Report, check, settle
from tests.chaos.faults import FAULTS, Outcome, inflict
from tests.chaos.stage import Stage, stage
from tests.chaos.traffic import Clients, Seen


@dataclass
class Run:
    seen: Seen
    outcomes: list[Outcome] = field(default_factory=list)
    settle_seconds: float = 0.0
    report: Report = field(default_factory=Report)
    audit: str = ""


async def run(
    made: Stage,
    faults: list[str],
    *,
    down_for: float,
    gap: float,
    pace: float,
    progress: Callable[[str], None] = lambda line: None,
    calm: float = 0.0,
) -> Run:
    """Traffic from the start; each fault in turn with ``gap`` seconds of traffic
    between them (no fault: ``calm`` seconds of traffic); then the traffic drains, the
    platform settles, and it is checked."""
    async with Clients(made, pace=pace) as clients:
        outcome = Run(clients.seen)
        await asyncio.sleep(gap if faults else calm)
        for name in faults:
            done = await inflict(made, FAULTS[name], down_for=down_for)
            outcome.outcomes.append(done)
            progress(
                f"{name}: down {done.down_seconds:.1f} s, every part ready "
                f"{done.ready_seconds:.1f} s after its return; "
                f"{len(clients.seen.acknowledged)} submissions acknowledged so far"
            )
            await asyncio.sleep(gap)
        progress("the traffic drains: every dossier acknowledged is taken to the end")
        await clients.drain()
    progress("waiting for the outboxes, the consumers and the portal sync to settle")
    outcome.settle_seconds = await settle(made, outcome.seen)
    outcome.report = await check(made, outcome.seen)
    audited = await asyncio.to_thread(made.cluster.onestop, "audit")
    outcome.audit = (audited.stdout + audited.stderr).strip().splitlines()[-1]
    return outcome


def summary(outcome: Run) -> str:
    seen, report = outcome.seen, outcome.report
    lines = [
        f"submissions acknowledged {report.acknowledged}, stored {report.stored}, "
        f"lost {len(report.lost)}, duplicated {report.duplicated}, "
        f"acknowledged after a retry {seen.replayed}; dossiers returned {len(seen.returned)}",
        f"clients saw: 503 {seen.count(503)} ({seen.bare_503} without Retry-After), "
        f"refused at the front door {sum(seen.refused.values())}, 409 to wait on "
        f"{sum(n for (_, s), n in seen.statuses.items() if s == 409)}, wrong answers "
        f"{len(seen.wrong)}, actions replayed {seen.replayed_actions}, "
        f"time spent waiting {seen.unavailable_seconds:.0f} s",
        f"settled {outcome.settle_seconds:.1f} s after the traffic stopped; audit: {outcome.audit}",
        "fault        down s   ready s (after it was back)",
    ]
    lines += [f"{o.fault:<12} {o.down_seconds:>6.1f} {o.ready_seconds:>9.2f}"
              for o in outcome.outcomes]  # fmt: skip
    lines.append("event latency, commit to applied (s): group  events  p50  p99  max  late>5s")
    for group, figures in sorted(report.latency.items()):
        lines.append(
            f"  {group:<28} {figures['events']:>6.0f} {figures['p50']:>6.2f} "
            f"{figures['p99']:>6.2f} {figures['max']:>6.2f} {report.late[group]:>5}"
        )
    problems = report.problems() + seen.wrong[:10]
    lines.append("problems: " + ("; ".join(problems) if problems else "none"))
    return "\n".join(lines)


def as_json(outcome: Run) -> dict[str, object]:
    """The figures for a file. (``asdict`` rebuilds a Counter from its items, counting
    the pairs: the clients' tallies are copied as they are.)"""
    figures = asdict(outcome)
    statuses = outcome.seen.statuses.items()
    figures["seen"]["statuses"] = {f"{op} {status}": n for (op, status), n in statuses}
    figures["seen"]["refused"] = dict(outcome.seen.refused)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--down", type=float, default=4.0, help="seconds each server is down")
    parser.add_argument("--gap", type=float, default=6.0, help="seconds of traffic between")
    # About one dossier a second: what this machine's one core sustains (bench/system.py),
    # so that lateness measures the faults, not a platform run past its capacity.
    parser.add_argument("--citizens", type=int, default=4)
    parser.add_argument("--pace", type=float, default=4.0, help="seconds between submissions")
    parser.add_argument("--rounds", type=int, default=2, help="times through the faults")
    parser.add_argument("--calm", type=float, default=300.0,
                        help="with --faults none: seconds of traffic")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    # "none": the same traffic without a fault, for as long: what late means here.
    faults = [f for f in args.faults.split(",") if f != "none"] * args.rounds
    unknown = set(faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults {sorted(unknown)}; known: {', '.join(FAULTS)}")
    began = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="onestop-chaos-") as folder,
        stage(Path(folder), citizens=args.citizens) as made,
    ):
        print(f"chaos: {len(faults)} faults under traffic ({', '.join(faults)})", flush=True)
        outcome = asyncio.run(
            run(made, faults, down_for=args.down, gap=args.gap, pace=args.pace,
                progress=lambda line: print(line, flush=True), calm=args.calm)
        )  # fmt: skip
    print(summary(outcome))
    print(f"chaos took {time.monotonic() - began:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(as_json(outcome), default=str, indent=1))
    failed = outcome.report.problems() or outcome.seen.wrong or "0 problems" not in outcome.audit
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
