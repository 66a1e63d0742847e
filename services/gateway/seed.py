"""Demo accounts of the gateway (DESIGN §10)."""

from pathlib import Path

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway import repository, staff
from services.gateway import service as account_service
from services.gateway.models import OutboxRecord
from services.gateway.schemas import AccountSeed
from shared.auth import PasswordHasher
from shared.events import Outbox

SEED_FILE = Path(__file__).parent / "seed_data" / "accounts.yaml"


def load_accounts(path: Path = SEED_FILE) -> list[AccountSeed]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [AccountSeed.model_validate(item) for item in document["accounts"]]


async def seed(session: AsyncSession) -> dict[str, int]:
    created = await account_service.create_accounts(
        session, accounts=load_accounts(), hasher=PasswordHasher()
    )
    # The officers' notices (their leaders get digests), relayed once the platform runs.
    outbox = Outbox(OutboxRecord, source="gateway")
    for officer in await repository.officers(session, agency_code=None):
        staff.announce(session, outbox, officer)
    return {"accounts": created}
