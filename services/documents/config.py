from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import Mode, ServiceSettings

DEV_S3_KEY = "onestop-dev"
DEV_S3_SECRET = "onestop-dev-secret"


class DocumentsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DOCUMENTS_", extra="ignore")
    service_name: ClassVar[str] = "documents"

    # Defaults by mode: a local folder when embedded, S3 when distributed.
    storage_backend: Literal["local", "s3"] | None = None
    local_storage_dir: Path | None = None
    # Where browsers reach the gateway; local signed download URLs are built on it.
    public_url: str = "http://127.0.0.1:8000"
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: SecretStr = SecretStr(DEV_S3_KEY)
    s3_secret_key: SecretStr = SecretStr(DEV_S3_SECRET)
    s3_bucket: str = "onestop-documents"
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    # Uploads: the cap per file (a procedure's document may set a lower one) and how long
    # a download link or a presigned upload stays valid.
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=2 * 1024**3)
    download_ttl_seconds: int = Field(default=300, ge=10, le=3600)
    upload_ttl_seconds: int = Field(default=900, ge=60, le=3600)
    # A ClamAV daemon (host:port) scanning every file before it becomes usable; None: off.
    clamav_address: str | None = None

    @model_validator(mode="after")
    def _resolve_storage(self) -> "DocumentsSettings":
        if self.storage_backend is None:
            embedded = self.platform.mode is Mode.EMBEDDED
            self.storage_backend = "local" if embedded else "s3"
        if self.local_storage_dir is None:
            self.local_storage_dir = self.platform.data_dir / "objects"
        if (
            self.platform.is_production
            and self.storage_backend == "s3"
            and self.s3_secret_key.get_secret_value() == DEV_S3_SECRET
        ):
            raise ValueError("DOCUMENTS_S3_SECRET_KEY must be set in production")
        return self
