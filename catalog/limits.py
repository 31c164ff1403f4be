"""How long free text may be: one limit per kind of text, in one place.

Every ``TextField`` of the catalog and of review is declared with :func:`text_field`, which
gives it the limit three times over: the model field's ``max_length`` (so every model form and
the admin refuse a longer value, and the textarea says so), a validator (so ``full_clean``, and
with it every service and every import, names the field and the length), and a named database
check constraint (:class:`MaxLengthConstraint`, so nothing that bypasses Python stores it
either). ``CharField`` s carry their ``max_length`` already. The limits are far above anything
the MIT data holds (its longest definition has about 1,500 characters).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual

# Characters, not bytes.
DEFINITION = 10_000  # a mitigation's or a taxonomy node's definition
DESCRIPTION = 10_000  # a taxonomy's or a source document's description
ABSTRACT = 20_000  # a source document's abstract
AUTHORS = 5_000  # a source document's list of authors
NOTE = 5_000  # status notes, rationales, quotes, decision and event notes, batch notes
COMMENT = 10_000  # a comment in a proposal's discussion
REASON = 2_000  # the reason recorded with a change in the history (checked by the services)


def text_field(limit: int, *args, **kwargs) -> models.TextField:
    """A ``TextField`` of at most ``limit`` characters, without NUL characters; pair it with a
    :class:`MaxLengthConstraint` in the model's ``Meta.constraints``."""
    validators = [MaxLengthValidator(limit), ProhibitNullCharactersValidator()]
    return models.TextField(*args, max_length=limit, validators=validators, **kwargs)


class MaxLengthConstraint(models.CheckConstraint):
    """``CHECK (length(field) <= limit)`` in the database. In Python (``full_clean``) it is
    checked on the value itself, without the query a plain check constraint would run."""

    def __init__(self, *, field: str, limit: int, name: str, violation_error_message=None):
        self.field = field
        self.limit = limit
        super().__init__(
            condition=LessThanOrEqual(Length(field), limit),
            name=name,
            violation_error_message=violation_error_message
            or f"Keep the {field.replace('_', ' ')} under {limit:,} characters.",
        )

    def validate(self, model, instance, exclude=None, using=None):
        if exclude and self.field in exclude:
            return
        value = getattr(instance, self.field, None)
        if value is not None and len(value) > self.limit:
            raise ValidationError(
                {self.field: self.get_violation_error_message()}, code="max_length"
            )

    def deconstruct(self):
        path, args, kwargs = super().deconstruct()
        kwargs.pop("condition", None)
        if kwargs.get("violation_error_message") == (
            f"Keep the {self.field.replace('_', ' ')} under {self.limit:,} characters."
        ):
            kwargs.pop("violation_error_message")
        return path, args, {**kwargs, "field": self.field, "limit": self.limit}

    def __eq__(self, other):
        if isinstance(other, MaxLengthConstraint):
            return (self.name, self.field, self.limit) == (other.name, other.field, other.limit)
        return super().__eq__(other)


def length_constraints(prefix: str, **limits: int) -> list[MaxLengthConstraint]:
    """One :class:`MaxLengthConstraint` per ``field=limit``, named ``<prefix>_<field>_length``."""
    return [
        MaxLengthConstraint(field=field, limit=limit, name=f"{prefix}_{field}_length")
        for field, limit in limits.items()
    ]


# --------------------------------------------------------------------------- migrations


def length_checks(app_label: str, checks: list[tuple[str, str, int, str]]):
    """The database side of :class:`MaxLengthConstraint` s, for a migration's
    ``SeparateDatabaseAndState`` (``checks``: model name, field, limit, constraint name).

    PostgreSQL gets the CHECK constraints. SQLite can add a constraint only by rebuilding the
    table, which would drop the triggers other migrations put on it (catalog 0002, review
    0002), so it gets a trigger per check instead (``RAISE(ABORT)``, an IntegrityError like a
    failed CHECK). Both first refuse to migrate, naming the rows, if stored text is already
    longer than its limit: shorten those records, then migrate again.
    """
    from django.db import migrations

    def rows(apps):
        for model_name, field, limit, name in checks:
            yield apps.get_model(app_label, model_name), field, limit, name

    def forward(apps, schema_editor):
        sqlite = schema_editor.connection.vendor == "sqlite"
        quote = schema_editor.quote_name
        for model, field, limit, name in rows(apps):
            too_long = list(
                model._base_manager.annotate(_length=Length(field))
                .filter(_length__gt=limit)
                .values_list("pk", "_length")[:20]
            )
            if too_long:
                listed = ", ".join(f"id {pk} ({length:,} characters)" for pk, length in too_long)
                raise RuntimeError(
                    f"{model._meta.label}.{field} may hold at most {limit:,} characters, but "
                    f"these rows hold more: {listed}. Shorten them, then migrate again."
                )
            if not sqlite:
                schema_editor.add_constraint(
                    model, MaxLengthConstraint(field=field, limit=limit, name=name)
                )
                continue
            table, column = model._meta.db_table, model._meta.get_field(field).column
            for event, suffix in (("INSERT", "insert"), (f"UPDATE OF {quote(column)}", "update")):
                schema_editor.execute(
                    f"CREATE TRIGGER {quote(f'{name}_{suffix}')} BEFORE {event} ON {quote(table)} "
                    f"WHEN length(NEW.{quote(column)}) > {int(limit)} BEGIN "
                    f"SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END"
                )

    def backward(apps, schema_editor):
        sqlite = schema_editor.connection.vendor == "sqlite"
        for model, field, limit, name in rows(apps):
            if sqlite:
                for suffix in ("insert", "update"):
                    schema_editor.execute(
                        f"DROP TRIGGER IF EXISTS {schema_editor.quote_name(f'{name}_{suffix}')}"
                    )
            else:
                schema_editor.remove_constraint(
                    model, MaxLengthConstraint(field=field, limit=limit, name=name)
                )

    return migrations.RunPython(forward, backward)
