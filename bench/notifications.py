"""Notifications: messages delivered per second from the event to the SMTP server's
acceptance, against a bare loop sending the same messages to the same server in the
same run; and the lag, p50 and p99, at a steady rate.

The notifications service runs as in distributed mode, in this process: PostgreSQL,
Redis Streams, its consumer of notices and its delivery worker. The SMTP server is a
real one (aiosmtpd, in its own thread), which keeps the moment it accepted each message.

- **bare**: ``--messages`` e-mails, built beforehand, sent with aiosmtplib straight to
  the server over ``--lanes`` kept connections: what the server and the client allow.
- **platform**: as many notices (``dossier.received``, each for its own dossier, to an
  account with a verified e-mail) published to the Redis stream at once; the consumer
  renders the messages (the inbox's and the e-mail), the worker sends the e-mails. The
  rate is from the first event published to the last e-mail accepted.
- **steady**: notices published at ``--rate`` a second for ``--seconds``; the lag is, per
  message, the time from its event's publication to the server's acceptance.

    python bench/notifications.py [--messages 2000] [--lanes 16] [--rate 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import email.policy
import os
import re
import socket
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import aiosmtplib
import asyncpg
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis.asyncio import Redis  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from services.notifications.config import NotificationsSettings  # noqa: E402
from services.notifications.consumers import NOTICES  # noqa: E402
from services.notifications.delivery import Deliverer, channels_for  # noqa: E402
from services.notifications.main import spec  # noqa: E402
from services.notifications.models import AddressKind, Contact, Message  # noqa: E402
from shared.contracts.events import EventEnvelope  # noqa: E402
from shared.contracts.notices import DOSSIER_NOTICE, DossierNotice  # noqa: E402
from shared.db import Database  # noqa: E402
from shared.migrations import upgrade  # noqa: E402
from shared.runtime import open_runtime  # noqa: E402
from shared.settings import Environment, Mode, PlatformSettings  # noqa: E402
from tests.infra import free_port  # noqa: E402

DATABASE = "onestop_bench_notifications"
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/14"
ACCOUNT = "bench-citizen"
ADDRESS = "bench@example.vn"
CODE = re.compile(r"000\.00\.15\.H49-261207-\d{6}")


class Sink:
    """The SMTP server's side: when it accepted each message, by the dossier code in it."""

    def __init__(self) -> None:
        self.accepted: dict[bytes, float] = {}
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        now = time.perf_counter()
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        # The subject names the dossier (encoded: it is Vietnamese, RFC 2047).
        subject = BytesHeaderParser(policy=email.policy.default).parsebytes(content)["Subject"]
        found = CODE.search(str(subject or ""))
        with self.lock:
            self.count += 1
            if found:
                self.accepted.setdefault(found.group(0).encode(), now)
        return "250 OK"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def dossier_code(number: int) -> str:
    return f"000.00.15.H49-261207-{number:06d}"


def notice(number: int) -> EventEnvelope:
    body = DossierNotice(
        event="dossier.received", action="receive", at=datetime.now(UTC),
        code=dossier_code(number), status="received", procedure_code="TTHC-20",
        procedure_name="Đổi giấy phép lái xe", agency_code="000.00.15.H49",
        receiving_agency_code="000.00.15.H49", channel="online", account=ACCOUNT,
        applicant_name="Trần Thị Bình", appointment_at=datetime.now(UTC),
    )  # fmt: skip
    return EventEnvelope(type=DOSSIER_NOTICE, source="intake", subject=body.code, sequence=2,
                         payload=body.model_dump(mode="json"))  # fmt: skip


async def until_accepted(sink: Sink, codes: list[bytes], within: float = 600) -> None:
    deadline = time.perf_counter() + within
    missing = set(codes)
    while missing:
        missing = {code for code in missing if code not in sink.accepted}  # shrinks
        if missing and time.perf_counter() > deadline:
            raise RuntimeError(f"{len(missing)} messages never arrived")
        await asyncio.sleep(0.01)


async def bare(port: int, sink: Sink, messages: int, lanes: int, first: int) -> float:
    emails = []
    for number in range(first, first + messages):
        mail = EmailMessage()
        mail["From"], mail["To"] = "Một cửa <no-reply@onestop.local>", ADDRESS
        mail["Subject"] = f"Hồ sơ {dossier_code(number)} đã được tiếp nhận"
        mail.set_content("Kính gửi ông/bà,\n\n" + "Hồ sơ đã được tiếp nhận.\n" * 5)
        emails.append(mail)
    queue: asyncio.Queue[EmailMessage] = asyncio.Queue()
    for mail in emails:
        queue.put_nowait(mail)

    async def lane() -> None:
        # As the platform does: one kept connection a lane, greeting with a fixed name.
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10,
                                 local_hostname=socket.getfqdn())  # fmt: skip
        await client.connect()
        while not queue.empty():
            await client.send_message(queue.get_nowait())
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(lanes)))
    await until_accepted(sink, [dossier_code(n).encode() for n in range(first, first + messages)])
    return messages / (time.perf_counter() - started)


