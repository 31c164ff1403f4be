"""What a write would change, in words: the before and after a preview shows for each field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from .._base import _differences, _field
from ._outcomes import FieldChange


def _display(instance: models.Model, name: str, value: Any) -> str:
    """A stored value as a person reads it: a label for a choice, a key for a relation."""
    if value is None or value == "":
        return ""
    field = _field(instance, name)
    if isinstance(value, models.Model):
        return getattr(value, "short_ref", None) or getattr(value, "code", None) or str(value)
    if field.is_relation:
        related_model = field.related_model
        assert isinstance(related_model, type), "a relation to a model class"
        related = related_model._default_manager.filter(pk=value).first()
        return _display(instance, name, related) if related else str(value)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _changes(instance: models.Model, data: Mapping, allowed: Iterable[str]) -> list[FieldChange]:
    """What :func:`~catalog.services._base._assign` would change on ``instance`` (by the same
    comparison), in words, without changing it."""
    return [
        FieldChange(
            difference.name,
            _display(instance, difference.name, difference.old),
            _display(
                instance,
                difference.name,
                difference.given if isinstance(difference.given, models.Model) else difference.new,
            ),
        )
        for difference in _differences(instance, data, allowed)
    ]
