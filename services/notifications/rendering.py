"""The messages' texts: one Jinja2 template per kind (``templates/v<N>/<kind>.j2``)
with a block per channel: ``title`` (the e-mail's subject, the inbox's heading),
``email``, ``inbox``, ``sms`` and ``zalo``. A change of wording is a new version
directory; each message records the version it was written with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from services.notifications.kinds import Kind
from services.notifications.models import Channel
from services.notifications.texts import nfc

VERSION = "1"
TEMPLATES = Path(__file__).parent / "templates"
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def local_date(value: datetime | None) -> str:
    return value.astimezone(LOCAL).strftime("%d/%m/%Y") if value else ""


def local_datetime(value: datetime | None) -> str:
    return value.astimezone(LOCAL).strftime("%H:%M ngày %d/%m/%Y") if value else ""


def vnd(amount: int | None) -> str:
    """1500000 -> 1.500.000 (the Vietnamese grouping)."""
    return f"{amount:,}".replace(",", ".") if amount is not None else ""


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,  # plain text (e-mail text/plain, SMS): nothing is HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # the templates ship with the code: no file check per message
    )
    env.filters.update(date=local_date, datetime=local_datetime, vnd=vnd)
    return env


ENVIRONMENT = _environment()


@dataclass(frozen=True)
class Rendered:
    template: str  # kind@version
    title: str
    body: str


def render(kind: Kind, channel: Channel, context: dict[str, Any]) -> Rendered:
    template = ENVIRONMENT.get_template(f"v{VERSION}/{kind.value}.j2")
    title = template.render(context, part="title", channel=channel.value).strip()
    body = template.render(context, part="body", channel=channel.value).strip()
    return Rendered(template=f"{kind.value}@{VERSION}", title=nfc(title), body=nfc(body))
