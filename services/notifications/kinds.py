"""The kinds of message, which event makes each, and on which channels it may go."""

from __future__ import annotations

from enum import StrEnum

from services.notifications.models import Channel
from shared.contracts.dossiers import DossierEvent


class Kind(StrEnum):
    # To the applicant
    RECEIVED = "received"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    PAYMENT_REQUESTED = "payment_requested"
    APPOINTMENT_MOVED = "appointment_moved"  # a calendar change moved the date
    REAPPOINTED = "reappointed"  # the agency's apology and a new date
    RESOLVED = "resolved"
    RETURNED = "returned"
    REFUSED = "refused"
    STOPPED = "stopped"
    WITHDRAWN = "withdrawn"
    # To officers
    DUE_SOON = "due_soon"  # to the officer holding the dossier
    OVERDUE = "overdue"
    DIGEST = "digest"  # to an agency's leaders, each working day
    # To the address being verified, and only this there until it is
    VERIFY_EMAIL = "verify_email"
    VERIFY_PHONE = "verify_phone"


# What the applicant is told, by the event of the dossier's notice.
APPLICANT_KINDS: dict[str, Kind] = {
    DossierEvent.RECEIVED: Kind.RECEIVED,
    DossierEvent.SUPPLEMENT_REQUESTED: Kind.SUPPLEMENT_REQUESTED,
    DossierEvent.PAYMENT_REQUESTED: Kind.PAYMENT_REQUESTED,
    DossierEvent.DUE_APPLIED: Kind.APPOINTMENT_MOVED,
    DossierEvent.REAPPOINTED: Kind.REAPPOINTED,
    DossierEvent.RESOLVED: Kind.RESOLVED,
    DossierEvent.RETURNED: Kind.RETURNED,
    DossierEvent.REFUSED: Kind.REFUSED,
    DossierEvent.STOPPED: Kind.STOPPED,
}
WITHDRAW_ACTION = "withdraw"  # a stop the applicant asked for

OFFICER_KINDS: dict[str, Kind] = {
    DossierEvent.DUE_SOON: Kind.DUE_SOON,
    DossierEvent.OVERDUE: Kind.OVERDUE,
}

# The channels each audience's messages may take (each still subject to the
# recipient's addresses and preferences).
APPLICANT_CHANNELS = (Channel.INBOX, Channel.EMAIL, Channel.SMS, Channel.ZALO)
OFFICER_CHANNELS = (Channel.INBOX, Channel.EMAIL)
# Channels to a phone: quiet at night.
PHONE_CHANNELS = frozenset({Channel.SMS, Channel.ZALO})
# Channels on unless turned off (given a verified address); Zalo is asked for.
ON_BY_DEFAULT = frozenset({Channel.EMAIL, Channel.SMS})

# How a citizen reads each kind (their settings page, the e-mail's stop link).
KIND_LABELS: dict[Kind, str] = {
    Kind.RECEIVED: "Hồ sơ được tiếp nhận",
    Kind.SUPPLEMENT_REQUESTED: "Yêu cầu bổ sung hồ sơ",
    Kind.PAYMENT_REQUESTED: "Yêu cầu nộp phí, lệ phí",
    Kind.APPOINTMENT_MOVED: "Thay đổi ngày hẹn do lịch làm việc",
    Kind.REAPPOINTED: "Thư xin lỗi và hẹn lại",
    Kind.RESOLVED: "Có kết quả",
    Kind.RETURNED: "Đã trả kết quả",
    Kind.REFUSED: "Hồ sơ không được tiếp nhận",
    Kind.STOPPED: "Dừng xử lý hồ sơ",
    Kind.WITHDRAWN: "Rút hồ sơ",
    Kind.DUE_SOON: "Hồ sơ sắp đến hạn",
    Kind.OVERDUE: "Hồ sơ quá hạn",
    Kind.DIGEST: "Tổng hợp hằng ngày",
    Kind.VERIFY_EMAIL: "Xác minh thư điện tử",
    Kind.VERIFY_PHONE: "Xác minh số điện thoại",
}
# The kinds a recipient may turn off one by one (not the verification codes).
CHOOSABLE = frozenset(Kind) - {Kind.VERIFY_EMAIL, Kind.VERIFY_PHONE}


def applicant_kind(event: str, action: str | None) -> Kind | None:
    kind = APPLICANT_KINDS.get(event)
    if kind is Kind.STOPPED and action == WITHDRAW_ACTION:
        return Kind.WITHDRAWN
    return kind
