"""Templates and the way pages write dates, amounts and the API's codes for people:
dates as dd/mm/yyyy HH:mm in +07:00, amounts as ``135.000 đ``, every code by its
Vietnamese label."""

from __future__ import annotations

import functools
import hashlib
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from shared.auth import POSITION_LABELS as POSITIONS
from shared.contracts.actions import STATUS_LABELS, Status
from shared.contracts.dossiers import TIMELINESS_LABELS, Timeliness
from shared.worktime import VIETNAM

ZONE = ZoneInfo(VIETNAM)

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

LEVELS = {
    "commune": "Cấp xã",
    "province": "Cấp tỉnh",
    "ministry": "Cấp bộ, ngành",
    "district_legacy": "Cấp huyện (trước 01/07/2025)",
}
ONLINE_LEVELS = {
    "full": "Trực tuyến toàn trình",
    "partial": "Trực tuyến một phần",
    "none": "Không trực tuyến",
}
TIME_UNITS = {
    "working_days": "ngày làm việc",
    "working_hours": "giờ làm việc",
    "calendar_days": "ngày",
}
DOCUMENT_KINDS = {
    "original": "Bản chính",
    "copy": "Bản sao",
    "certified_copy": "Bản sao có chứng thực",
    "electronic": "Bản điện tử",
    "presented": "Xuất trình bản chính",
    "unspecified": "",
}
FEE_CHANNELS = {"online": "Khi nộp trực tuyến", "counter": "Khi nộp tại quầy", "any": ""}
FEE_COLLECTED = {"on_submission": "khi nộp hồ sơ", "on_result": "khi nhận kết quả"}
POSITION_LABELS = {position.value: text for position, text in POSITIONS.items()}
# The timeliness a page draws as a colour, always beside its word.
TIMELINESS_TONES = {
    "early": "good",
    "on_time": "good",
    "on_track": "good",
    "late": "bad",
    "overdue": "bad",
    "due_soon": "warn",
    "paused": "neutral",
}


def as_datetime(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.astimezone(ZONE)


def datetime_vn(value: str | datetime | None) -> str:
    """``05/12/2026 09:30``, in Vietnam's time (+07:00), whatever offset it came with."""
    moment = as_datetime(value)
    return moment.strftime("%d/%m/%Y %H:%M") if moment is not None else ""


def date_vn(value: str | date | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(ZONE)
    elif isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def money(amount: int | float | None) -> str:
    """``135.000 đ``: a dot between thousands, as Vietnamese writes amounts."""
    if amount is None:
        return ""
    return f"{round(amount):,} đ".replace(",", ".")


def processing_time(value: dict[str, Any] | None, text: str | None = None) -> str:
    """The legal time in plain words: the catalogue's own text when it has one."""
    if text:
        return text
    if not value:
        return "Theo quy định của pháp luật chuyên ngành"
    unit = value.get("unit")
    if unit == "same_day":
        cutoff = value.get("cutoff_hour")
        suffix = f" (nhận sau {cutoff} giờ: ngày làm việc tiếp theo)" if cutoff else ""
        return "Trong ngày" + suffix
    return f"{value.get('value')} {TIME_UNITS.get(str(unit), '')}".strip()


def status_label(code: str | None) -> str:
    return STATUS_LABELS[Status(code)] if code else ""


def timeliness_label(code: str | None) -> str:
    return TIMELINESS_LABELS[Timeliness(code)] if code else ""


def options(choices: dict[str, str], chosen: str) -> Markup:
    """A select's options, the chosen one selected: the same few lists on every page, so
    escaped once and kept (each escape is an object; a page had over a hundred)."""
    return _options(tuple(choices.items()), chosen)


@functools.lru_cache(maxsize=512)
def _options(choices: tuple[tuple[str, str], ...], chosen: str) -> Markup:
    return Markup("").join(
        Markup('<option value="{}"{}>{}</option>').format(
            code, Markup(" selected") if code == chosen else "", text
        )
        for code, text in choices
    )


def asset_versions() -> dict[str, str]:
    """A short hash of each static file, put in its address so a browser may keep it
    for a year and still fetch the new one the day it changes."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in STATIC.iterdir()
        if path.is_file()
    }


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
        # Templates ship with the code: no need to look at each file's time per page.
        auto_reload=False,
    )
    versions = asset_versions()
    env.globals["asset"] = lambda name: f"/static/{name}?v={versions.get(name, '0')}"
    env.globals.update(
        options=options,
        LEVELS=LEVELS,
        ONLINE_LEVELS=ONLINE_LEVELS,
        DOCUMENT_KINDS=DOCUMENT_KINDS,
        FEE_CHANNELS=FEE_CHANNELS,
        FEE_COLLECTED=FEE_COLLECTED,
        TIMELINESS_TONES=TIMELINESS_TONES,
    )
    env.filters.update(
        datetime_vn=datetime_vn,
        date_vn=date_vn,
        money=money,
        processing_time=processing_time,
        status_label=status_label,
        timeliness_label=timeliness_label,
    )
    return env
