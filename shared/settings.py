"""Settings, read once from the environment and injected.

Platform-wide values use the ``ONESTOP_`` prefix; each service adds its own prefix
(``INTAKE_``, ``GATEWAY_`` ...) for what only it needs, such as its database URL.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import make_url

# Only for development and tests; production refuses to start with it.
DEV_JWT_SECRET = "onestop-dev-secret-not-for-production-use"


class Mode(StrEnum):
    EMBEDDED = "embedded"  # one process: SQLite, in-process bus, local files
    DISTRIBUTED = "distributed"  # one process per service: PostgreSQL, Redis, S3


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class InsecureSettingsError(ValueError):
    """A production deployment was configured with a development default."""


# A folder of files, one per secret, named as its variable (``onestop_jwt_secret``, in any
# case): how Docker and Kubernetes hand secrets to a container without the environment.
SECRETS_DIR_VARIABLE = "ONESTOP_SECRETS_DIR"


class SettingsFolderError(ValueError):
    """The secrets folder named is not there (a typo would silently leave defaults)."""


class Settings(BaseSettings):
    """Settings read from the environment, then from the secrets folder if one is named.

    A variable set in the environment wins over a file of the same name.
    """

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        folder = os.environ.get(SECRETS_DIR_VARIABLE)
        if not folder:
            return init_settings, env_settings
        if not Path(folder).is_dir():
            raise SettingsFolderError(f"{SECRETS_DIR_VARIABLE}={folder} is not a folder")
        return init_settings, env_settings, SecretsSettingsSource(settings_cls, secrets_dir=folder)


class PlatformSettings(Settings):
    """Values every service shares (``ONESTOP_*``)."""

    model_config = SettingsConfigDict(env_prefix="ONESTOP_", extra="ignore")

    mode: Mode = Mode.EMBEDDED
    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("data")
    redis_url: str = "redis://127.0.0.1:6379/0"
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_issuer: str = "onestop"
    jwt_audience: str = "onestop-api"
    # An allow-list: a token signed with anything else (including "none") is refused.
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["HS256"])
    access_token_ttl_seconds: int = Field(default=900, gt=0, le=86_400)
    log_level: str = "INFO"
    # "json": one JSON object per line; "console": readable lines; "auto": readable on a
    # terminal, JSON elsewhere (a container, a file, a log collector).
    log_format: Literal["auto", "json", "console"] = "auto"
    # The password of every service's database URL that names none (a secret file
    # beside the URLs, which then hold no secret); a service's own overrides it.
    database_password: SecretStr | None = None
    # Published outbox rows and records of applied events are deleted after this long
    # (shared/events/retention.py); the audit trail is kept forever.
    event_retention_days: float = Field(default=7.0, gt=0, le=3650)

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> PlatformSettings:
        if self.environment is Environment.PRODUCTION:
            secret = self.jwt_secret.get_secret_value()
            if secret == DEV_JWT_SECRET or len(secret) < 32:
                raise InsecureSettingsError(
                    "ONESTOP_JWT_SECRET must be set to a random value of at least 32 characters "
                    "in production"
                )
        if "none" in (alg.lower() for alg in self.jwt_algorithms):
            raise InsecureSettingsError("the 'none' JWT algorithm is never allowed")
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION


class ServiceSettings(Settings):
    """Base of each service's settings; subclasses set ``service_name`` and their prefix."""

    model_config = SettingsConfigDict(extra="ignore")
    service_name: ClassVar[str]
    # Services outside the platform's event flow (the national portal mock) set False.
    uses_events: ClassVar[bool] = True

    platform: PlatformSettings = Field(default_factory=PlatformSettings)
    # Embedded mode defaults to a SQLite file per service; distributed mode requires a URL.
    database_url: str | None = None
    # The URL's password, if it names none (else ONESTOP_DATABASE_PASSWORD's).
    database_password: SecretStr | None = None
    # Connections a process keeps at most (one each for as many requests at once).
    db_pool_size: int = Field(default=20, ge=1, le=200)

    @model_validator(mode="after")
    def _resolve_database_url(self) -> ServiceSettings:
        if self.database_url is None:
            if self.platform.mode is Mode.DISTRIBUTED:
                prefix = self.model_config.get("env_prefix", "")
                raise ValueError(f"{prefix}DATABASE_URL is required in distributed mode")
            path = (self.platform.data_dir / f"{self.service_name}.db").resolve()
            self.database_url = f"sqlite+aiosqlite:///{path}"
        password = self.database_password or self.platform.database_password
        url = make_url(self.database_url)
        if password is not None and url.password is None and url.drivername != "sqlite":
            given = url.set(password=password.get_secret_value())
            self.database_url = given.render_as_string(hide_password=False)
        return self

    @property
    def db_url(self) -> str:
        assert self.database_url is not None  # resolved by the validator
        return self.database_url

    def require_urls_when_distributed(self, names: Sequence[str]) -> None:
        """Distributed, each ``<name>_url`` (another service's address) must be set."""
        if self.platform.mode is not Mode.DISTRIBUTED:
            return
        missing = [name for name in names if getattr(self, f"{name}_url") is None]
        if missing:
            prefix = self.model_config.get("env_prefix", "")
            variables = ", ".join(f"{prefix}{name.upper()}_URL" for name in missing)
            raise ValueError(f"{variables} required in distributed mode")

    @property
    def uses_redis(self) -> bool:
        return self.uses_events and self.platform.mode is Mode.DISTRIBUTED
