"""Business rules of the documents service: store, list, authorise, download, reuse.

Who may read a document: its owner (the citizen it belongs to), or an officer of an
agency handling a dossier that uses it. Everyone else is told it does not exist (404),
so ids cannot be probed. Every link handed out is audited.

- ``storing``: what every stored file goes through (checks, scan, store, record, announce);
- ``uploads``: a citizen's upload, an officer's result and a desk's scan, through the
  service;
- ``direct``: large files sent straight to the object store, then confirmed;
- ``reading``: who may read, the wallet, download links;
- ``dossiers``: what intake's dossier events do to documents.
"""

from services.documents.service.direct import confirm, start_direct_upload
from services.documents.service.dossiers import issue_to_wallet, record_uses
from services.documents.service.reading import accesses, detail, download, readable, wallet
from services.documents.service.storing import Store, form_fields
from services.documents.service.uploads import issue_result, scan, upload

__all__ = [
    "Store",
    "accesses",
    "confirm",
    "detail",
    "download",
    "form_fields",
    "issue_result",
    "issue_to_wallet",
    "readable",
    "record_uses",
    "scan",
    "start_direct_upload",
    "upload",
    "wallet",
]
