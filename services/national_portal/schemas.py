"""The mock's own models beside the DVCQG API (``shared.contracts.dvcqg``): its
national procedure database and its report (its faults: ``shared.faults``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ProcedureIn(BaseModel):
    MaTTHC: str = Field(min_length=1, max_length=40)
    TenTTHC: str = Field(min_length=1, max_length=500)


class Report(BaseModel):
    """What the portal holds, for a test or an admin to check a sync against."""

    dossiers: int
    by_status: dict[str, int]
    progress_steps: int
    upserts_received: int
    finished: int
    finished_on_time: int
    on_time_share: float | None  # the 766 index's part: finished by the promised date
