"""Who, why and on whose behalf: the context every history row is written in.

Services open a :func:`change_context`; every historical record created inside it (the
mitigation's, its classifications', anything saved in the same unit of work) carries the same
user, reason and reference. The reference links a history row back to what caused it, e.g.
``proposal:12`` or ``import-batch:3``, without ``catalog`` having to import those apps.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import models
from django.dispatch import receiver
from simple_history.signals import pre_create_historical_record


@dataclass(frozen=True)
class ChangeContext:
    actor: object | None  # a User, or None for the system (reference data, migrations)
    reason: str
    ref: str = ""


_current: contextvars.ContextVar[ChangeContext | None] = contextvars.ContextVar(
    "catalog_change_context", default=None
)


@contextmanager
def change_context(*, actor, reason: str, ref: str = ""):
    """Attribute every history row written inside the block to ``actor`` with ``reason``."""
    token = _current.set(ChangeContext(actor=actor, reason=reason, ref=ref))
    try:
        yield
    finally:
        _current.reset(token)


def current_change_context() -> ChangeContext | None:
    return _current.get()


class HistoryContextFields(models.Model):
    """Extra columns on every historical model (simple-history ``bases``)."""

    history_ref = models.CharField(
        max_length=100,
        blank=True,
        db_index=True,
        help_text="What caused this change, e.g. proposal:12 or import-batch:3.",
    )

    class Meta:
        abstract = True


@receiver(pre_create_historical_record)
def _stamp_history_row(sender, history_instance, **kwargs):
    context = _current.get()
    if context is None:
        return
    actor = context.actor
    if actor is not None and getattr(actor, "is_authenticated", False):
        history_instance.history_user = actor
    history_instance.history_change_reason = context.reason
    history_instance.history_ref = context.ref


# --------------------------------------------------------------------------- links back

_ref_resolvers: dict[str, object] = {}


def register_ref_resolver(prefix: str, resolve) -> None:
    """Let another app turn its references into links: ``resolve("12") -> url or None``.

    ``catalog`` never imports the apps that cause changes; they register here instead
    (e.g. ``review`` registers ``proposal`` in its ``AppConfig.ready``).
    """
    _ref_resolvers[prefix] = resolve


def ref_url(ref: str) -> str | None:
    """The page of what caused a change (``"proposal:12"`` → its URL), if one is known."""
    prefix, _, key = (ref or "").partition(":")
    resolve = _ref_resolvers.get(prefix)
    return resolve(key) if resolve and key else None


# --------------------------------------------------------------------------- what readers see


@dataclass(frozen=True)
class RefDescription:
    """A history reference as a reader sees it: ``proposal #12``, linked where the public may
    follow it; the admin's page of it for staff only; and, for a change someone proposed and
    curators approved, who did which."""

    label: str
    url: str | None = None  # a public page
    staff_url: str | None = None  # an admin page: never shown to the public
    proposed_by: str = ""
    approved_by: tuple[str, ...] = ()


RefDescriber = Callable[[list[str]], dict[str, RefDescription]]
_ref_describers: dict[str, RefDescriber] = {}


def register_ref_describer(prefix: str, describe: RefDescriber) -> None:
    """Let another app describe its references for readers, many at a time:
    ``describe(["12", "13"]) -> {"12": RefDescription(...), ...}`` (one query for all)."""
    _ref_describers[prefix] = describe


def ref_label(ref: str) -> str:
    """``"proposal:12"`` → ``"proposal #12"``; ``"import-batch-revert:3"`` →
    ``"import batch revert #3"``: readable without any lookup."""
    prefix, _, key = (ref or "").partition(":")
    words = prefix.replace("-", " ").replace("_", " ").strip()
    return f"{words} #{key}" if key else words


def describe_refs(refs: Iterable[str]) -> dict[str, RefDescription]:
    """Each of ``refs`` described for readers: one call (one query) per kind of reference."""
    keys_by_prefix: dict[str, set[str]] = {}
    for ref in refs:
        if ref:
            prefix, _, key = ref.partition(":")
            keys_by_prefix.setdefault(prefix, set()).add(key)
    described: dict[str, RefDescription] = {}
    for prefix, keys in keys_by_prefix.items():
        describe = _ref_describers.get(prefix)
        found = describe(sorted(keys)) if describe else {}
        for key in keys:
            ref = f"{prefix}:{key}" if key else prefix
            described[ref] = found.get(key) or RefDescription(label=ref_label(ref))
    return described
