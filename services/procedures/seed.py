"""Demo data of the procedures service: one real province and its agencies."""

from pathlib import Path

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from services.procedures import service as procedure_service
from services.procedures.schemas import AgencySeed

SEED_FILE = Path(__file__).parent / "seed_data" / "agencies.yaml"


def load_agencies(path: Path = SEED_FILE) -> list[AgencySeed]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [AgencySeed.model_validate(item) for item in document["agencies"]]


async def seed(session: AsyncSession) -> dict[str, int]:
    added = await procedure_service.seed_agencies(session, agencies=load_agencies())
    return {"agencies": added}
