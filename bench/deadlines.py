"""Due dates per second: the working-time engine against a naive day-by-day walk.

Both answer the same questions over the national calendar (2024–2030, official days off
and make-up Saturdays, as tracking builds it), in the same process and the same run:
random starts in 2024–2026 (in UTC, as stored timestamps come back from PostgreSQL;
``--starts local`` gives them in Asia/Ho_Chi_Minh, which costs the engine a zone lookup per
call), durations of 30 working days (and of 1 day, for scale). The
naive walk is what a deadline function usually is: step through the days from the start,
skip those without sessions, add up each session until the time is used. Every answer of
the walk is checked against the engine's.

    python bench/deadlines.py [--engine-calls 200000] [--naive-calls 5000] [--rounds 10]
                              [--starts utc|local]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.tracking.calendars import Resolved, build_spec  # noqa: E402
from services.tracking.seed import national_rows  # noqa: E402
from shared.worktime import CalendarSpec, WorkingTime  # noqa: E402


def national_spec() -> CalendarSpec:
    calendar, days, _ = national_rows()
    return build_spec(Resolved((calendar,), None), days)


def naive_due(spec: CalendarSpec, start: datetime, minutes: int) -> datetime:
    zone = ZoneInfo(spec.timezone)
    start = start.astimezone(zone)  # compare in one zone inside the loop
    left = timedelta(minutes=minutes)
    day = start.date()
    while True:
        for session in spec.sessions_on(day):
            begin = max(datetime.combine(day, session.start, tzinfo=zone), start)
            end = datetime.combine(day, session.end, tzinfo=zone)
            if begin >= end:
                continue
            if end - begin >= left:
                return begin + left
            left -= end - begin
        day += timedelta(days=1)


STARTS_IN = {"utc": UTC, "local": ZoneInfo("Asia/Ho_Chi_Minh")}


def starts(count: int, seed: int, zone: str = "utc") -> list[datetime]:
    """Random instants of 2024–2026; in UTC, as PostgreSQL returns stored timestamps."""
    rng = random.Random(seed)
    origin = datetime(2024, 1, 1, tzinfo=STARTS_IN["local"])
    span = int((datetime(2026, 12, 1, tzinfo=STARTS_IN["local"]) - origin).total_seconds())
    return [
        (origin + timedelta(seconds=rng.randrange(span))).astimezone(STARTS_IN[zone])
        for _ in range(count)
    ]


def rate(calls: int, seconds: float) -> float:
    return calls / seconds if seconds else float("inf")


def main(args: argparse.Namespace) -> None:
    spec = national_spec()
    began = time.perf_counter()
    engine = WorkingTime(spec)
    built_ms = (time.perf_counter() - began) * 1000
    print(
        f"\nNational calendar {spec.first}–{spec.last}: {len(spec.days_off)} days off, "
        f"{len(spec.make_up_days)} make-up days; engine built in {built_ms:.1f} ms.\n"
    )
    print(f"{'duration':<16}{'engine /s':>14}{'naive /s':>12}{'ratio':>9}")
    for days in (30, 1):
        minutes = days * 480
        engine_rates, naive_rates = [], []
        # Alternating rounds: both sides see the same machine noise; medians are reported.
        for round_number in range(args.rounds):
            engine_starts = starts(args.engine_calls // args.rounds, round_number, args.starts)
            began = time.perf_counter()
            for start in engine_starts:
                engine.due_at(start, minutes)
            engine_rates.append(rate(len(engine_starts), time.perf_counter() - began))

            naive_starts = starts(args.naive_calls // args.rounds, 1000 + round_number, args.starts)
            began = time.perf_counter()
            answers = [naive_due(spec, start, minutes) for start in naive_starts]
            naive_rates.append(rate(len(naive_starts), time.perf_counter() - began))
            disagree = sum(
                1
                for start, due in zip(naive_starts, answers, strict=True)
                if engine.due_at(start, minutes) != due
            )
            if disagree:
                raise SystemExit(f"{disagree} answers differ between the engine and the walk")
        engine_rate = statistics.median(engine_rates)
        naive_rate = statistics.median(naive_rates)
        print(
            f"{days:>3} working days{engine_rate:>14,.0f}{naive_rate:>12,.0f}"
            f"{engine_rate / naive_rate:>8.1f}x"
        )
    print(f"\nEvery naive answer ({args.naive_calls} per duration) equals the engine's.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine-calls", type=int, default=200_000)
    parser.add_argument("--naive-calls", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--starts",
        choices=sorted(STARTS_IN),
        default="utc",
        help="the starts' zone: utc (as stored) or local (Asia/Ho_Chi_Minh)",
    )
    main(parser.parse_args())
