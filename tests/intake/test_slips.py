"""Slips as PDF, read back: the code, the dates, the facts of each form, in Vietnamese."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from shared.auth import Position
from tests.intake.flow import act, at, set_clock, submit
from tests.platform import CENTRE, Platform, embedded


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    async with embedded(tmp_path) as running:
        yield running


async def slip_text(platform: Platform, code: str, kind: str, headers: dict[str, str]) -> str:
    response = await platform.client.get(f"/api/v1/dossiers/{code}/slips/{kind}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[index]
    }
    assert any("DejaVu" in name for name in fonts)  # the font travels with the file
    return " ".join(page.extract_text() for page in reader.pages)


async def test_each_slip_carries_the_code_the_dates_and_its_facts(platform: Platform) -> None:
    citizen = platform.citizen("citizen-1")
    officer = platform.officer("desk-1", Position.DESK, Position.SPECIALIST)
    set_clock(platform, at("2026-02-13 15:50"))
    code = (await submit(platform, citizen)).json()["code"]

    control = await slip_text(platform, code, "control", citizen)
    assert code in control
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in control
    missing_receipt = await platform.client.get(
        f"/api/v1/dossiers/{code}/slips/receipt", headers=citizen
    )
    assert missing_receipt.status_code == 409  # not received yet

    set_clock(platform, at("2026-02-13 16:00"))
    await act(platform, code, "receive", officer)
    receipt = await slip_text(platform, code, "receipt", citizen)
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in receipt
    assert code in receipt
    assert "Đổi giấy phép lái xe" in receipt
    assert "Trần Thị Bình" in receipt
    assert "16 giờ 00, ngày 13/02/2026" in receipt  # received
    assert "16 giờ 00, ngày 27/02/2026" in receipt  # the appointment, after Tết
    assert "135.000 đồng" in receipt
    assert f"/tra-cuu/{code}" in receipt

    set_clock(platform, at("2026-02-23 09:00"))
    await act(platform, code, "assign", officer)
    await act(platform, code, "request-supplement", officer,
              missing=["Giấy khám sức khỏe còn hiệu lực", "Ảnh chân dung 3x4"])  # fmt: skip
    supplement = await slip_text(platform, code, "supplement", citizen)
    assert "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in supplement
    assert "1. Giấy khám sức khỏe còn hiệu lực" in supplement
    assert "2. Ảnh chân dung 3x4" in supplement
    assert "09 giờ 00, ngày 23/02/2026" in supplement

    await act(platform, code, "apologize", officer, reason="Chờ kết quả xác minh của Công an",
              new_due_at="2026-03-10T10:00:00+07:00", confirm_counted_late=True)  # fmt: skip
    apology = await slip_text(platform, code, "apology", citizen)
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in apology
    assert "Chờ kết quả xác minh của Công an" in apology
    assert "10 giờ 00, ngày 10/03/2026" in apology

    control = await slip_text(platform, code, "control", officer)
    for step in ("Nộp hồ sơ", "Tiếp nhận", "Giao xử lý", "Yêu cầu bổ sung", "Xin lỗi, hẹn lại"):
        assert step in control
    assert "13/02/2026 15:50" in control

    other = (await submit(platform, citizen)).json()["code"]
    await act(platform, other, "refuse", officer, reason="Hồ sơ không thuộc thẩm quyền")
    refusal = await slip_text(platform, other, "refusal", citizen)
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in refusal
    assert "Hồ sơ không thuộc thẩm quyền" in refusal

    stranger = platform.citizen("citizen-2")
    hidden = await platform.client.get(f"/api/v1/dossiers/{code}/slips/receipt", headers=stranger)
    assert hidden.status_code == 404
    unknown = await platform.client.get(f"/api/v1/dossiers/{code}/slips/invoice", headers=citizen)
    assert unknown.status_code == 422
    assert CENTRE in code
