"""Every write to the catalog, and nothing else.

Each service runs in one transaction and one :func:`~catalog.history.change_context`, so the
history rows it writes carry the actor, the reason and an optional reference (``ref``) to what
caused the change (a proposal, an import batch). Each validates with ``full_clean()`` before it
saves and raises :class:`~django.core.exceptions.ValidationError` naming the field at fault.

A write that would change nothing saves nothing, so it leaves no history row: update services
return the list of fields they changed (empty when there was nothing to do).

The services are grouped by what they write (a package since the module grew past a thousand
lines): ``taxonomies``, ``sources``, ``mitigations``, ``bulk`` (imports: thousands of records in
a few queries) and ``revert`` (undoing a change set). Callers use this package's names only:
``from catalog import services; services.mitigation_update(...)``.
"""

from ._base import (
    MITIGATION_FIELDS,
    NODE_FIELDS,
    SOURCE_FIELDS,
    TAXONOMY_FIELDS,
    Placement,
)
from .bulk import (
    BULK_BATCH_SIZE,
    BulkPlacement,
    BulkUpsertError,
    FieldChange,
    MitigationUpsert,
    SourceDocumentUpsert,
    TaxonomyNodeUpsert,
    UpsertOutcome,
    mitigation_bulk_upsert,
    source_document_bulk_upsert,
    taxonomy_node_bulk_upsert,
)
from .mitigations import (
    mitigation_create,
    mitigation_merge,
    mitigation_next_number,
    mitigation_reclassify,
    mitigation_restore,
    mitigation_retire,
    mitigation_update,
)
from .revert import (
    change_set_revert,
)
from .sources import (
    source_document_create,
    source_document_update,
)
from .taxonomies import (
    taxonomy_create,
    taxonomy_node_create,
    taxonomy_node_update,
    taxonomy_update,
)

__all__ = [
    "BULK_BATCH_SIZE",
    "MITIGATION_FIELDS",
    "NODE_FIELDS",
    "SOURCE_FIELDS",
    "TAXONOMY_FIELDS",
    "BulkPlacement",
    "BulkUpsertError",
    "FieldChange",
    "MitigationUpsert",
    "Placement",
    "SourceDocumentUpsert",
    "TaxonomyNodeUpsert",
    "UpsertOutcome",
    "change_set_revert",
    "mitigation_bulk_upsert",
    "mitigation_create",
    "mitigation_merge",
    "mitigation_next_number",
    "mitigation_reclassify",
    "mitigation_restore",
    "mitigation_retire",
    "mitigation_update",
    "source_document_bulk_upsert",
    "source_document_create",
    "source_document_update",
    "taxonomy_create",
    "taxonomy_node_bulk_upsert",
    "taxonomy_node_create",
    "taxonomy_node_update",
    "taxonomy_update",
]
