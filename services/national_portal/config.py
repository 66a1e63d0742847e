from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NationalPortalSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_", extra="ignore")
    service_name: ClassVar[str] = "national_portal"
    uses_events: ClassVar[bool] = False
