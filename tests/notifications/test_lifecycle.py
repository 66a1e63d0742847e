"""A dossier from submission to return on the real servers (PostgreSQL, Redis, the S3
server, an SMTP server, the SMS provider mock): exactly the expected messages on each
channel, each once, with the right Vietnamese text; nothing twice when an event comes
again; the night rule; preferences; an unverified phone."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from sqlalchemy import func, select

from services.notifications.models import Message
from shared.auth import Position
from shared.contracts.events import EventEnvelope, stream_name
from tests.conftest import SERVERS, PgDatabase
from tests.infra import S3Server
from tests.intake.flow import act, submit, upload
from tests.notifications.conftest import (
    SmsProvider,
    inbox,
    notification_settings,
    platform_with,
    until,
    verified,
)
from tests.platform import CENTRE, Platform
from tests.smtp import SmtpServer

VN = ZoneInfo("Asia/Ho_Chi_Minh")
EMAIL = "binh.tran@example.vn"
PHONE = "0912345678"
ID_NUMBER = "001099000001"  # the applicant's, in the e-form: in no message


def code_in(text: str) -> str | None:
    found = re.search(r"\b(\d{6})\b", text)
    return found.group(1) if found else None


async def the_code_mailed(smtp: SmtpServer, address: str) -> str | None:
    mails = smtp.sink.to(address)
    return code_in(mails[-1]["Subject"]) if mails else None


async def the_code_texted(sms: SmsProvider, phone: str) -> str | None:
    texts = sms.messages(phone)
    return code_in(texts[-1]["text"]) if texts else None


async def reachable_citizen(
    platform: Platform, smtp: SmtpServer, sms: SmsProvider
) -> dict[str, str]:
    """citizen-1, with its e-mail and phone verified (the codes read where they went)."""
    citizen = platform.citizen("citizen-1")
    await verified(platform, citizen, "email", EMAIL, lambda: the_code_mailed(smtp, EMAIL))
    await verified(platform, citizen, "phone", PHONE, lambda: the_code_texted(sms, PHONE))
    return citizen


async def lifecycle(platform: Platform, citizen: dict[str, str]) -> str:
    desk = platform.officer("desk-1", Position.DESK)
    specialist_id = await platform.officer_id()
    specialist = platform.officer(specialist_id, Position.SPECIALIST)
    leader = platform.officer("leader-1", Position.LEADER)
    submitted = await submit(platform, citizen)
    assert submitted.status_code == 201, submitted.text
    code: str = submitted.json()["code"]
    assert (await act(platform, code, "receive", desk)).status_code == 200
    assert (await act(platform, code, "assign", leader, assignee=specialist_id)).status_code == 200
    asked = await act(platform, code, "request-supplement", specialist,
                      missing=["Giấy khám sức khỏe còn hiệu lực", "Ảnh 3x4"])  # fmt: skip
    assert asked.status_code == 200, asked.text
    document = await upload(platform, citizen, "giấy khám sức khỏe.pdf")
    answered = await act(platform, code, "supplement", citizen,
                         documents=[{"requirement": 1, "id": document}])  # fmt: skip
    assert answered.status_code == 200, answered.text
    assert (await act(platform, code, "request-payment", specialist)).status_code == 200
    paid = await platform.client.post(f"/api/v1/dossiers/{code}/payment/mock-pay",
                                      headers=citizen)  # fmt: skip
    assert paid.status_code == 200, paid.text
    result = await platform.client.post(
        "/api/v1/documents/results",
        data={"owner": "citizen-1", "dossier_code": code, "agency_code": CENTRE},
        files={"file": ("giấy phép.pdf", b"%PDF-1.4\n%%EOF\n" * 20, "application/pdf")},
        headers=specialist,
    )
    assert result.status_code == 201, result.text
    resolved = await act(platform, code, "resolve", specialist,
                         result_documents=[result.json()["id"]])  # fmt: skip
    assert resolved.status_code == 200, resolved.text
    assert (await act(platform, code, "return", desk)).status_code == 200
    return code


KINDS = ["received", "supplement_requested", "payment_requested", "resolved", "returned"]


async def test_a_dossier_to_its_return_tells_the_citizen_once_on_each_channel(
    pg_database: PgDatabase, s3_server: S3Server, tmp_path: Path, smtp: SmtpServer,
    sms: SmsProvider,
) -> None:  # fmt: skip
    async with platform_with(pg_database, s3_server, tmp_path,
                             notification_settings(smtp, sms)) as platform:  # fmt: skip
        citizen = await reachable_citizen(platform, smtp, sms)
        choices = "/api/v1/notifications/settings/channels"
        zalo = await platform.client.put(choices, json={"channels": {"zalo": True}},
                                         headers=citizen)  # fmt: skip
        assert zalo.status_code == 200, zalo.text
        code = await lifecycle(platform, citizen)

        async def everything() -> list[dict[str, Any]] | None:
            items = await inbox(platform, citizen)
            done = len(items) == len(KINDS) and len(smtp.sink.to(EMAIL)) == len(KINDS) + 1
            done = done and len(sms.messages(PHONE, "zalo")) == len(KINDS)
            return items if done and len(sms.messages(PHONE, "sms")) == len(KINDS) + 1 else None

        items = await until(everything)
        # The inbox: one of each kind, newest first, unread.
        assert [item["kind"] for item in reversed(items)] == KINDS
        assert all(item["dossier_code"] == code and item["read_at"] is None for item in items)
        mails = smtp.sink.to(EMAIL)[1:]  # after the verification code
        texts = [m["text"] for m in sms.messages(PHONE, "sms")][1:]
        # Zalo, asked for, carries the inbox's fuller text.
        zalo_texts = {m["text"] for m in sms.messages(PHONE, "zalo")}
        assert zalo_texts == {item["body"] for item in items}
        assert len(mails) == len(texts) == len(KINDS)

        dossier = (await platform.client.get(f"/api/v1/dossiers/{code}", headers=citizen)).json()
        received_at = datetime.fromisoformat(items[-1]["created_at"])
        assert received_at.tzinfo is not None
        appointment = datetime.fromisoformat(dossier["due_at"]).astimezone(VN)
        # Exact texts: the SMS of the receipt, the e-mail asking for more.
        # (Sent side by side: the order they arrive in is not the events'.)
        assert f"Hồ sơ {code} đã tiếp nhận, hẹn trả {appointment:%d/%m/%Y}." in texts
        assert f"Hồ sơ {code} cần bổ sung giấy tờ, xem trên Cổng." in texts
        assert f"Hồ sơ {code}: mời nộp 135.000 đồng phí." in texts
        [supplement] = [m for m in mails if m["Subject"] == f"Hồ sơ {code} cần bổ sung"]
        assert supplement["Subject"] == f"Hồ sơ {code} cần bổ sung"
        body = supplement.get_content()
        assert body.startswith("Kính gửi ông/bà Trần Thị Bình,\n\n")
        assert (
            f"Hồ sơ {code} (Đổi giấy phép lái xe do ngành Giao thông vận tải cấp) cần bổ sung "
            "các giấy tờ sau:\n- Giấy khám sức khỏe còn hiệu lực\n- Ảnh 3x4\n"
            "Thời hạn giải quyết tạm dừng từ nay cho đến khi ông/bà nộp đủ các giấy tờ trên.\n"
        ) in body
        assert "Không muốn nhận loại thư này nữa?" in body
        assert supplement["List-Unsubscribe"].startswith("<http://127.0.0.1:")
        # Each message once: Message-IDs differ, and none carries the ID number.
        assert len({m["Message-ID"] for m in mails}) == len(KINDS)
        for text in [*texts, *(m.get_content() for m in mails), *(i["body"] for i in items)]:
            assert ID_NUMBER not in text
        # The inbox's unread count, and marking read.
        first = items[0]["id"]
        read = await platform.client.post(f"/api/v1/notifications/{first}/read", headers=citizen)
        assert read.status_code == 200
        assert read.json()["read_at"] is not None
        other = platform.citizen("citizen-2")
        stranger = await platform.client.post(f"/api/v1/notifications/{first}/read", headers=other)
        assert stranger.status_code == 404
        unread = await platform.client.get("/api/v1/notifications", params={"unread": "true"},
                                           headers=citizen)  # fmt: skip
        assert unread.json()["unread"] == len(KINDS) - 1

        # The same events once more (a redelivery after a crash): nothing new anywhere.
        await redeliver_notices(platform, code)
        runtime = platform.apps["notifications"].state.runtime
        async with runtime.db.read_session() as session:
            count = await session.scalar(select(func.count()).select_from(Message))
        assert count == 4 * len(KINDS) + 2  # inbox, e-mail, SMS, Zalo of each kind; two codes
        assert len(smtp.sink.to(EMAIL)) == len(KINDS) + 1
        assert len(sms.messages(PHONE)) == 2 * len(KINDS) + 1


async def redeliver_notices(platform: Platform, code: str) -> None:
    """Put every notice of ``code`` on the stream again, as a crashed relay would, and
    wait until the consumers have read past them."""
    redis = Redis.from_url(SERVERS.redis_url, decode_responses=True)
    try:
        stream = stream_name("notice")
        entries = await redis.xrange(stream)
        again = []
        for _, fields in entries or []:
            assert fields is not None
            data = str(fields["data"])
            if EventEnvelope.model_validate_json(data).subject == code:
                again.append(await redis.xadd(stream, {"data": data}))
        assert again

        async def read_past() -> bool:
            groups = await redis.xinfo_groups(stream)
            return all(g["last-delivered-id"] >= again[-1] and g["pending"] == 0 for g in groups)

        await until(read_past)
    finally:
        await redis.aclose()
