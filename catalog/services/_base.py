"""What every service shares: the unit of work, field assignment, validation."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from .. import limits, version
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
    """The transaction and history context of one write; its last step bumps the catalog
    version (:mod:`catalog.version`), so the version commits or rolls back with the data.

    The version row is locked only at the end of the work, so concurrent writers queue on it
    for the moment before each commits, not for the whole of a long import.
    """
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Say why this change is made."})
    if len(reason.strip()) > limits.REASON:
        message = f"Keep the reason under {limits.REASON:,} characters."
        raise ValidationError({"reason": message})
    with transaction.atomic(), change_context(actor=actor, reason=reason.strip(), ref=ref):
        yield
        version.bump()


def _field(model: models.Model | type[models.Model], name: str) -> models.Field:
    """The field ``name`` of a model or a record (a column, never a reverse relation)."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise ValidationError({name: "This field cannot be written here."})
    return field


def _field_value(instance: models.Model, name: str) -> Any:
    return getattr(instance, _field(instance, name).attname)


def _normalise(instance: models.Model, name: str, value: Any) -> Any:
    """The stored form of ``value``: a primary key for a relation, a cleaned Python value else."""
    field = _field(instance, name)
    if field.is_relation:
        return value.pk if isinstance(value, models.Model) else value
    if value is None and not field.null and isinstance(field, models.CharField | models.TextField):
        return ""
    return field.to_python(value)


@dataclass(frozen=True)
class Difference:
    """A field whose stored value would change: ``old`` and ``new`` in stored form (a primary
    key for a relation), ``given`` the value as the caller gave it."""

    name: str
    old: Any
    new: Any
    given: Any


def _differences(
    instance: models.Model, data: Mapping, allowed: Iterable[str]
) -> Iterator[Difference]:
    """The fields of ``data`` that writing it to ``instance`` would change, in ``allowed``'s
    order; a name outside ``allowed`` is refused. A related object not saved yet differs from
    whatever is stored (it is a record still to be created). The one comparison behind
    :func:`_assign` and the bulk services' previews."""
    allowed = tuple(allowed)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError({name: "This field cannot be written here." for name in unknown})
    for name in allowed:
        if name not in data:
            continue
        given = data[name]
        new = _normalise(instance, name, given)
        old = _field_value(instance, name)
        if old != new or (isinstance(given, models.Model) and given.pk is None):
            yield Difference(name, old, new, given)


def _assign(instance: models.Model, data: Mapping, allowed: Iterable[str]) -> list[str]:
    """Set the fields in ``data`` on ``instance``; return the names of those that changed."""
    changed = list(_differences(instance, data, allowed))
    for difference in changed:
        setattr(instance, _field(instance, difference.name).attname, difference.new)
    return [difference.name for difference in changed]


def _save(instance: models.Model, **clean_kwargs) -> None:
    instance.full_clean(**clean_kwargs)
    instance.save()
