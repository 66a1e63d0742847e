"""The messages' texts: every SMS within one message of Vietnamese (UCS-2, 70 code
units), the exact wording of a few, no ID number anywhere; the night rule; the masks;
the once-per-event key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from sqlalchemy import select

from services.notifications import planning
from services.notifications.channels import Receipt
from services.notifications.config import NotificationsSettings
from services.notifications.delivery import read_receipts
from services.notifications.kinds import APPLICANT_CHANNELS, Kind
from services.notifications.main import spec
from services.notifications.models import Channel, Message, State
from services.notifications.preferences import Reach
from services.notifications.rendering import LOCAL, render
from services.notifications.texts import mask, sms_parts, sms_units
from shared.db import Database
from shared.migrations import upgrade
from tests.conftest import embedded_platform

# The longest code a desk gives (13-character agency, a day, a five-digit number).
LONGEST_CODE = "000.00.15.H49-261231-12345"
CONTEXT: dict[str, Any] = {
    "code": LONGEST_CODE,
    "procedure_name": "Đăng ký khai sinh",
    "greeting": "Kính gửi ông/bà Nguyễn Thị Hương,",
    "appointment_at": datetime(2026, 12, 31, 9, 30, tzinfo=UTC),
    "previous_appointment_at": datetime(2026, 12, 30, 9, 30, tzinfo=UTC),
    "lookup_url": "https://motcua.example/tra-cuu/x",
    "dossier_url": "https://motcua.example/ho-so/x",
    "missing": ["Bản sao giấy chứng sinh", "Giấy xác nhận cư trú"],
    "note": None,
    "amount_vnd": 999_999_999,
    "payment_id": "PAY-1",
    "reason": "Hồ sơ không thuộc thẩm quyền giải quyết của cơ quan.",
    "electronic_result": True,
    "unsubscribe_url": None,
}
APPLICANT = [
    Kind.RECEIVED, Kind.SUPPLEMENT_REQUESTED, Kind.PAYMENT_REQUESTED, Kind.APPOINTMENT_MOVED,
    Kind.REAPPOINTED, Kind.RESOLVED, Kind.RETURNED, Kind.REFUSED, Kind.STOPPED, Kind.WITHDRAWN,
]  # fmt: skip


def test_counting_an_sms() -> None:
    assert sms_units("Ho so da tiep nhan") == (18, "gsm7")
    assert sms_units("Hồ sơ") == (5, "ucs2")  # one code unit a precomposed letter
    decomposed = "Ho\u0302\u0300 so\u031b"  # the same, decomposed: counted after NFC
    assert sms_units(decomposed) == (5, "ucs2")
    assert sms_parts("ơ" * 70) == 1
    assert sms_parts("ơ" * 71) == 2  # 67 a part once split
    assert sms_parts("ơ" * 134) == 2
    assert sms_parts("ơ" * 135) == 3
    assert sms_parts("a" * 160) == 1
    assert sms_parts("a" * 161) == 2
    assert sms_units("€") == (2, "gsm7")  # an extension character


@pytest.mark.parametrize("kind", [*APPLICANT, Kind.VERIFY_PHONE], ids=str)
def test_every_sms_fits_one_message_of_vietnamese(kind: Kind) -> None:
    text = render(kind, Channel.SMS, {**CONTEXT, "otp": "123456", "minutes": 15}).body
    units, encoding = sms_units(text)
    assert encoding == "ucs2"
    assert units <= 70, (units, text)
    assert "\n" not in text


@pytest.mark.parametrize("kind", APPLICANT, ids=str)
@pytest.mark.parametrize("channel", APPLICANT_CHANNELS, ids=str)
def test_no_message_carries_an_id_number(kind: Kind, channel: Channel) -> None:
    rendered = render(kind, channel, {**CONTEXT, "applicant_name": "Nguyễn Thị Hương"})
    assert rendered.body
    assert rendered.template == f"{kind.value}@1"
    for text in (rendered.title, rendered.body):
        assert "001099000001" not in text
        assert "{{" not in text


def test_exact_wording() -> None:
    assert render(Kind.RECEIVED, Channel.SMS, CONTEXT).body == (
        f"Hồ sơ {LONGEST_CODE} đã tiếp nhận, hẹn trả 31/12/2026."
    )
    moved = render(Kind.APPOINTMENT_MOVED, Channel.INBOX, CONTEXT)
    assert moved.title == f"Hồ sơ {LONGEST_CODE}: thay đổi ngày hẹn trả kết quả"
    assert moved.body == (
        f"Do thay đổi lịch làm việc, ngày hẹn trả kết quả của hồ sơ {LONGEST_CODE} "
        "(Đăng ký khai sinh) đổi từ 16:30 ngày 30/12/2026 sang 16:30 ngày 31/12/2026.\n"
        "Căn cứ: Hồ sơ không thuộc thẩm quyền giải quyết của cơ quan."
    )
    mail = render(Kind.REFUSED, Channel.EMAIL, {**CONTEXT, "unsubscribe_url": "https://u"})
    assert mail.body == (
        "Kính gửi ông/bà Nguyễn Thị Hương,\n\n"
        f"Hồ sơ {LONGEST_CODE} (Đăng ký khai sinh) không được tiếp nhận.\n"
        "Lý do: Hồ sơ không thuộc thẩm quyền giải quyết của cơ quan.\n\n"
        "Trân trọng,\nBộ phận Tiếp nhận và Trả kết quả — Một cửa điện tử\n\n"
        "Không muốn nhận loại thư này nữa? Bấm vào liên kết sau: https://u"
    )
    payment = render(Kind.PAYMENT_REQUESTED, Channel.SMS, CONTEXT).body
    assert payment == f"Hồ sơ {LONGEST_CODE}: mời nộp 999.999.999 đồng phí."


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL)


@pytest.mark.parametrize(
    ("made", "goes"),
    [
        ("2026-12-07 20:59", "2026-12-07 20:59"),  # before the night: at once
        ("2026-12-07 21:00", "2026-12-08 07:00"),  # the night starts
        ("2026-12-07 23:30", "2026-12-08 07:00"),
        ("2026-12-08 03:10", "2026-12-08 07:00"),  # after midnight: the same morning
        ("2026-12-08 06:59", "2026-12-08 07:00"),
        ("2026-12-08 07:00", "2026-12-08 07:00"),  # morning: at once
    ],
)
def test_the_night_rule(tmp_path: Path, made: str, goes: str) -> None:
    settings = NotificationsSettings(platform=embedded_platform(tmp_path))
    assert planning.quiet_until(_local(made), settings) == _local(goes)


def test_quiet_hours_within_a_day_and_none() -> None:
    settings = NotificationsSettings(quiet_from_hour=12, quiet_until_hour=14)
    assert planning.quiet_until(_local("2026-12-07 12:30"), settings) == _local("2026-12-07 14:00")
    assert planning.quiet_until(_local("2026-12-07 14:30"), settings) == _local("2026-12-07 14:30")
    never = NotificationsSettings(quiet_from_hour=0, quiet_until_hour=0)
    assert planning.quiet_until(_local("2026-12-07 23:00"), never) == _local("2026-12-07 23:00")


def test_addresses_are_masked() -> None:
    assert mask("binh.tran@example.vn") == "bi***@example.vn"
    assert mask("0912345678") == "091****678"
    assert mask(None) == "-"


async def test_a_message_is_made_once_per_event_recipient_and_channel(tmp_path: Path) -> None:
    settings = NotificationsSettings(platform=embedded_platform(tmp_path))
    await anyio.to_thread.run_sync(upgrade, spec.migrations, settings.db_url)
    database = Database(settings.db_url)
    reach = Reach(key="citizen-1", inbox=True, email="a@example.vn", phone="0912345678")
    event = uuid.uuid4()
    try:
        made = []
        for _ in range(2):  # the consumer's inbox aside: a second run, a second worker
            async with database.session() as session:
                count = await planning.enqueue(
                    session, settings, event_id=event, reach=reach, kind=Kind.RECEIVED,
                    channels=APPLICANT_CHANNELS, context=CONTEXT, now=datetime.now(UTC),
                )  # fmt: skip
                made.append(count)
        assert made == [3, 0]  # inbox, e-mail, SMS (Zalo is asked for, not on by default)
    finally:
        await database.dispose()


class ReceiptsFirst:
    """A provider whose receipt comes before the worker recorded the acceptance."""

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id

    async def send(self, message: Any) -> str:
        raise AssertionError("not sent here")

    async def receipts(self, after: int) -> tuple[list[Receipt], int]:
        if after:
            return [], after
        at = datetime.now(UTC)
        return [Receipt(message_id=self.message_id, delivered=True, at=at),
                Receipt(message_id="not-ours", delivered=True, at=at)], 2  # fmt: skip


async def test_a_receipt_before_the_acceptance_is_recorded_still_counts(tmp_path: Path) -> None:
    settings = NotificationsSettings(platform=embedded_platform(tmp_path))
    await anyio.to_thread.run_sync(upgrade, spec.migrations, settings.db_url)
    database = Database(settings.db_url)
    reach = Reach(key="citizen-1", inbox=False, phone="0912345678")
    try:
        async with database.session() as session:
            await planning.enqueue(
                session, settings, event_id=uuid.uuid4(), reach=reach, kind=Kind.RECEIVED,
                channels=(Channel.SMS,), context=CONTEXT, now=datetime.now(UTC), quiet=False,
            )  # fmt: skip
        async with database.read_session() as session:
            [message] = (await session.scalars(select(Message))).all()
        assert message.state is State.QUEUED  # the worker holds it, the provider took it
        provider = ReceiptsFirst(str(message.id))
        assert await read_receipts(database, provider) == 2
        assert await read_receipts(database, provider) == 0  # the cursor moved on
        async with database.read_session() as session:
            [message] = (await session.scalars(select(Message))).all()
        assert message.state is State.DELIVERED
        assert message.sent_at is not None
    finally:
        await database.dispose()
