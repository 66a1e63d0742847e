"""The events documents applies: which dossiers use which documents (from intake)."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.documents import service as document_service
from services.documents.models import ProcessedEvent
from shared.contracts.dossiers import DOSSIER_TOPIC, DossierDocuments, DossierEvent
from shared.contracts.events import EventEnvelope
from shared.runtime import ConsumerSpec, Runtime

# A dossier's documents: those it was filed with, those a supplement added, and the
# results its resolution gave the applicant.
DOCUMENT_EVENTS = {
    DossierEvent.SUBMITTED,
    DossierEvent.DOCUMENTS_ADDED,
    DossierEvent.RESULTS_ISSUED,
}


async def apply_submission(
    runtime: Runtime, session: AsyncSession, envelope: EventEnvelope
) -> None:
    if envelope.type not in DOCUMENT_EVENTS or envelope.subject is None:
        return
    submitted = DossierDocuments.model_validate(envelope.payload)
    if envelope.type == DossierEvent.RESULTS_ISSUED:
        await document_service.issue_to_wallet(
            session,
            dossier_code=envelope.subject,
            owner=submitted.owner,
            document_ids=submitted.documents,
            at=submitted.at,
        )
        return
    await document_service.record_uses(
        session,
        dossier_code=envelope.subject,
        owner=submitted.owner,
        document_ids=submitted.documents,
        agency_codes=submitted.agency_codes,
        at=submitted.at,
    )


SUBMISSIONS = ConsumerSpec(
    group="documents.dossiers",
    topics=(DOSSIER_TOPIC,),
    handler=apply_submission,
    inbox_model=ProcessedEvent,
    types=frozenset(DOCUMENT_EVENTS),
)
