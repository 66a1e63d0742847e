"""The sync to the national portal (DESIGN §8): every dossier reaches the portal with
its newest state and every step of its handling, once, whatever fails on the way.

- Intake's events about a dossier mark it owed (``note_change``, a consumer), in the
  consumer's transaction with its inbox row: a redelivered event changes nothing more.
- The worker claims owed dossiers, reads each one whole from intake
  (``/api/v1/national/dossiers/{code}``), sends ``DongBoHoSoMC`` when the portal has an
  older version, then each progress step the portal has not acknowledged, in order.
  The portal keeps a version or a step once (``PhienBan``; a step's time, status and
  text), so a call repeated after a lost answer is harmless: at-least-once sending
  gives exactly-once holdings.
- A failed attempt keeps what was acknowledged and tries again later, after an
  exponential wait with jitter, capped. Attempts that move nothing forward count
  against a budget; when it is spent, or when the portal refuses the dossier for a
  reason a retry will not change, it is dead-lettered with that reason for an admin.
- ``reconcile`` compares intake's versions with the portal's and marks what is missing
  or stale as owed again, so a portal that lost records is repaired.
"""

from services.gateway.sync.changes import CHANGES, SYNCED_EVENTS, mark_owed, note_change
from services.gateway.sync.reconcile import Reconciled, reconcile
from services.gateway.sync.status import dead_letters, lag_figures, retry, status
from services.gateway.sync.worker import (
    SYNC_JOB,
    SYNC_PRINCIPAL,
    Attempt,
    Claim,
    SyncWorker,
    run_sync,
    worker_for,
)

__all__ = [
    "CHANGES",
    "SYNCED_EVENTS",
    "SYNC_JOB",
    "SYNC_PRINCIPAL",
    "Attempt",
    "Claim",
    "Reconciled",
    "SyncWorker",
    "dead_letters",
    "lag_figures",
    "mark_owed",
    "note_change",
    "reconcile",
    "retry",
    "run_sync",
    "status",
    "worker_for",
]
