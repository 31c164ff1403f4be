"""What a bulk upsert reports for each item: the shapes an import preview is drawn from."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field

from django.core.exceptions import ValidationError
from django.db import models

from ...models import RowAction


@dataclass(frozen=True)
class FieldChange:
    """One field of one record, as text: ``field`` is a model field name, or for a
    classification the taxonomy slug (the node) or ``"<slug> reasoning"``."""

    field: str
    old: str
    new: str


@dataclass
class UpsertOutcome:
    """What a bulk upsert did (or, in a dry run, would do) with one item. ``instance`` is the
    record where the service has one at hand (documents and nodes; None for mitigations,
    which are planned from plain rows)."""

    key: str
    action: str = RowAction.UNCHANGED
    changes: list[FieldChange] = dataclass_field(default_factory=list)
    errors: dict[str, list[str]] = dataclass_field(default_factory=dict)
    instance: models.Model | None = None

    def add_error(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)
        self.action = RowAction.ERROR

    def add_validation_error(self, error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            for message in messages:
                self.add_error("" if field == "__all__" else field, message)


class BulkUpsertError(ValidationError):
    """A bulk upsert found errors and wrote nothing; ``outcomes`` says which items and why."""

    def __init__(self, outcomes: list[UpsertOutcome]):
        self.outcomes = outcomes
        failed = sum(1 for outcome in outcomes if outcome.action == RowAction.ERROR)
        super().__init__(f"{failed} of {len(outcomes)} records have errors; nothing was written.")
