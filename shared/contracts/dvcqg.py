"""The national public-service portal's API (DVCQG), as the platform's sync speaks it
and the mock (``services/national_portal``) answers it: field names as the portal's
(Vietnamese, without diacritics), dates ``yyyyMMddHHmmss`` in Vietnam's local time, and
``error_code`` in every answer: ``"00"`` is success; the others are in ``ErrorCode``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

VIETNAM = timezone(timedelta(hours=7))
DATE_FORMAT = "%Y%m%d%H%M%S"


class ErrorCode(StrEnum):
    OK = "00"
    UNAUTHORIZED = "01"  # no token, a wrong one, or an expired one
    INVALID = "02"  # the body breaks the rules (each problem is named)
    NOT_FOUND = "03"
    OUT_OF_ORDER = "04"  # a progress step earlier than the last one


def parse_date(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or len(value) != 14 or not value.isdigit():
        raise ValueError("ngày giờ phải có dạng yyyyMMddHHmmss")
    return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=VIETNAM)


def format_date(value: datetime) -> str:
    return value.astimezone(VIETNAM).strftime(DATE_FORMAT)


PortalDate = Annotated[datetime, BeforeValidator(parse_date), PlainSerializer(format_date)]
# TrangThaiHoSo: 1 (mới đăng ký) … 10 (đã trả kết quả), regulation-facts §2.
StatusCode = Annotated[int, Field(ge=1, le=10)]


class Answer(BaseModel):
    error_code: ErrorCode = ErrorCode.OK
    message: str = "Thành công"


class TokenIn(BaseModel):
    username: str = Field(max_length=100)
    password: str = Field(max_length=200)


class TokenOut(Answer):
    access_token: str
    expires_in: int


class DossierIn(BaseModel):
    """``DongBoHoSoMC``: a dossier, whole, each time (an upsert)."""

    # The real body has many more fields; the mock keeps them as given.
    model_config = ConfigDict(extra="allow")

    MaHoSo: str = Field(min_length=1, max_length=40)
    MaTTHC: str = Field(min_length=1, max_length=40)
    TenTTHC: str = Field(min_length=1, max_length=500)
    MaLinhVuc: str = Field(default="", max_length=40)
    ChuHoSo: str = Field(min_length=1, max_length=200)
    LoaiDoiTuong: int = Field(default=1, ge=1, le=2)  # 1 công dân, 2 tổ chức
    NgayNopHoSo: PortalDate | None = None
    NgayTiepNhan: PortalDate | None = None
    NgayHenTra: PortalDate | None = None
    TrangThaiHoSo: StatusCode
    NgayKetThucXuLy: PortalDate | None = None
    NgayTra: PortalDate | None = None
    KenhThucHien: int = Field(ge=1, le=3)  # 1 trực tiếp, 2 trực tuyến, 3 bưu chính
    TaiLieuNop: list[dict[str, Any]] = Field(default_factory=list, max_length=200)
    DanhSachLePhi: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    DanhSachHoSoBoSung: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    # The sender's version of the dossier (its transition sequence): a repeat or an older
    # one changes nothing, so a retried sync is harmless.
    PhienBan: int = Field(ge=1)
    isUpdating: bool = False


class ProgressIn(BaseModel):
    """``CapNhatTienDoHoSoMC``: one step of the dossier's handling."""

    model_config = ConfigDict(extra="forbid")

    MaHoSo: str = Field(min_length=1, max_length=40)
    NguoiXuLy: str = Field(min_length=1, max_length=200)
    ThoiDiemXuLy: PortalDate
    NoiDungXuLy: str = Field(min_length=1, max_length=2000)
    TrangThai: StatusCode
    NgayBatDau: PortalDate | None = None
    NgayKetThucTheoQuyDinh: PortalDate | None = None


class LookupIn(BaseModel):
    MaHoSo: str = Field(min_length=1, max_length=40)


class LookupOut(Answer):
    HoSo: dict[str, Any] | None = None
    TienDo: list[dict[str, Any]] = Field(default_factory=list)


class HeldVersion(BaseModel):
    """What the portal holds of a dossier (the mock's admin listing, for reconciling)."""

    MaHoSo: str
    PhienBan: int
    SoBuocXuLy: int  # progress steps kept


class HeldVersions(Answer):
    items: list[HeldVersion]
    next_after: str | None  # the last MaHoSo of this page, when there may be more
