"""What every service shares: the unit of work, field assignment, validation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models, transaction

from .. import limits
from ..history import change_context
from ..models import (
    TaxonomyNode,
)

MITIGATION_FIELDS = ("name", "definition", "source", "section_path")
SOURCE_FIELDS = (
    "short_ref",
    "document_id",
    "title",
    "first_author",
    "authors",
    "year",
    "abstract",
    "description",
    "url",
    "doi",
    "doc_type",
)
TAXONOMY_FIELDS = (
    "slug",
    "name",
    "version",
    "description",
    "status",
    "kind",
    "multi_valued",
    "order",
)
NODE_FIELDS = ("code", "name", "definition", "parent", "order", "is_catch_all")


@dataclass(frozen=True)
class Placement:
    """A node a mitigation is (to be) classified at, with the one-line reasoning."""

    node: TaxonomyNode
    reasoning: str = ""


@contextmanager
def _unit_of_work(*, actor, reason: str, ref: str = ""):
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Say why this change is made."})
    if len(reason.strip()) > limits.REASON:
        message = f"Keep the reason under {limits.REASON:,} characters."
        raise ValidationError({"reason": message})
    with transaction.atomic(), change_context(actor=actor, reason=reason.strip(), ref=ref):
        yield


def _field_value(instance: models.Model, name: str):
    field = instance._meta.get_field(name)
    return getattr(instance, field.attname)


def _normalise(instance: models.Model, name: str, value):
    """The stored form of ``value``: a primary key for a relation, a cleaned Python value else."""
    field = instance._meta.get_field(name)
    if field.is_relation:
        return value.pk if isinstance(value, models.Model) else value
    if value is None and not field.null and isinstance(field, models.CharField | models.TextField):
        return ""
    return field.to_python(value)


def _assign(instance: models.Model, data: Mapping, allowed: Iterable[str]) -> list[str]:
    """Set the fields in ``data`` on ``instance``; return the names of those that changed."""
    allowed = tuple(allowed)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError({name: "This field cannot be written here." for name in unknown})
    changed = []
    for name in allowed:
        if name not in data:
            continue
        new = _normalise(instance, name, data[name])
        if _field_value(instance, name) != new:
            setattr(instance, instance._meta.get_field(name).attname, new)
            changed.append(name)
    return changed


def _save(instance: models.Model, **clean_kwargs) -> None:
    instance.full_clean(**clean_kwargs)
    instance.save()
