"""Reading the live catalog as a release stores it (see :mod:`catalog.releases.models`).

:func:`records` reads every mitigation chunk by chunk (one cursor, one query per chunk for its
classifications), as plain values, never model instances, so memory stays flat however large
the catalog is. :func:`taxonomies` and :func:`documents` read the small tables whole.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import batched

from catalog.exports import RECORD_FIELDS
from catalog.models import (
    Classification,
    Mitigation,
    SourceDocument,
    Taxonomy,
    TaxonomyNode,
    format_public_id,
)

CHUNK_SIZE = 2000

# What a record's snapshot holds besides its classifications, in the order of the CSV.
RECORD_KEYS = (
    "name",
    "definition",
    "source",
    "section",
    "status",
    "merged_into",
    "status_note",
    "updated_at",
)

# The columns read for each record: those of the catalog's own CSV export.
_FIELDS = RECORD_FIELDS


def timestamp(moment: datetime) -> str:
    """A moment as the package writes it: UTC, to the second, ``2026-12-02T11:30:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def records(progress=None) -> Iterator[list[tuple[int, dict]]]:
    """Every mitigation (any status) by number, as chunks of ``(number, data)``."""
    nodes = {
        pk: (slug, code, order, path)
        for pk, slug, code, order, path in TaxonomyNode.objects.values_list(
            "pk", "taxonomy__slug", "code", "taxonomy__order", "path"
        )
    }
    total = Mitigation.objects.count()
    done = 0
    rows = Mitigation.objects.order_by("number").values_list(*_FIELDS)
    for chunk in batched(rows.iterator(chunk_size=CHUNK_SIZE), CHUNK_SIZE):
        placed: dict[int, list[tuple]] = defaultdict(list)
        for mitigation_id, node_id, reasoning in (
            Classification.objects.filter(mitigation_id__in=[row[0] for row in chunk])
            .order_by()
            .values_list("mitigation_id", "node_id", "reasoning")
        ):
            slug, code, order, path = nodes[node_id]
            placed[mitigation_id].append((order, slug, path, code, reasoning))
        out = []
        for pk, number, name, definition, source, section, status, merged, note, updated in chunk:
            out.append(
                (
                    number,
                    {
                        "name": name,
                        "definition": definition,
                        "source": source,
                        "section": section,
                        "status": status,
                        "merged_into": format_public_id(merged) if merged else None,
                        "status_note": note,
                        "updated_at": timestamp(updated),
                        "classifications": [
                            [slug, code, reasoning]
                            for _, slug, _, code, reasoning in sorted(placed[pk])
                        ],
                    },
                )
            )
        done += len(out)
        if progress is not None:
            progress(done, total)
        yield out


def taxonomies() -> list[dict]:
    """Every taxonomy and vocabulary (retired ones too), each with its nodes by path."""
    by_taxonomy: dict[int, list[dict]] = defaultdict(list)
    for node in TaxonomyNode.objects.select_related("parent").order_by("taxonomy_id", "path"):
        by_taxonomy[node.taxonomy_id].append(
            {
                "code": node.code,
                "name": node.name,
                "parent": node.parent.code if node.parent_id else None,
                "definition": node.definition,
                "order": node.order,
                "catch_all": node.is_catch_all,
                "path": node.path,
            }
        )
    return [
        {
            "slug": taxonomy.slug,
            "name": taxonomy.name,
            "version": taxonomy.version,
            "kind": taxonomy.kind,
            "status": taxonomy.status,
            "multi_valued": taxonomy.multi_valued,
            "description": taxonomy.description,
            "order": taxonomy.order,
            "nodes": by_taxonomy[taxonomy.pk],
        }
        for taxonomy in Taxonomy.objects.order_by("order", "name")
    ]


def documents() -> list[dict]:
    return [
        {
            "short_ref": document.short_ref,
            "document_id": document.document_id,
            "title": document.title,
            "first_author": document.first_author,
            "authors": document.authors,
            "year": document.year,
            "abstract": document.abstract,
            "description": document.description,
            "url": document.url,
            "doi": document.doi,
            "type": document.get_doc_type_display(),
        }
        for document in SourceDocument.objects.order_by("short_ref")
    ]
