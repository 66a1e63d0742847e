"""Delivery on the real servers: the SMTP server and the SMS provider down in the middle
and back (everything owed goes, once); the night rule; a channel turned off; an
unverified phone; dead letters and their resending; the e-mail's stop link."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from services.notifications.delivery import Deliverer, channels_for
from services.notifications.models import Channel, Message, State
from services.notifications.rendering import LOCAL
from shared.auth import Position
from tests.conftest import PgDatabase
from tests.infra import S3Server
from tests.intake.flow import LICENCE_FORM, act, submit
from tests.notifications.conftest import (
    SmsProvider,
    inbox,
    notification_settings,
    platform_with,
    until,
    verified,
)
from tests.notifications.test_lifecycle import (
    EMAIL,
    KINDS,
    PHONE,
    lifecycle,
    reachable_citizen,
    the_code_mailed,
    the_code_texted,
)
from tests.platform import Platform
from tests.smtp import SmtpServer


async def messages(platform: Platform, **where: Any) -> list[Message]:
    """The notifications service's messages (through its own pool of connections)."""
    runtime = platform.apps["notifications"].state.runtime
    async with runtime.db.read_session() as session:
        query = select(Message).order_by(Message.created_at)
        for name, value in where.items():
            query = query.where(getattr(Message, name) == value)
        return list((await session.scalars(query)).all())


async def received(platform: Platform, citizen: dict[str, str]) -> str:
    """A dossier submitted and received (the citizen is told)."""
    submitted = await submit(platform, citizen)
    assert submitted.status_code == 201, submitted.text
    code: str = submitted.json()["code"]
    taken = await act(platform, code, "receive", platform.officer("desk-1", Position.DESK))
    assert taken.status_code == 200, taken.text
    return code


async def test_the_smtp_server_and_the_provider_down_mid_flow_lose_nothing_and_send_once(
    pg_database: PgDatabase, s3_server: S3Server, tmp_path: Path, smtp: SmtpServer,
    sms: SmsProvider,
) -> None:  # fmt: skip
    async with platform_with(pg_database, s3_server, tmp_path,
                             notification_settings(smtp, sms)) as platform:  # fmt: skip
        citizen = await reachable_citizen(platform, smtp, sms)
        smtp.stop()
        await sms.stop()
        code = await lifecycle(platform, citizen)

        async def all_tried_and_failed() -> bool:
            owed = [m for m in await messages(platform) if m.channel != Channel.INBOX]
            tried = [m for m in owed if m.state == State.QUEUED and m.attempts >= 2]
            return len(tried) == 2 * len(KINDS)

        await until(all_tried_and_failed)
        failed = await messages(platform, channel=Channel.EMAIL, state=State.QUEUED)
        assert all("SMTP unreachable" in (m.last_error or "") for m in failed)
        assert len(smtp.sink.to(EMAIL)) == 1  # the code, before the fault
        smtp.start()
        await sms.start()

        async def all_sent() -> bool:
            return len(smtp.sink.to(EMAIL)) == len(sms.messages(PHONE)) == len(KINDS) + 1

        await until(all_sent)
        mails = smtp.sink.to(EMAIL)[1:]
        assert sorted(m["Subject"] for m in mails) == sorted(
            [f"Hồ sơ {code} đã được tiếp nhận", f"Hồ sơ {code} cần bổ sung",
             f"Hồ sơ {code}: đề nghị nộp phí, lệ phí", f"Hồ sơ {code} đã có kết quả",
             f"Hồ sơ {code} đã trả kết quả"]
        )  # fmt: skip

        # The receipts come: each SMS delivered; the e-mails sent (SMTP says no more).
        async def receipts() -> bool:
            texts = await messages(platform, channel=Channel.SMS)
            return all(m.state == State.DELIVERED for m in texts)

        await until(receipts, seconds=30)
        assert all(m.state == State.SENT for m in await messages(platform, channel=Channel.EMAIL))


def quiet_now() -> tuple[int, int]:
    """Quiet hours that hold now, and end within two hours."""
    hour = datetime.now(LOCAL).hour
    return hour, (hour + 2) % 24


