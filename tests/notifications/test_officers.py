"""Officers: tracking's due-soon and overdue alerts go to the officer holding the
dossier; each working day the leaders of an agency get one digest of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis

from services.notifications.digest import make_digests
from services.notifications.models import KnownDossier
from services.notifications.rendering import LOCAL
from shared.auth import Position
from shared.contracts.dossiers import DossierEvent
from shared.contracts.events import EventEnvelope
from tests.conftest import SERVERS, PgDatabase
from tests.infra import S3Server
from tests.intake.flow import act
from tests.notifications.conftest import (
    SmsProvider,
    inbox,
    notification_settings,
    platform_with,
    until,
    verified,
)
from tests.notifications.test_delivery import received
from tests.notifications.test_lifecycle import code_in
from tests.platform import CENTRE, Platform
from tests.smtp import SmtpServer

OFFICER_EMAIL = "chuyenvien1@quangninh.gov.vn"


async def alert(kind: DossierEvent, code: str, due_at: datetime) -> None:
    """Tracking's alert, as its scanner publishes it."""
    payload = {"agency_code": CENTRE, "due_at": due_at.isoformat()}
    envelope = EventEnvelope(type=kind, source="tracking", subject=code, payload=payload)
    redis = Redis.from_url(SERVERS.redis_url)
    try:
        await redis.xadd("onestop.events.dossier", {"data": envelope.model_dump_json()})
    finally:
        await redis.aclose()


async def test_the_holder_is_alerted_and_the_leaders_get_one_digest_a_day(
    pg_database: PgDatabase, s3_server: S3Server, tmp_path: Path, smtp: SmtpServer,
    sms: SmsProvider,
) -> None:  # fmt: skip
    async with platform_with(pg_database, s3_server, tmp_path,
                             notification_settings(smtp, sms)) as platform:  # fmt: skip
        specialist_id = await platform.officer_id()
        specialist = platform.officer(specialist_id, Position.SPECIALIST)

        async def mailed_code() -> str | None:
            mails = smtp.sink.to(OFFICER_EMAIL)
            return code_in(mails[-1]["Subject"]) if mails else None

        await verified(platform, specialist, "email", OFFICER_EMAIL, mailed_code)
        phone = await platform.client.put(
            "/api/v1/notifications/settings/contacts/phone",
            json={"address": "0912000111"},
            headers=specialist,
        )
        assert phone.status_code == 403  # officers: e-mail and the inbox

        citizen = platform.citizen("citizen-1")
        held = await received(platform, citizen)
        nobodys = await received(platform, citizen)
        leader = platform.officer("leader-1", Position.LEADER)
        given = await act(platform, held, "assign", leader, assignee=specialist_id)
        assert given.status_code == 200, given.text
        due = datetime.fromisoformat(given.json()["due_at"])
        await until(lambda: _holds(platform, held, specialist_id))

        await alert(DossierEvent.DUE_SOON, held, due)
        await alert(DossierEvent.OVERDUE, nobodys, due - timedelta(days=1))

        async def told() -> list[dict[str, object]]:
            return await inbox(platform, specialist)

        [item] = await until(told)
        assert (item["kind"], item["dossier_code"]) == ("due_soon", held)
        assert item["title"] == f"Hồ sơ {held} sắp đến hạn"
        assert f"sắp đến hạn: {due.astimezone(LOCAL):%H:%M ngày %d/%m/%Y}" in str(item["body"])
        await until(lambda: _mailed(smtp, f"Hồ sơ {held} sắp đến hạn"))
        # The overdue alert of the dossier nobody holds goes to no one's inbox, only into
        # the digest: wait for it where the digest reads it (the two alerts are consumed
        # side by side, in no fixed order).
        await until(lambda: _alerted(platform, nobodys, "overdue"))

        # The digest: the seeded leader of the centre (announced by the gateway's seed).
        runtime = platform.apps["notifications"].state.runtime
        monday_8 = datetime(2026, 12, 7, 8, 0, tzinfo=LOCAL).astimezone(UTC)
        sunday_8 = monday_8 - timedelta(days=1)
        async with runtime.db.session() as session:
            assert await make_digests(session, runtime.settings, now=sunday_8) == 0
            made = await make_digests(session, runtime.settings, now=monday_8)
        assert made == 1  # the inbox of lanhdao1, who gave no e-mail
        async with runtime.db.session() as session:
            assert (
                await make_digests(session, runtime.settings, now=monday_8 + timedelta(hours=3))
                == 0
            )
        leader_id = await platform.officer_id("lanhdao1")
        [digest] = await inbox(platform, platform.officer(leader_id, Position.LEADER))
        assert digest["title"] == "Tổng hợp ngày 07/12/2026: 1 hồ sơ quá hạn, 1 sắp đến hạn"
        body = str(digest["body"])
        assert body.index(nobodys) < body.index("Hồ sơ sắp đến hạn (1):") < body.index(held)


async def _alerted(platform: Platform, code: str, alert: str) -> bool:
    runtime = platform.apps["notifications"].state.runtime
    async with runtime.db.read_session() as session:
        known = await session.get(KnownDossier, code)
        return known is not None and known.alert == alert


async def _holds(platform: Platform, code: str, officer: str) -> bool:
    runtime = platform.apps["notifications"].state.runtime
    async with runtime.db.read_session() as session:
        known = await session.get(KnownDossier, code)
        return known is not None and known.holder == officer


async def _mailed(smtp: SmtpServer, subject: str) -> bool:
    return any(m["Subject"] == subject for m in smtp.sink.to(OFFICER_EMAIL))
