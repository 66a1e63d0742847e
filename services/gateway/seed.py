"""Demo accounts of the gateway (DESIGN §10)."""

from pathlib import Path

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import service as account_service
from services.gateway.schemas import AccountSeed
from shared.auth import PasswordHasher

SEED_FILE = Path(__file__).parent / "seed_data" / "accounts.yaml"


def load_accounts(path: Path = SEED_FILE) -> list[AccountSeed]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [AccountSeed.model_validate(item) for item in document["accounts"]]


async def seed(session: AsyncSession) -> dict[str, int]:
    created = await account_service.create_accounts(
        session, accounts=load_accounts(), hasher=PasswordHasher()
    )
    return {"accounts": created}