async def test_night_rule_a_channel_turned_off_and_an_unverified_phone(
    pg_database: PgDatabase, s3_server: S3Server, tmp_path: Path, smtp: SmtpServer,
    sms: SmsProvider,
) -> None:  # fmt: skip
    start, end = quiet_now()
    settings = notification_settings(smtp, sms, quiet_from_hour=start, quiet_until_hour=end)
    async with platform_with(pg_database, s3_server, tmp_path, settings) as platform:
        # The verification code goes at once, night or not: the citizen is waiting for it.
        citizen = await reachable_citizen(platform, smtp, sms)
        choices = "/api/v1/notifications/settings/channels"
        off = await platform.client.put(choices, json={"channels": {"email": False}},
                                        headers=citizen)  # fmt: skip
        assert off.status_code == 200, off.text
        assert off.json()["channels"] == {"email": False, "sms": True, "zalo": False}
        # Another citizen gives a phone and never enters the code.
        other = platform.citizen("citizen-2")
        unverified = "0987654321"
        given = await platform.client.put("/api/v1/notifications/settings/contacts/phone",
                                          json={"address": unverified}, headers=other)  # fmt: skip
        assert given.status_code == 200, given.text
        again = await platform.client.put("/api/v1/notifications/settings/contacts/phone",
                                          json={"address": unverified}, headers=other)  # fmt: skip
        assert again.status_code == 429  # a new code at most once a minute
        assert "Retry-After" in again.headers

        mine = await received(platform, citizen)
        theirs = await received(platform, other)
        await until(lambda: _inbox_has(platform, citizen, mine))
        await until(lambda: _inbox_has(platform, other, theirs))
        owed = await messages(platform, channel=Channel.SMS, dossier_code=mine)
        assert len(owed) == 1
        assert owed[0].state == State.QUEUED
        # It waits for the morning: the end of the quiet hours, local time.
        morning = owed[0].next_attempt_at.astimezone(LOCAL)
        assert (morning.hour, morning.minute) == (end, 0)
        assert timedelta(0) < morning - datetime.now(LOCAL) <= timedelta(hours=2)
        # Nothing by e-mail (turned off); the unverified phone got its code, nothing else.
        assert smtp.sink.to(EMAIL)[1:] == []
        assert [m["text"][:26] for m in sms.messages(unverified)] == ["Mã xác minh số điện thoại "]
        assert await messages(platform, dossier_code=theirs, channel=Channel.SMS) == []
        assert len(sms.messages(PHONE)) == 1  # the code only, so far

        # In the morning, the worker sends it.
        runtime = platform.apps["notifications"].state.runtime
        async with channels_for(runtime) as channels:
            morning_utc = owed[0].next_attempt_at + timedelta(seconds=1)
            later = Deliverer(runtime.db, runtime.settings, channels, clock=lambda: morning_utc)
            assert await later.drain() == 1
        assert [m["text"] for m in sms.messages(PHONE)][1].startswith(f"Hồ sơ {mine} đã tiếp nhận")


async def _inbox_has(platform: Platform, headers: dict[str, str], code: str) -> bool:
    return any(item["dossier_code"] == code for item in await inbox(platform, headers))


