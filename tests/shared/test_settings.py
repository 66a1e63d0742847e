"""Settings: per-service prefixes, mode defaults, refusal of insecure production settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from services.documents.config import DocumentsSettings
from services.gateway.config import GatewaySettings
from services.intake.config import IntakeSettings
from shared.settings import Environment, Mode, PlatformSettings

STRONG_SECRET = SecretStr("x" * 48)


class TestProductionRefusal:
    def test_production_with_the_default_secret_refuses_to_start(self) -> None:
        with pytest.raises(ValidationError, match="ONESTOP_JWT_SECRET"):
            PlatformSettings(environment=Environment.PRODUCTION)

    def test_production_with_a_short_secret_refuses_to_start(self) -> None:
        with pytest.raises(ValidationError, match="at least 32"):
            PlatformSettings(environment=Environment.PRODUCTION, jwt_secret=SecretStr("short"))

    def test_production_with_a_real_secret_starts(self) -> None:
        settings = PlatformSettings(environment=Environment.PRODUCTION, jwt_secret=STRONG_SECRET)
        assert settings.is_production

    def test_the_none_algorithm_is_never_allowed(self) -> None:
        with pytest.raises(ValidationError, match="none"):
            PlatformSettings(jwt_algorithms=["HS256", "none"])

    def test_production_s3_with_the_default_key_refuses_to_start(self) -> None:
        platform = PlatformSettings(
            environment=Environment.PRODUCTION, jwt_secret=STRONG_SECRET, mode=Mode.DISTRIBUTED
        )
        with pytest.raises(ValidationError, match="DOCUMENTS_S3_SECRET_KEY"):
            DocumentsSettings(platform=platform, database_url="postgresql+asyncpg://h/d")


class TestModes:
    def test_embedded_mode_defaults_to_a_sqlite_file_per_service(self, tmp_path: Path) -> None:
        settings = IntakeSettings(platform=PlatformSettings(data_dir=tmp_path))
        assert settings.db_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/intake.db"
        assert not settings.uses_redis

    def test_distributed_mode_requires_a_database_url(self) -> None:
        with pytest.raises(ValidationError, match="INTAKE_DATABASE_URL"):
            IntakeSettings(platform=PlatformSettings(mode=Mode.DISTRIBUTED))

    def test_distributed_gateway_requires_every_upstream_url(self) -> None:
        with pytest.raises(ValidationError, match="GATEWAY_TRACKING_URL"):
            GatewaySettings(
                platform=PlatformSettings(mode=Mode.DISTRIBUTED),
                database_url="postgresql+asyncpg://h/g",
                procedures_url="http://procedures:8000",
                intake_url="http://intake:8000",
                documents_url="http://documents:8000",
                national_portal_url="http://portal:8000",
            )

    def test_storage_follows_the_mode(self, tmp_path: Path) -> None:
        embedded = DocumentsSettings(platform=PlatformSettings(data_dir=tmp_path))
        distributed = DocumentsSettings(
            platform=PlatformSettings(mode=Mode.DISTRIBUTED),
            database_url="postgresql+asyncpg://h/d",
        )
        assert (embedded.storage_backend, distributed.storage_backend) == ("local", "s3")


class TestIntakeUpstreams:
    def test_distributed_intake_needs_the_services_it_reads(self) -> None:
        platform = PlatformSettings(mode=Mode.DISTRIBUTED)
        database = "postgresql+asyncpg://db/intake"
        with pytest.raises(ValidationError, match="INTAKE_TRACKING_URL"):
            IntakeSettings(
                platform=platform,
                database_url=database,
                procedures_url="http://p",
                documents_url="http://d",
            )
        with pytest.raises(ValidationError, match="INTAKE_ACCOUNTS_URL"):
            IntakeSettings(
                platform=platform,
                database_url=database,
                procedures_url="http://p",
                documents_url="http://d",
                tracking_url="http://t",
            )
        complete = IntakeSettings(
            platform=platform,
            database_url=database,
            procedures_url="http://p",
            documents_url="http://d",
            tracking_url="http://t",
            accounts_url="http://gateway:8000",
        )
        assert complete.upstream_urls()["tracking"] == "http://t"
        assert complete.upstream_urls()["accounts"] == "http://gateway:8000"

    def test_production_refuses_the_development_payment_secret(self) -> None:
        platform = PlatformSettings(environment=Environment.PRODUCTION, jwt_secret=STRONG_SECRET)
        database = "postgresql+asyncpg://db/intake"
        with pytest.raises(ValidationError, match="INTAKE_PAYMENT_SECRET"):
            IntakeSettings(platform=platform, database_url=database)
        strong = IntakeSettings(
            platform=platform, database_url=database, payment_secret=STRONG_SECRET
        )
        assert strong.payment_secret == STRONG_SECRET


class TestEnvironment:
    def test_each_service_reads_its_own_prefix_and_the_platform_prefix(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ONESTOP_MODE", "distributed")
        monkeypatch.setenv("INTAKE_DATABASE_URL", "postgresql+asyncpg://db/intake")
        monkeypatch.setenv("TRACKING_DATABASE_URL", "postgresql+asyncpg://db/tracking")
        for upstream in ("PROCEDURES", "TRACKING", "DOCUMENTS", "ACCOUNTS"):
            monkeypatch.setenv(f"INTAKE_{upstream}_URL", f"http://{upstream.lower()}:8000")
        settings = IntakeSettings()
        assert settings.platform.mode is Mode.DISTRIBUTED
        assert settings.db_url == "postgresql+asyncpg://db/intake"
        assert settings.uses_redis


class TestDatabasePassword:
    """A database URL without its password, and the password from a secret."""

    def test_the_platform_password_fills_a_url_that_names_none(self) -> None:
        from sqlalchemy.engine import make_url

        from services.procedures.config import ProceduresSettings

        platform = PlatformSettings(
            mode=Mode.DISTRIBUTED, database_password=SecretStr("p@ss/wörd:1")
        )
        settings = ProceduresSettings(
            platform=platform,
            database_url="postgresql+asyncpg://onestop@db:5432/onestop_procedures",
        )
        url = make_url(settings.db_url)
        assert (url.username, url.password, url.host) == ("onestop", "p@ss/wörd:1", "db")
        assert url.database == "onestop_procedures"

    def test_a_service_password_wins_and_a_url_with_one_keeps_it(self) -> None:
        from sqlalchemy.engine import make_url

        from services.procedures.config import ProceduresSettings

        platform = PlatformSettings(mode=Mode.DISTRIBUTED, database_password=SecretStr("shared"))
        own = ProceduresSettings(
            platform=platform,
            database_url="postgresql+asyncpg://procedures@db/onestop_procedures",
            database_password=SecretStr("its-own"),
        )
        assert make_url(own.db_url).password == "its-own"
        given = ProceduresSettings(
            platform=platform, database_url="postgresql+asyncpg://u:in-url@db/onestop_procedures"
        )
        assert make_url(given.db_url).password == "in-url"
