"""Every read the catalog's pages need, as tuned querysets or small plain structures."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q

from .models import Classification, Mitigation, MitigationStatus, Taxonomy, TaxonomyNode


@dataclass
class NodeCount:
    node: TaxonomyNode
    count: int


@dataclass
class TaxonomySummary:
    taxonomy: Taxonomy
    top_level: list[NodeCount]
    classified: int


def taxonomy_list_public():
    """Taxonomies a visitor may browse: all but retired ones, in display order."""
    return Taxonomy.objects.exclude(status=Taxonomy.Status.RETIRED)


def taxonomy_list_top_level_counts() -> list[TaxonomySummary]:
    """Each taxonomy's top-level nodes with the number of active mitigations in their subtree.

    Three queries whatever the size of the catalog: taxonomies, top-level nodes, and one
    aggregate of conditional distinct counts (a mitigation counted once per subtree even
    where a multi-valued taxonomy places it at several nodes of it).
    """
    taxonomies = list(taxonomy_list_public())
    tops = list(
        TaxonomyNode.objects.filter(taxonomy__in=taxonomies, parent__isnull=True).order_by(
            "taxonomy__order", "order", "code"
        )
    )
    active = Classification.objects.filter(mitigation__status=MitigationStatus.ACTIVE)
    aggregates = {
        f"node_{node.pk}": Count(
            "mitigation",
            distinct=True,
            filter=Q(taxonomy_id=node.taxonomy_id, node__path__startswith=node.path),
        )
        for node in tops
    }
    aggregates.update(
        {
            f"taxonomy_{taxonomy.pk}": Count(
                "mitigation", distinct=True, filter=Q(taxonomy_id=taxonomy.pk)
            )
            for taxonomy in taxonomies
        }
    )
    counts = active.aggregate(**aggregates) if aggregates else {}
    return [
        TaxonomySummary(
            taxonomy=taxonomy,
            top_level=[
                NodeCount(node=node, count=counts[f"node_{node.pk}"])
                for node in tops
                if node.taxonomy_id == taxonomy.pk
            ],
            classified=counts[f"taxonomy_{taxonomy.pk}"],
        )
        for taxonomy in taxonomies
    ]


def mitigation_count_active() -> int:
    return Mitigation.objects.active().count()


def mitigation_get_for_page(number: int) -> Mitigation | None:
    """One mitigation (any status) with its source, merge target and classifications."""
    return (
        Mitigation.objects.select_related("source", "merged_into")
        .prefetch_related(
            Prefetch(
                "classifications",
                queryset=Classification.objects.select_related("taxonomy", "node").order_by(
                    "taxonomy__order", "node__path"
                ),
            )
        )
        .filter(number=number)
        .first()
    )


def node_ancestors(nodes: list[TaxonomyNode]) -> dict[tuple[int, str], TaxonomyNode]:
    """The ancestors of ``nodes``, keyed by (taxonomy id, code), in one query."""
    wanted = Q()
    for node in nodes:
        if node.ancestor_codes:
            wanted |= Q(taxonomy_id=node.taxonomy_id, code__in=node.ancestor_codes)
    if not wanted:
        return {}
    return {(n.taxonomy_id, n.code): n for n in TaxonomyNode.objects.filter(wanted)}


def mitigation_list_filtered(
    *,
    node: TaxonomyNode | None = None,
    source=None,
    status: str | None = None,
    search: str = "",
):
    """Mitigations for an export: in ``node``'s subtree, from ``source``, with ``status``, and
    whose name, definition or section contains ``search`` (any case); in public-ID order.

    A stop-gap for the command line until the list page's FilterSet (catalog/filters.py) is
    shared: the export command should then filter through that instead.
    """
    queryset = Mitigation.objects.all()
    if node is not None:
        queryset = queryset.filter(
            pk__in=Classification.objects.filter(
                taxonomy_id=node.taxonomy_id, node__path__startswith=node.path
            ).values("mitigation_id")
        )
    if source is not None:
        queryset = queryset.filter(source=source)
    if status:
        queryset = queryset.filter(status=status)
    if search:
        queryset = queryset.filter(
            Q(name__icontains=search)
            | Q(definition__icontains=search)
            | Q(section_path__icontains=search)
        )
    return queryset.order_by("number")
