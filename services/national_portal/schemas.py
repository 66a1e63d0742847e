"""The mock's own models beside the DVCQG API (``shared.contracts.dvcqg``): its
national procedure database, its faults, and its report."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ProcedureIn(BaseModel):
    MaTTHC: str = Field(min_length=1, max_length=40)
    TenTTHC: str = Field(min_length=1, max_length=500)


class Faults(BaseModel):
    """What the mock does wrong, on purpose (each a share of the calls)."""

    fail_share: float = Field(default=0.0, ge=0.0, le=1.0)  # 500 before doing anything
    timeout_share: float = Field(default=0.0, ge=0.0, le=1.0)  # holds the call, then 504
    drop_share: float = Field(default=0.0, ge=0.0, le=1.0)  # stores, then loses the answer
    delay_ms: int = Field(default=0, ge=0, le=60_000)  # every call answers this much later


class Report(BaseModel):
    """What the portal holds, for a test or an admin to check a sync against."""

    dossiers: int
    by_status: dict[str, int]
    progress_steps: int
    upserts_received: int
    finished: int
    finished_on_time: int
    on_time_share: float | None  # the 766 index's part: finished by the promised date