async def test_dead_letters_are_shown_and_resent_and_the_stop_link_stops_that_kind(
    pg_database: PgDatabase, s3_server: S3Server, tmp_path: Path, smtp: SmtpServer,
    sms: SmsProvider,
) -> None:  # fmt: skip
    async with platform_with(pg_database, s3_server, tmp_path,
                             notification_settings(smtp, sms)) as platform:  # fmt: skip
        citizen = platform.citizen("citizen-1")
        undeliverable = "0999111222"  # the mock's receipt says it failed
        await verified(platform, citizen, "email", EMAIL, lambda: the_code_mailed(smtp, EMAIL))
        await verified(platform, citizen, "phone", undeliverable,
                       lambda: the_code_texted(sms, undeliverable))  # fmt: skip
        smtp.sink.refuse.add(EMAIL)  # the mailbox is gone: 550, no retry will help
        code = await received(platform, citizen)
        admin = platform.admin()

        async def dead() -> list[dict[str, Any]]:
            listing = "/api/v1/notifications/messages"
            answer = await platform.client.get(listing, params={"state": "failed"},
                                               headers=admin)  # fmt: skip
            assert answer.status_code == 200, answer.text
            items: list[dict[str, Any]] = answer.json()["items"]
            return items if len(items) == 3 else []  # the SMS code too, its receipt failed

        letters = await until(dead, seconds=30)
        mail = next(m for m in letters if m["channel"] == "email")
        assert mail["attempts"] == 1  # refused for good: not retried
        assert "550" in mail["last_error"]
        assert mail["address"] == "bi***@example.vn"  # masked, even for the admin
        status = await platform.client.get("/api/v1/notifications/status", headers=admin)
        assert status.json()["dead_letters"] == 3
        assert (await platform.client.get("/api/v1/notifications/status",
                                          headers=citizen)).status_code == 403  # fmt: skip

        smtp.sink.refuse.clear()
        again = await platform.client.post(f"/api/v1/notifications/messages/{mail['id']}/resend",
                                           headers=admin)  # fmt: skip
        assert again.status_code == 200, again.text
        assert again.json()["state"] == "queued"
        await until(lambda: _mailed(smtp, f"Hồ sơ {code} đã được tiếp nhận"))
        twice = await platform.client.post(f"/api/v1/notifications/messages/{mail['id']}/resend",
                                           headers=admin)  # fmt: skip
        assert twice.status_code == 409

        # The stop link of that e-mail: no more "received" e-mails, the rest still come.
        [sent] = smtp.sink.to(EMAIL)[1:]
        link = sent["List-Unsubscribe"].strip("<>")
        path = httpx.URL(link).raw_path.decode()
        forged = await platform.client.post(path[:-3] + "abc")
        assert forged.status_code == 403
        stopped = await platform.client.post(path)
        assert stopped.status_code == 200, stopped.text
        assert stopped.json()["label"] == "Hồ sơ được tiếp nhận"
        settings = await platform.client.get("/api/v1/notifications/settings", headers=citizen)
        choice = next(k for k in settings.json()["kinds"] if k["kind"] == "received")
        assert choice["channels"]["email"] is False
        second = await received(platform, citizen)
        refused = await act(platform, second, "stop", platform.officer("leader-1", Position.LEADER),
                            reason="Hồ sơ giả mạo")  # fmt: skip
        assert refused.status_code == 200, refused.text
        await until(lambda: _mailed(smtp, f"Hồ sơ {second} dừng xử lý"))
        assert not await _mailed(smtp, f"Hồ sơ {second} đã được tiếp nhận")


async def _mailed(smtp: SmtpServer, subject: str) -> bool:
    return any(m["Subject"] == subject for m in smtp.sink.to(EMAIL))


async def test_a_walk_in_without_an_account_is_told_at_the_e_forms_contact(
    pg_database: PgDatabase, s3_server: S3Server, tmp_path: Path, smtp: SmtpServer,
    sms: SmsProvider,
) -> None:  # fmt: skip
    """A dossier filed at the counter for someone with no account: the e-mail and phone
    the desk took from them in person (the e-form's) get its news; there is no inbox."""
    async with platform_with(pg_database, s3_server, tmp_path,
                             notification_settings(smtp, sms)) as platform:  # fmt: skip
        desk = platform.officer("desk-1", Position.DESK)
        procedure = (await platform.client.get("/api/v1/procedures/TTHC-20")).json()
        paper = [i for i, d in enumerate(procedure["required_documents"]) if d["required"]]
        walk_in = {**LICENCE_FORM["applicant"], "email": "khach.vanglai@example.vn",
                   "phone": "0987000111"}  # fmt: skip
        form = {**LICENCE_FORM, "applicant": walk_in}
        filed = await submit(platform, desk, channel="counter", documents=[],
                             received_on_paper=paper, form=form)  # fmt: skip
        assert filed.status_code == 201, filed.text
        code = filed.json()["code"]
        assert (await act(platform, code, "receive", desk)).status_code == 200
        refused = await act(platform, code, "refuse", desk, reason="Thiếu bản chính giấy phép.")
        assert refused.status_code == 200, refused.text

        async def told() -> bool:
            return (
                len(smtp.sink.to("khach.vanglai@example.vn")) == 2
                and len(sms.messages("0987000111")) == 2
            )

        await until(told)
        mails = smtp.sink.to("khach.vanglai@example.vn")
        subjects = sorted(m["Subject"] for m in mails)
        assert subjects == [f"Hồ sơ {code} không được tiếp nhận", f"Hồ sơ {code} đã được tiếp nhận"]
        refusal = next(
            m for m in smtp.sink.to("khach.vanglai@example.vn") if "không" in m["Subject"]
        )
        assert "Lý do: Thiếu bản chính giấy phép." in refusal.get_content()
        made = await messages(platform, dossier_code=code)
        assert {m.channel for m in made} == {Channel.EMAIL, Channel.SMS}  # no inbox
        assert {m.recipient for m in made} == {f"walk-in:{code}"}
