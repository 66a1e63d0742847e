"""The platform behind its gateway, embedded and distributed, for the gateway's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import PgDatabase
from tests.infra import S3Server
from tests.platform import Platform, distributed, embedded


@pytest.fixture(params=["embedded", "distributed"])
async def platform(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database: PgDatabase, s3_server: S3Server
) -> AsyncIterator[Platform]:
    stack = (
        embedded(tmp_path) if request.param == "embedded" else distributed(pg_database, s3_server)
    )
    async with stack as running:
        yield running
