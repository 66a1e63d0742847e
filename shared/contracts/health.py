"""Readiness reports: what a service's ``/readyz`` answers and the gateway aggregates."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

CheckStatus = Literal["ok", "error"]


class ReadinessReport(BaseModel):
    service: str
    status: CheckStatus
    checks: dict[str, str]


class PlatformHealth(BaseModel):
    status: Literal["ok", "degraded"]
    services: dict[str, ReadinessReport]
