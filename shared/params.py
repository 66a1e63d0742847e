"""Query-parameter types parsed no more loosely than the OpenAPI document says.

pydantic reads a date or a date-time from a number too (``?to=0`` is 1970-01-01, as a
Unix time), which the document's ``format: date`` does not allow: a client would be
answered for a day it never asked about. These accept the ISO 8601 text only.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# RFC 3339 (what ``format: date-time`` means): a date, "T", a time, an offset.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _text_of(pattern: re.Pattern[str], shape: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, str) and pattern.fullmatch(value) is None:
            raise ValueError(f"expected {shape}")
        return value

    return check


IsoDate = Annotated[date, BeforeValidator(_text_of(_DATE, "a date as YYYY-MM-DD"))]
IsoDateTime = Annotated[
    AwareDatetime,
    BeforeValidator(_text_of(_DATE_TIME, "an RFC 3339 date-time with its UTC offset")),
]
