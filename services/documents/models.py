import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Enum,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    or_,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.events import InboxMixin, OutboxMixin


class Base(DeclarativeBase):
    pass


def _enum(kind: type[StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class DocumentKind(StrEnum):
    UPLOAD = "upload"  # given by the citizen
    RESULT = "result"  # issued by an officer (an e-certificate)
    # A paper document a desk officer digitised at the counter (held by that officer
    # until a dossier uses it; its agencies then read it).
    SCAN = "scan"


class DocumentStatus(StrEnum):
    READY = "ready"
    AWAITING_UPLOAD = "awaiting_upload"  # a presigned upload not yet confirmed
    REJECTED = "rejected"  # failed a check after it was stored (a scan, a confirm)


class Document(Base):
    """A file in object storage. The key is random: it says nothing about the person."""

    __tablename__ = "documents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner: Mapped[str] = mapped_column(String(64), index=True)  # the citizen's subject
    kind: Mapped[DocumentKind] = mapped_column(_enum(DocumentKind))
    label: Mapped[str | None] = mapped_column(String(100))  # e.g. "giay-chung-sinh"
    status: Mapped[DocumentStatus] = mapped_column(_enum(DocumentStatus))
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    original_name: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    issued_by: Mapped[str | None] = mapped_column(String(30))  # agency, for results
    # A result reaches the citizen's wallet when the dossier's resolution names it
    # (intake's dossier.results_issued); until then only the issuing agency sees it, so
    # an officer cannot put a paper in just anyone's wallet.
    issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    @hybrid_property
    def in_wallet(self) -> bool:
        """Its owner's to see: an upload always, a result once its dossier issued it
        (the same rule in Python for one document and in SQL for the wallet's query)."""
        return self.kind is not DocumentKind.RESULT or self.issued_at is not None

    @in_wallet.inplace.expression
    @classmethod
    def _in_wallet_expression(cls) -> ColumnElement[bool]:
        return or_(cls.kind != DocumentKind.RESULT, cls.issued_at.is_not(None))


class DocumentUse(Base):
    """A dossier that uses a document, and the agencies handling it (who may read it)."""

    __tablename__ = "document_uses"
    __table_args__ = (UniqueConstraint("document_id", "dossier_code", "agency_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"), index=True)
    dossier_code: Mapped[str] = mapped_column(String(60))
    agency_code: Mapped[str] = mapped_column(String(30), index=True)
    used_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DownloadAudit(Base):
    """Who was given a link to which document, when. Append-only."""

    __tablename__ = "download_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"), index=True)
    subject: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    agency_code: Mapped[str | None] = mapped_column(String(30))  # the officer's ground
    position: Mapped[str | None] = mapped_column(String(20))  # the officer's, there
    request_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class OutboxRecord(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(InboxMixin, Base):
    __tablename__ = "processed_events"
