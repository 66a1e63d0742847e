"""Demo data: loaded once, consistent across services, never in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from services import bootstrap, composition
from services.gateway.seed import load_accounts
from services.procedures.seed import load_agencies
from shared.settings import Environment, PlatformSettings
from tests.conftest import embedded_platform


def test_every_officer_belongs_to_an_agency_the_catalogue_knows() -> None:
    agencies = {agency.code for agency in load_agencies()}
    memberships = {m.agency_code for a in load_accounts() for m in a.memberships}
    assert memberships
    assert memberships <= agencies


def test_the_demo_logins_of_the_design_are_all_there() -> None:
    accounts = {(a.username, a.password, a.role.value) for a in load_accounts()}
    assert accounts == {
        ("admin", "admin-demo", "admin"),
        ("canbo1", "canbo-demo", "officer"),
        # Beyond DESIGN §10: the demo takes a dossier to "returned" with these two.
        ("chuyenvien1", "canbo-demo", "officer"),
        ("lanhdao1", "canbo-demo", "officer"),
        # And another agency's specialist, who answers the steps forwarded to it.
        ("tuphap1", "canbo-demo", "officer"),
        ("001099000001", "congdan-demo", "citizen"),
        ("001099000002", "congdan-demo", "citizen"),
    }


def test_every_parent_agency_comes_before_its_children() -> None:
    seen: set[str] = set()
    for agency in load_agencies():
        assert agency.parent_code is None or agency.parent_code in seen
        seen.add(agency.code)


async def test_seeding_twice_adds_nothing_the_second_time(tmp_path: Path) -> None:
    platform = embedded_platform(tmp_path)
    await composition.migrate(bootstrap.SEEDS, platform)
    first = await bootstrap.seed(platform)
    second = await bootstrap.seed(platform)
    assert first == {
        "procedures": {"agencies": 11, "procedures": 33, "offers": 14 + 5 * 19},
        "gateway": {"accounts": 7},
        "tracking": {"calendars": 1, "days": 130},
        "national_portal": {"procedures": 33},
    }
    assert second == {
        "procedures": {"agencies": 0, "procedures": 0, "offers": 0},
        "gateway": {"accounts": 0},
        "tracking": {"calendars": 0, "days": 0},
        "national_portal": {"procedures": 0},
    }


async def test_seeding_is_refused_in_production(tmp_path: Path) -> None:
    platform = PlatformSettings(
        environment=Environment.PRODUCTION, jwt_secret=SecretStr("p" * 40), data_dir=tmp_path
    )
    with pytest.raises(bootstrap.SeedRefused):
        await bootstrap.seed(platform)
