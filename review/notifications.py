"""Emails about proposals, sent after the transaction that caused them has committed.

Curators hear about submissions; an author hears about decisions, requests for changes and
comments on their proposals. Each person can turn either off on their settings page. A failing
mail server is logged and never undoes the transition that was already committed.

The words are templates, three per email in ``templates/review/email/``: ``<name>_subject.txt``,
``<name>_message.txt`` (the plain text) and ``<name>_message.html`` (the same as HTML, sent as an
alternative part). This module chooses the recipients and the context.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, mailers
from django.template.loader import render_to_string
from django.urls import reverse

from catalog.roles import DECIDE_PERMISSION, display_name, holders

logger = logging.getLogger(__name__)

# What an author hears about (``notify_author``'s ``what``): the events, and comments.
AUTHOR_NEWS = ("applied", "rejected", "changes_requested", "sent_back", "commented")


def _url(proposal) -> str:
    return settings.SITE_URL + proposal.get_absolute_url()


def _settings_url() -> str:
    return settings.SITE_URL + reverse("review:settings")


def _send(messages: list[EmailMultiAlternatives]) -> int:
    if not messages:
        return 0
    try:
        return mailers.default.send_messages(messages)
    except Exception:
        logger.exception("Could not send %d proposal notification(s)", len(messages))
        return 0


def _emails(name: str, context: dict, recipients: list[str]) -> list[EmailMultiAlternatives]:
    """The email ``review/email/<name>_*`` rendered once with ``context``, one per recipient."""
    context = {"settings_url": _settings_url(), "site_url": settings.SITE_URL, **context}
    prefix = getattr(settings, "ACCOUNT_EMAIL_SUBJECT_PREFIX", "")
    subject = render_to_string(f"review/email/{name}_subject.txt", context)
    subject = prefix + " ".join(subject.splitlines()).strip()
    text = render_to_string(f"review/email/{name}_message.txt", context)
    html = render_to_string(f"review/email/{name}_message.html", {**context, "subject": subject})
    messages = []
    for to in recipients:
        message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
        message.attach_alternative(html, "text/html")
        messages.append(message)
    return messages


def curators_to_notify(exclude_user_id: int | None):
    """Active curators (and superusers) with an address who did not turn these emails off."""
    User = get_user_model()
    return (
        User.objects.filter(holders(DECIDE_PERMISSION), is_active=True)
        .exclude(email="")
        .exclude(pk=exclude_user_id)
        .exclude(review_profile__email_on_submission=False)
        .distinct()
        .order_by("pk")
    )


def notify_submitted(proposal_id: int) -> int:
    from .models import Proposal

    proposal = Proposal.objects.select_related("author", "mitigation", "taxonomy").get(
        pk=proposal_id
    )
    context = {
        "proposal": proposal,
        "verb": "resubmitted" if proposal.state == "resubmitted" else "submitted",
        "author_name": display_name(proposal.author),
        "proposal_url": _url(proposal),
    }
    recipients = [user.email for user in curators_to_notify(proposal.author_id)]
    return _send(_emails("proposal_submitted", context, recipients))


def _author_wants_email(author, actor_id: int | None) -> bool:
    from .models import Profile

    if not author.is_active or not author.email or author.pk == actor_id:
        return False
    return not Profile.objects.filter(user=author, email_on_my_proposals=False).exists()


def _actor_name(actor_id: int | None) -> str:
    actor = get_user_model().objects.filter(pk=actor_id).first()
    return display_name(actor) if actor else "A curator"


def notify_author(proposal_id: int, what: str, note: str, actor_id: int | None) -> int:
    """Tell a proposal's author ``what`` happened to it (one of :data:`AUTHOR_NEWS`)."""
    from .models import Proposal

    if what not in AUTHOR_NEWS:
        raise ValueError(f"No email says {what!r}.")
    proposal = Proposal.objects.select_related("author", "mitigation", "taxonomy").get(
        pk=proposal_id
    )
    author = proposal.author
    if not _author_wants_email(author, actor_id):
        return 0
    context = {
        "proposal": proposal,
        "what": what,
        "note": note,
        "actor_name": _actor_name(actor_id),
        "proposal_url": _url(proposal),
    }
    return _send(_emails("proposal_update", context, [author.email]))


# --------------------------------------------------------------------------- batches


def notify_batch_submitted(batch_id: int) -> int:
    """One email to the curators for a whole batch, instead of one per proposal."""
    from .models import ProposalBatch

    batch = ProposalBatch.objects.select_related("created_by").get(pk=batch_id)
    context = {
        "batch": batch,
        "count": batch.proposals.count(),
        "author_name": display_name(batch.created_by),
        "batch_url": settings.SITE_URL + batch.get_absolute_url(),
    }
    recipients = [user.email for user in curators_to_notify(batch.created_by_id)]
    return _send(_emails("batch_submitted", context, recipients))


def notify_batch_decided(
    batch_id: int,
    action: str,
    note: str,
    actor_id: int | None,
    decided_ids: list[int],
    sent_back_ids: list[int],
) -> int:
    """One email to a batch's author about a decision on the whole batch (``action``: one of
    :data:`review.workflow.BATCH_ACTIONS`)."""
    from .models import Proposal, ProposalBatch

    batch = ProposalBatch.objects.select_related("created_by").get(pk=batch_id)
    author = batch.created_by
    if not _author_wants_email(author, actor_id):
        return 0
    proposals = {
        p.pk: p
        for p in Proposal.objects.filter(pk__in=[*decided_ids, *sent_back_ids]).select_related(
            "mitigation", "taxonomy"
        )
    }
    context = {
        "batch": batch,
        "action": action,
        "note": note,
        "actor_name": _actor_name(actor_id),
        "decided": [proposals[pk] for pk in decided_ids if pk in proposals],
        "sent_back": [
            (proposals[pk], _url(proposals[pk])) for pk in sent_back_ids if pk in proposals
        ],
        "batch_url": settings.SITE_URL + batch.get_absolute_url(),
    }
    return _send(_emails("batch_decided", context, [author.email]))
