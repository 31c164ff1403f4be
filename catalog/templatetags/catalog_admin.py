"""The admin's home page: the catalog's own recent changes (``{% catalog_recent_changes %}``)."""

from django import template

from catalog import selectors
from catalog.history import describe_refs
from catalog.models import format_public_id

register = template.Library()


@register.simple_tag
def catalog_recent_changes(limit: int = 10):
    """The latest units of work in the catalog's history (imports, reverts, approvals, edits),
    each with ``ref_label`` and ``ref_link`` (the admin's page of an import, a proposal's page)
    and, when one record changed, ``record_id``. Imports and reverts write no admin log entry;
    their history rows are what this shows."""
    changes = selectors.history_list_recent_changes(limit)
    described = describe_refs(change.ref for change in changes)
    for change in changes:
        about = described.get(change.ref)
        change.ref_label = about.label if about else ""
        change.ref_link = (about.staff_url or about.url) if about else None
        change.record_id = (
            format_public_id(change.mitigation_number) if change.mitigation_number else ""
        )
    return changes
