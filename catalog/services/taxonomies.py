"""Writes to taxonomies and their nodes."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import models

from ..models import (
    Classification,
    Taxonomy,
    TaxonomyNode,
)
from ._base import NODE_FIELDS, TAXONOMY_FIELDS, _assign, _save, _unit_of_work


def taxonomy_create(*, actor, reason: str, ref: str = "", **fields) -> Taxonomy:
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        taxonomy = Taxonomy()
        _assign(taxonomy, fields, TAXONOMY_FIELDS)
        _save(taxonomy)
        return taxonomy


def taxonomy_update(*, taxonomy: Taxonomy, data: Mapping, actor, reason: str, ref: str = ""):
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        taxonomy = Taxonomy.objects.select_for_update().get(pk=taxonomy.pk)
        was_multi = taxonomy.multi_valued
        changed = _assign(taxonomy, data, TAXONOMY_FIELDS)
        if not changed:
            return taxonomy, []
        if was_multi and not taxonomy.multi_valued:
            crowded = (
                Classification.objects.filter(taxonomy=taxonomy)
                .values("mitigation")
                .annotate(n=models.Count("id"))
                .filter(n__gt=1)
            )
            if crowded.exists():
                raise ValidationError(
                    {"multi_valued": "Some mitigations carry several nodes of this taxonomy."}
                )
        _save(taxonomy)
        return taxonomy, changed


def taxonomy_node_create(
    *, taxonomy: Taxonomy, actor, reason: str, ref: str = "", **fields
) -> TaxonomyNode:
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        node = TaxonomyNode(taxonomy=taxonomy)
        _assign(node, fields, NODE_FIELDS)
        node.path = node.compute_path()
        _save(node)
        return node


def taxonomy_node_update(*, node: TaxonomyNode, data: Mapping, actor, reason: str, ref: str = ""):
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        node = TaxonomyNode.objects.select_for_update().get(pk=node.pk)
        old_path = node.path
        changed = _assign(node, data, NODE_FIELDS)
        if not changed:
            return node, []
        node.path = node.compute_path()
        _save(node)
        if node.path != old_path:
            _move_subtree(node.taxonomy_id, old_path, node.path)
        return node, changed


def _move_subtree(taxonomy_id: int, old_prefix: str, new_prefix: str) -> None:
    # ``path`` is derived and not part of the history, so descendants are rewritten in place.
    descendants = TaxonomyNode.objects.filter(
        taxonomy_id=taxonomy_id, path__startswith=old_prefix
    ).exclude(path=new_prefix)
    for descendant in descendants:
        TaxonomyNode.objects.filter(pk=descendant.pk).update(
            path=new_prefix + descendant.path[len(old_prefix) :]
        )
