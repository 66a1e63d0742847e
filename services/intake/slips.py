"""Slips as PDF (Thông tư 01/2018/TT-VPCP, the forms of its appendix): the receipt and
appointment, the supplement request, the refusal, the apology with a new date, and the
process-control sheet listing every hand-off with its time.

Each slip carries the dossier code, the facts the form asks for, and a QR code to the
public lookup. Text is set in DejaVu Sans, embedded (subset) in the file, so Vietnamese
diacritics print on any reader. Times are Vietnam's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

import segno
from fpdf import FPDF

from services.intake.machine import LABELS, Status
from services.intake.models import AuditEntry, Dossier
from shared.contracts.actions import label
from shared.errors import Conflict
from shared.worktime import VIETNAM

FONTS = Path(__file__).parent / "fonts"
ZONE = ZoneInfo(VIETNAM)
# How a step of the audit trail reads on a slip: its declaration's label.
step_label = label


class SlipKind(StrEnum):
    RECEIPT = "receipt"  # Mẫu 01: Giấy tiếp nhận hồ sơ và hẹn trả kết quả
    SUPPLEMENT = "supplement"  # Mẫu 02: Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ
    REFUSAL = "refusal"  # Mẫu 03: Phiếu từ chối tiếp nhận giải quyết hồ sơ
    APOLOGY = "apology"  # Mẫu 04: Phiếu xin lỗi và hẹn lại ngày trả kết quả
    CONTROL = "control"  # Mẫu 05: Phiếu kiểm soát quá trình giải quyết hồ sơ


TITLES = {
    SlipKind.RECEIPT: "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    SlipKind.SUPPLEMENT: "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
    SlipKind.REFUSAL: "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
    SlipKind.APOLOGY: "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
    SlipKind.CONTROL: "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
}


@dataclass(frozen=True)
class SlipContext:
    dossier: Dossier
    entries: Sequence[AuditEntry]  # the dossier's audit trail, in order
    agency_name: str  # the agency handling it
    receiving_name: str  # the desk it came in at
    lookup_url: str


def when(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(ZONE).strftime("%H giờ %M, ngày %d/%m/%Y")


def _last(entries: Sequence[AuditEntry], action: str) -> AuditEntry | None:
    found = [entry for entry in entries if entry.action == action]
    return found[-1] if found else None


def available(dossier: Dossier, entries: Sequence[AuditEntry]) -> set[SlipKind]:
    kinds = {SlipKind.CONTROL}
    if dossier.received_at is not None:
        kinds.add(SlipKind.RECEIPT)
    if _last(entries, "request-supplement") is not None:
        kinds.add(SlipKind.SUPPLEMENT)
    if dossier.status == Status.REFUSED.value:
        kinds.add(SlipKind.REFUSAL)
    if _last(entries, "apologize") is not None:
        kinds.add(SlipKind.APOLOGY)
    return kinds


class Slip(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_margins(18, 15, 18)
        self.set_auto_page_break(auto=True, margin=15)
        self.add_page()

    def line_of(self, text: str, *, bold: bool = False, size: float = 11, align: str = "L") -> None:
        self.set_font("DejaVu", "B" if bold else "", size)
        self.multi_cell(0, 6, text, align=align, new_x="LMARGIN", new_y="NEXT")

    def field(self, label: str, value: str) -> None:
        self.set_font("DejaVu", "B", 11)
        self.write(6, f"{label}: ")
        self.set_font("DejaVu", "", 11)
        self.write(6, value)
        self.ln(7)

    def qr(self, url: str, *, size: float = 28) -> None:
        """The lookup URL as a QR code, drawn as vector squares at the top right."""
        matrix = segno.make(url, error="m").matrix
        cell = size / (len(matrix) + 8)  # a quiet zone of four modules on each side
        left, top = self.w - self.r_margin - size, 12.0
        self.set_fill_color(0, 0, 0)
        for row, modules in enumerate(matrix):
            for column, dark in enumerate(modules):
                if dark:
                    x, y = left + (column + 4) * cell, top + (row + 4) * cell
                    self.rect(x, y, cell, cell, style="F")


def _header(slip: Slip, context: SlipContext, kind: SlipKind) -> None:
    slip.qr(context.lookup_url)
    slip.set_y(14)
    slip.line_of(context.receiving_name.upper(), bold=True, size=10)
    slip.line_of("BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ", size=10)
    slip.ln(10)
    slip.line_of("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, size=11, align="C")
    slip.line_of("Độc lập - Tự do - Hạnh phúc", size=11, align="C")
    slip.ln(4)
    slip.line_of(TITLES[kind], bold=True, size=13, align="C")
    slip.line_of(f"Mã hồ sơ: {context.dossier.code}", bold=True, size=12, align="C")
    slip.ln(4)


def _applicant(dossier: Dossier) -> str:
    person = dossier.applicant_data.get("applicant")
    name = person.get("full_name") if isinstance(person, dict) else None
    return name if isinstance(name, str) else "—"


def _common(slip: Slip, context: SlipContext) -> None:
    dossier = context.dossier
    slip.field("Thủ tục", dossier.procedure_name)
    slip.field("Người nộp hồ sơ", _applicant(dossier))
    slip.field("Cơ quan giải quyết", context.agency_name)
    slip.field("Ngày nộp", when(dossier.submitted_at))


def _footer(slip: Slip, context: SlipContext) -> None:
    slip.ln(6)
    slip.line_of(
        f"Tra cứu tình trạng hồ sơ: {context.lookup_url} hoặc quét mã QR ở đầu phiếu.", size=9
    )


def _receipt(slip: Slip, context: SlipContext) -> None:
    dossier = context.dossier
    _common(slip, context)
    slip.field("Thời điểm tiếp nhận", when(dossier.received_at))
    slip.field("Số thành phần hồ sơ", str(len(dossier.documents)))
    received = _last(context.entries, "receive")
    due = received.details.get("due_at") if received else None
    appointment = datetime.fromisoformat(str(due)) if due else dossier.due_at
    slip.field("Hẹn trả kết quả", when(appointment))
    fees = dossier.fee_total_vnd
    slip.field("Phí, lệ phí", f"{fees:,} đồng".replace(",", ".") if fees is not None else
               "theo quy định, cán bộ thông báo khi xác định")  # fmt: skip


def _supplement(slip: Slip, context: SlipContext) -> None:
    entry = _last(context.entries, "request-supplement")
    assert entry is not None
    _common(slip, context)
    slip.field("Ngày yêu cầu", when(entry.at))
    slip.line_of("Đề nghị bổ sung, hoàn thiện những nội dung sau (hướng dẫn một lần, đầy đủ):")
    missing = entry.details.get("missing")
    for number, item in enumerate(missing if isinstance(missing, list) else [], start=1):
        slip.line_of(f"  {number}. {item}")
    slip.line_of("Thời gian bổ sung không tính vào thời hạn giải quyết hồ sơ.", size=10)


def _refusal(slip: Slip, context: SlipContext) -> None:
    entry = _last(context.entries, "refuse")
    _common(slip, context)
    slip.field("Ngày từ chối", when(entry.at if entry else context.dossier.finished_at))
    slip.field("Lý do", context.dossier.reason or "—")


def _apology(slip: Slip, context: SlipContext) -> None:
    entry = _last(context.entries, "apologize")
    assert entry is not None
    dossier = context.dossier
    _common(slip, context)
    slip.field("Hạn giải quyết", when(dossier.due_at))
    slip.field("Lý do chậm", str(entry.details.get("reason") or "—"))
    new_due = entry.details.get("new_due_at")
    slip.field("Hẹn lại trả kết quả", when(datetime.fromisoformat(str(new_due))
                                            if new_due else dossier.appointment_at))  # fmt: skip
    slip.line_of(
        f"{context.agency_name} xin lỗi Ông/Bà vì việc giải quyết hồ sơ chậm so với hẹn.",
        size=10,
    )


def _control(slip: Slip, context: SlipContext) -> None:
    _common(slip, context)
    slip.field("Trạng thái", LABELS[Status(context.dossier.status)])
    slip.ln(2)
    widths = (12, 46, 58, 58)
    slip.set_font("DejaVu", "B", 10)
    for width, title in zip(widths, ("STT", "Thời điểm", "Bước", "Người thực hiện"),
                            strict=True):  # fmt: skip
        slip.cell(width, 7, title, border=1)
    slip.ln(7)
    slip.set_font("DejaVu", "", 9)
    for number, entry in enumerate(context.entries, start=1):
        cells = (
            str(number),
            entry.at.astimezone(ZONE).strftime("%d/%m/%Y %H:%M"),
            step_label(entry.action),
            f"{entry.actor} ({entry.role})",
        )
        for width, text in zip(widths, cells, strict=True):
            slip.cell(width, 6, text[:40], border=1)
        slip.ln(6)


RENDERERS = {
    SlipKind.RECEIPT: _receipt,
    SlipKind.SUPPLEMENT: _supplement,
    SlipKind.REFUSAL: _refusal,
    SlipKind.APOLOGY: _apology,
    SlipKind.CONTROL: _control,
}


def render(kind: SlipKind, context: SlipContext) -> bytes:
    """The slip as a PDF; 409 when the dossier has not reached it (no refusal yet...)."""
    if kind not in available(context.dossier, context.entries):
        raise Conflict("Hồ sơ chưa có phiếu này.")
    slip = Slip()
    slip.set_title(f"{TITLES[kind]} - {context.dossier.code}")
    _header(slip, context, kind)
    RENDERERS[kind](slip, context)
    _footer(slip, context)
    return bytes(slip.output())