async def publish(redis: Redis, envelopes: list[EventEnvelope]) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for envelope in envelopes:
            pipe.xadd("onestop.events.notice", {"data": envelope.model_dump_json()})
        await pipe.execute()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--lanes", type=int, default=16)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()

    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    await admin.close()
    redis = Redis.from_url(REDIS)
    await redis.flushdb()
    platform = PlatformSettings(mode=Mode.DISTRIBUTED, environment=Environment.TEST,
                                redis_url=REDIS, data_dir=Path(os.getcwd()) / "data")  # fmt: skip
    settings = NotificationsSettings(
        platform=platform, database_url=f"{POSTGRES}/{DATABASE}", smtp_host="127.0.0.1",
        smtp_port=port, delivery_concurrency=args.lanes, delivery_poll_seconds=0.02,
        quiet_from_hour=0, quiet_until_hour=0,
    )  # fmt: skip
    await asyncio.to_thread(upgrade, spec.migrations, settings.db_url)
    print(f"notifications bench: {args.messages} messages, {args.lanes} lanes, SMTP on {port}")
    try:
        async with open_runtime(settings) as runtime:
            async with runtime.db.session() as session:
                session.add(Contact(account=ACCOUNT, kind=AddressKind.EMAIL, address=ADDRESS,
                                    verified_at=datetime.now(UTC), code_tries_left=0,
                                    updated_at=datetime.now(UTC)))  # fmt: skip
            stop = asyncio.Event()
            consumers = NOTICES.consumers(runtime, name="bench")
            for consumer in consumers:
                await consumer.start()
            async with channels_for(runtime) as channels:
                deliverer = Deliverer(runtime.db, settings, channels)
                workers = [asyncio.create_task(deliverer.run(stop)),
                           *(asyncio.create_task(c.run(stop)) for c in consumers)]  # fmt: skip
                results = await measure(args, sink, port, redis, runtime.db)
                stop.set()
                await asyncio.gather(*workers)
    finally:
        controller.stop()
        await redis.flushdb()
        await redis.aclose()
    report(args, results)


async def measure(args: Any, sink: Sink, port: int, redis: Redis, db: Database) -> dict[str, Any]:
    n = args.messages
    # Warm up both paths (connections, caches, the templates).
    await bare(port, sink, 50, args.lanes, first=900_000)
    warm = [notice(n) for n in range(950_000, 950_050)]
    await publish(redis, warm)
    await until_accepted(sink, [e.subject.encode() for e in warm if e.subject])

    cpu = time.process_time()
    began = time.perf_counter()
    bare_rate = await bare(port, sink, n, args.lanes, first=0)
    bare_cpu = (time.process_time() - cpu) / n * 1000
    envelopes = [notice(number) for number in range(100_000, 100_000 + n)]
    made_before = await made(db)
    cpu = time.process_time()
    started = time.perf_counter()
    await publish(redis, envelopes)
    watch = asyncio.create_task(until_made(db, made_before + 2 * n))
    await until_accepted(sink, [e.subject.encode() for e in envelopes if e.subject])
    platform_rate = n / (time.perf_counter() - started)
    rendered_rate = n / (await watch - started)
    platform_cpu = (time.process_time() - cpu) / n * 1000

    # Steady: one event every 1/rate seconds; the lag of each.
    published: dict[bytes, float] = {}
    total = int(args.rate * args.seconds)
    began = time.perf_counter()
    for index in range(total):
        envelope = notice(200_000 + index)
        await asyncio.sleep(max(0.0, began + index / args.rate - time.perf_counter()))
        published[envelope.subject.encode()] = time.perf_counter()  # type: ignore[union-attr]
        await publish(redis, [envelope])
    await until_accepted(sink, list(published))
    lags = [(sink.accepted[code] - at) * 1000 for code, at in published.items()]
    return {"bare": bare_rate, "platform": platform_rate, "lags": lags,
            "rendered": rendered_rate, "bare_cpu": bare_cpu,
            "platform_cpu": platform_cpu}  # fmt: skip


async def made(db: Database) -> int:
    async with db.read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def until_made(db: Database, count: int) -> float:
    """When the consumer had made ``count`` messages (the inbox's and the e-mails)."""
    while True:
        if await made(db) >= count:
            return time.perf_counter()
        await asyncio.sleep(0.02)


def report(args: Any, results: dict[str, Any]) -> None:
    bare_rate, platform_rate, lags = results["bare"], results["platform"], results["lags"]
    print(f"  bare SMTP loop     {bare_rate:8.1f} messages/s")
    print(f"  platform           {platform_rate:8.1f} messages/s (event -> SMTP acceptance)")
    print(f"  ratio              {platform_rate / bare_rate:8.2f} of the bare loop")
    print(f"  (made by the consumer, inbox and e-mail: {results['rendered']:.1f} events/s)")
    print(
        f"  CPU of this process a message: bare {results['bare_cpu']:.1f} ms,"
        f" platform {results['platform_cpu']:.1f} ms (both with the SMTP server's share)"
    )
    p50, p99 = statistics.median(lags), percentile(lags, 0.99)
    print(
        f"  steady {args.rate:g}/s for {args.seconds:g} s: lag p50 {p50:.0f} ms,"
        f" p99 {p99:.0f} ms, max {max(lags):.0f} ms ({len(lags)} messages)"
    )


if __name__ == "__main__":
    asyncio.run(main())
