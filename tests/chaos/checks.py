"""What must hold after the faults, read from every service's database once the platform
has settled: each acknowledged submission stored exactly once under the code it was
given, the codes without gaps, every event applied once by every service that consumes
it, the portal holding each dossier as returned, the outboxes and the sync drained, the
audit chain whole; and how late the events were."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from tests.chaos.stage import Stage
from tests.chaos.traffic import Seen

# The services whose consumers apply intake's dossier events, and what they keep.
CONSUMERS = ("tracking", "gateway", "notifications")
LATE_SECONDS = 5.0


async def _rows(stage: Stage, service: str, query: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(stage.database(service))
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


async def backlog(stage: Stage) -> dict[str, int]:
    """Events not yet relayed, by service, and dossiers the portal sync still owes."""
    counts = {}
    for service in ("procedures", "intake", "tracking", "documents", "gateway"):
        rows = await _rows(stage, service, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
        counts[f"{service} outbox"] = int(rows[0][0])
    owed = await _rows(stage, "gateway", "SELECT count(*) FROM portal_sync WHERE owed")
    counts["portal sync owed"] = int(owed[0][0])
    return counts


async def settle(stage: Stage, seen: Seen, *, within: float = 300.0) -> float:
    """Seconds until the outboxes and the sync are drained and the portal holds every
    returned dossier as returned (polled: the work is other processes'). A killed sync
    worker's claims wait out their lease (``GATEWAY_PORTAL_SYNC_LEASE_SECONDS``, 120 s)."""
    began = time.monotonic()
    while True:
        left = await backlog(stage)
        at_portal = await _rows(
            stage, "national_portal", "SELECT count(*) FROM portal_dossiers WHERE status = 10"
        )
        if not any(left.values()) and int(at_portal[0][0]) >= len(seen.returned):
            return time.monotonic() - began
        if time.monotonic() - began > within:
            raise AssertionError(f"not settled in {within}s: {left}, portal {at_portal}")
        await asyncio.sleep(0.5)


@dataclass
class Report:
    acknowledged: int = 0
    stored: int = 0
    lost: list[str] = field(default_factory=list)  # acknowledged, not stored
    duplicated: int = 0  # stored more than the submissions acknowledged
    unacknowledged: list[str] = field(default_factory=list)  # stored, never acknowledged
    code_gaps: list[str] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)  # by consumer: codes
    # Dossiers whose effects in a consumer differ from the others': applied twice, or not.
    uneven: dict[str, list[str]] = field(default_factory=dict)
    backlog: dict[str, int] = field(default_factory=dict)
    # Seconds from an event's commit in intake to its applying, per consumer group.
    latency: dict[str, dict[str, float]] = field(default_factory=dict)
    late: dict[str, int] = field(default_factory=dict)  # events applied after LATE_SECONDS

    def problems(self) -> list[str]:
        found = []
        if self.lost:
            found.append(f"lost: {self.lost[:5]}")
        if self.duplicated:
            found.append(f"duplicated: {self.duplicated}")
        if self.unacknowledged:
            found.append(f"stored, never acknowledged: {self.unacknowledged[:5]}")
        if self.code_gaps:
            found.append(f"gaps in the codes: {self.code_gaps[:5]}")
        found += [f"{where} lacks {codes[:5]}" for where, codes in self.missing.items() if codes]
        found += [f"{where} uneven: {codes[:5]}"
                  for where, codes in self.uneven.items() if codes]  # fmt: skip
        found += [f"{where}: {n} left" for where, n in self.backlog.items() if n]
        return found


async def check(stage: Stage, seen: Seen) -> Report:
    report = Report(acknowledged=len(seen.acknowledged))
    dossiers = await _rows(stage, "intake", "SELECT code, status FROM dossiers")
    stored = {row["code"]: row["status"] for row in dossiers}
    report.stored = len(stored)
    given = set(seen.acknowledged.values())
    report.lost = sorted(given - set(stored))
    report.unacknowledged = sorted(set(stored) - given)
    # Two keys answered with one code would be one dossier given twice.
    report.duplicated = len(seen.acknowledged) - len(given) + len(report.unacknowledged)
    numbers: dict[str, list[int]] = {}
    for code in stored:
        prefix, _, number = code.rpartition("-")
        numbers.setdefault(prefix, []).append(int(number))
    for prefix, taken in numbers.items():
        expected = set(range(1, max(taken) + 1))
        report.code_gaps += [f"{prefix}-{n:04d}" for n in sorted(expected - set(taken))]

    returned = sorted(seen.returned)
    clocks = await _rows(stage, "tracking", "SELECT dossier_code, status FROM dossier_clocks")
    portal = await _rows(stage, "national_portal", "SELECT ma_ho_so, status FROM portal_dossiers")
    held = {row["ma_ho_so"]: row["status"] for row in portal}
    report.missing = {
        "tracking": sorted(set(stored) - {row["dossier_code"] for row in clocks}),
        "portal (as returned)": [code for code in returned if held.get(code) != 10],
        "intake (as returned)": [code for code in returned if stored.get(code) != "returned"],
    }
    # Every dossier lived the same life, so each holds as many ledger entries and portal
    # steps as every other: an event applied twice, or never, stands out; and no message
    # went twice to one recipient on one channel.
    ledger = await _rows(
        stage, "tracking", "SELECT dossier_code, count(*) FROM clock_entries GROUP BY 1"
    )
    steps = await _rows(
        stage, "national_portal", "SELECT ma_ho_so, count(*) FROM portal_progress GROUP BY 1"
    )
    twice = await _rows(
        stage,
        "notifications",
        "SELECT dossier_code FROM messages GROUP BY dossier_code, kind, channel, recipient"
        " HAVING count(*) > 1",
    )
    report.uneven = {
        "tracking ledger": _outliers(ledger, returned),
        "portal steps": _outliers(steps, returned),
        "messages": sorted(row[0] for row in twice),
    }
    report.backlog = await backlog(stage)
    await _latency(stage, report)
    return report


def _outliers(rows: list[asyncpg.Record], codes: list[str]) -> list[str]:
    """Those of ``codes`` that hold more or fewer rows than most do."""
    counts = {row[0]: int(row[1]) for row in rows}
    usual, _ = Counter(counts.get(code, 0) for code in codes).most_common(1)[0] if codes else (0, 0)
    return [code for code in codes if counts.get(code, 0) != usual]


async def _latency(stage: Stage, report: Report) -> None:
    events = {
        row["event_id"]: row["created_at"]
        for row in await _rows(stage, "intake", "SELECT event_id, created_at FROM outbox")
    }
    for service in CONSUMERS:
        applied = await _rows(
            stage, service, "SELECT consumer_group, event_id, processed_at FROM processed_events"
        )
        delays: dict[str, list[float]] = {}
        for row in applied:
            if row["event_id"] in events:
                seconds = (row["processed_at"] - events[row["event_id"]]).total_seconds()
                delays.setdefault(row["consumer_group"], []).append(seconds)
        for group, values in delays.items():
            values.sort()
            report.latency[group] = {
                "events": len(values),
                "p50": values[len(values) // 2],
                "p99": values[min(len(values) - 1, int(len(values) * 0.99))],
                "max": values[-1],
            }
            report.late[group] = sum(1 for v in values if v > LATE_SECONDS)
