from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ProceduresSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROCEDURES_", extra="ignore")
    service_name: ClassVar[str] = "procedures"
