"""A dossier as the national portal wants it: intake's ``NationalRecord`` turned into
``DongBoHoSoMC`` and ``CapNhatTienDoHoSoMC`` bodies, with the mapping tables. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.contracts.actions import progress_text
from shared.contracts.dvcqg import DossierIn, ProgressIn, format_date
from shared.contracts.national import (
    NATIONAL_CHANNEL,
    NATIONAL_STATUS,
    NationalRecord,
    NationalStep,
)

# NoiDungXuLy of each step, by intake's action.
# A step's progress text for the portal: its declaration's.
step_text = progress_text
ROLE_TEXT = {"citizen": "Công dân", "system": "Hệ thống"}
CITIZEN = 1  # LoaiDoiTuong: 1 công dân, 2 tổ chức (a citizen files, for a firm too)


def dossier_body(record: NationalRecord, *, updating: bool) -> dict[str, Any]:
    """``DongBoHoSoMC``: the whole dossier at its version."""
    returned = _last_at(record.steps, "return")
    body = DossierIn(
        MaHoSo=record.code,
        MaTTHC=record.procedure_code,
        TenTTHC=record.procedure_name,
        MaLinhVuc=record.field_code,
        ChuHoSo=record.applicant_name,
        LoaiDoiTuong=CITIZEN,
        NgayNopHoSo=record.submitted_at,
        NgayTiepNhan=record.received_at,
        NgayHenTra=record.due_at,
        TrangThaiHoSo=NATIONAL_STATUS[record.status],
        NgayKetThucXuLy=record.finished_at,
        NgayTra=returned,
        KenhThucHien=NATIONAL_CHANNEL[record.channel],
        TaiLieuNop=[_document(d) for d in record.documents],
        DanhSachLePhi=[_fee(f) for f in record.fees],
        DanhSachHoSoBoSung=_supplements(record.steps),
        PhienBan=record.version,
        isUpdating=updating,
    )
    return body.model_dump(mode="json", exclude_none=True)


def progress_body(
    record: NationalRecord, step: NationalStep, names: Mapping[str, str]
) -> dict[str, Any]:
    """``CapNhatTienDoHoSoMC`` for one step. The step's number leads its text, so two
    steps of one second and one status stay two steps at the portal."""
    text = step_text(step.action)
    note = step.details.get("reason") or step.details.get("note")
    if step.action == "request-supplement":
        note = "; ".join(str(item) for item in step.details.get("missing", [])) or note
    content = f"[{step.sequence}] {text}" + (f": {note}" if note else "")
    body = ProgressIn(
        MaHoSo=record.code,
        NguoiXuLy=handler_name(step, names),
        ThoiDiemXuLy=step.at,
        NoiDungXuLy=content[:2000],
        TrangThai=NATIONAL_STATUS[step.status],
        NgayBatDau=step.at,
        NgayKetThucTheoQuyDinh=_due_after(step) or record.due_at,
    )
    return body.model_dump(mode="json", exclude_none=True)


def handler_name(step: NationalStep, names: Mapping[str, str]) -> str:
    """Who handled the step: an officer by name; a citizen or the system by their role
    (a citizen's account name is their ID number, which the progress does not need)."""
    if step.actor_role in ROLE_TEXT:
        return ROLE_TEXT[step.actor_role]
    return names.get(step.actor, "Cán bộ")


def officer_subjects(record: NationalRecord) -> set[str]:
    return {step.actor for step in record.steps if step.actor_role not in ROLE_TEXT}


def _last_at(steps: list[NationalStep], action: str) -> datetime | None:
    found = [step.at for step in steps if step.action == action]
    return found[-1] if found else None


def _due_after(step: NationalStep) -> datetime | None:
    value = step.details.get("due_at") or step.details.get("new_due_at")
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _document(document: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "MaThanhPhanHoSo": document.get("requirement"),
        "TepDinhKemId": document.get("id"),
        "DuocTaiSuDung": bool(document.get("reused")),
        "NopBanGiay": document.get("id") is None,
    }


def _fee(fee: Mapping[str, Any]) -> dict[str, Any]:
    return {"TenPhiLePhi": fee.get("name"), "MucPhi": fee.get("amount_vnd")}


def _supplements(steps: list[NationalStep]) -> list[dict[str, Any]]:
    """Each supplement request, with the date the citizen answered it if they have."""
    requests: list[dict[str, Any]] = []
    for step in steps:
        if step.action == "request-supplement":
            missing = step.details.get("missing", [])
            requests.append(
                {"NgayYeuCau": format_date(step.at),
                 "NoiDungYeuCau": "; ".join(str(item) for item in missing)}
            )  # fmt: skip
        elif step.action == "supplement" and requests and "NgayBoSung" not in requests[-1]:
            requests[-1]["NgayBoSung"] = format_date(step.at)
    return requests
