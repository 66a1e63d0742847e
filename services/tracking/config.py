from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class TrackingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRACKING_", extra="ignore")
    service_name: ClassVar[str] = "tracking"
