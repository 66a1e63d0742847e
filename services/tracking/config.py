from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings
from shared.worktime import MINUTES_PER_WORKING_DAY


class TrackingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRACKING_", extra="ignore")
    service_name: ClassVar[str] = "tracking"

    # A dossier is due soon with at most this much working time left (DESIGN §5).
    due_soon_minutes: int = Field(default=MINUTES_PER_WORKING_DAY, ge=1, le=20 * 480)
