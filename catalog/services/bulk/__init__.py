"""Bulk writes for imports: thousands of records in a few queries, history included.

Imports write thousands of records at once. These services do it in a few queries per call
(one to read the current records, bulk inserts and updates to write them) while keeping the
rules of the single-record services: each created or changed record gets exactly one history
row carrying actor, reason and ref (simple-history's bulk_create_with_history /
bulk_update_with_history), an unchanged record is not written, and a call either writes
everything or nothing. With ``dry_run=True`` they write nothing and report what they would
do, which is what an import preview shows and what a proposal could be made from.

One module per job: ``mitigations`` (the planner and writer for the big table), ``sources``
and ``nodes`` (small tables, written through the per-record services), ``_outcomes`` (what
each call reports), ``_display`` (a change in words) and ``_inserts`` (inserting with history,
``COPY`` on PostgreSQL). Callers use :mod:`catalog.services`' names.
"""

from ._inserts import BULK_BATCH_SIZE
from ._outcomes import BulkUpsertError, FieldChange, UpsertOutcome
from .mitigations import BulkPlacement, MitigationUpsert, mitigation_bulk_upsert
from .nodes import TaxonomyNodeUpsert, taxonomy_node_bulk_upsert
from .sources import SourceDocumentUpsert, source_document_bulk_upsert

__all__ = [
    "BULK_BATCH_SIZE",
    "BulkPlacement",
    "BulkUpsertError",
    "FieldChange",
    "MitigationUpsert",
    "SourceDocumentUpsert",
    "TaxonomyNodeUpsert",
    "UpsertOutcome",
    "mitigation_bulk_upsert",
    "source_document_bulk_upsert",
    "taxonomy_node_bulk_upsert",
]
