"""Template tags for other apps' pages: the review panel on a mitigation's page."""

from django import template

from catalog.models import Mitigation

from .. import selectors

register = template.Library()


@register.inclusion_tag("review/includes/_mitigation_review.html", takes_context=True)
def mitigation_review_panel(context, mitigation: Mitigation):
    """Propose links for signed-in people and the approved proposals that shaped the record.

    One query whatever the record's history.
    """
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    panel = selectors.proposal_panel_for_mitigation(mitigation)
    return {
        "mitigation": mitigation,
        "user": user,
        "signed_in": bool(user is not None and user.is_authenticated),
        "approved": panel.approved,
        "open_count": panel.open_count,
        "request": request,
    }
