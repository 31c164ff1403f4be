"""Emails about proposals, sent after the transaction that caused them has committed.

Curators hear about submissions; an author hears about decisions, requests for changes and
comments on their proposals. Each person can turn either off on their settings page. A failing
mail server is logged and never undoes the transition that was already committed.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, mailers
from django.urls import reverse

from catalog.roles import DECIDE_PERMISSION, holders

logger = logging.getLogger(__name__)

_AUTHOR_SUBJECTS = {
    "applied": "approved and applied",
    "rejected": "rejected",
    "changes_requested": "changes requested",
    "sent_back": "the record changed: please update",
    "commented": "new comment",
}


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def _url(proposal) -> str:
    return settings.SITE_URL + proposal.get_absolute_url()


def _settings_url() -> str:
    return settings.SITE_URL + reverse("review:settings")


def _send(messages: list[EmailMessage]) -> int:
    if not messages:
        return 0
    try:
        return mailers.default.send_messages(messages)
    except Exception:
        logger.exception("Could not send %d proposal notification(s)", len(messages))
        return 0


def _message(subject: str, body: str, to: str) -> EmailMessage:
    prefix = getattr(settings, "ACCOUNT_EMAIL_SUBJECT_PREFIX", "")
    return EmailMessage(subject=f"{prefix}{subject}", body=body, to=[to])


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
    verb = "resubmitted" if proposal.state == "resubmitted" else "submitted"
    subject = f"Proposal #{proposal.pk} {verb}: {proposal.title}"
    body = (
        f"{_name(proposal.author)} {verb} a proposal for review.\n\n"
        f"{proposal.title}\n\nWhy: {proposal.rationale}\n\n"
        f"Review it: {_url(proposal)}\n\n"
        "You receive this because you are a curator. Turn these emails off on your settings "
        f"page: {_settings_url()}\n"
    )
    recipients = curators_to_notify(proposal.author_id)
    return _send([_message(subject, body, user.email) for user in recipients])


def notify_author(proposal_id: int, what: str, note: str, actor_id: int | None) -> int:
    from .models import Profile, Proposal

    proposal = Proposal.objects.select_related("author", "mitigation", "taxonomy").get(
        pk=proposal_id
    )
    author = proposal.author
    if not author.is_active or not author.email or author.pk == actor_id:
        return 0
    if Profile.objects.filter(user=author, email_on_my_proposals=False).exists():
        return 0
    actor = get_user_model().objects.filter(pk=actor_id).first()
    who = _name(actor) if actor else "A curator"
    headline = {
        "applied": f"{who} approved your proposal; the change is now in the catalog.",
        "rejected": f"{who} rejected your proposal.",
        "changes_requested": f"{who} asked for changes to your proposal.",
        "sent_back": "The record changed since you made your proposal, so it came back to you.",
        "commented": f"{who} commented on your proposal.",
    }[what]
    subject = f"Proposal #{proposal.pk} {_AUTHOR_SUBJECTS[what]}: {proposal.title}"
    body = f"{headline}\n\n{proposal.title}\n\n"
    if note:
        body += f"{note}\n\n"
    body += (
        f"See it: {_url(proposal)}\n\n"
        f"Turn these emails off on your settings page: {_settings_url()}\n"
    )
    return _send([_message(subject, body, author.email)])


# --------------------------------------------------------------------------- batches

_BATCH_DECIDED = {
    "approve": ("approved", "approved and applied"),
    "reject": ("rejected", "rejected"),
    "request_changes": ("changes requested", "sent back to you for changes"),
}


def notify_batch_submitted(batch_id: int) -> int:
    """One email to the curators for a whole batch, instead of one per proposal."""
    from .models import ProposalBatch

    batch = ProposalBatch.objects.select_related("created_by").get(pk=batch_id)
    count = batch.proposals.count()
    url = settings.SITE_URL + batch.get_absolute_url()
    subject = f"Batch #{batch.pk} submitted: {count} proposals from {batch.title}"
    body = (
        f"{_name(batch.created_by)} submitted {count} proposals for review at once, from "
        f"{batch.title}.\n\nWhy: {batch.rationale}\n\n"
        f"Review them one by one or as a whole: {url}\n\n"
        "You receive this because you are a curator. Turn these emails off on your settings "
        f"page: {_settings_url()}\n"
    )
    recipients = curators_to_notify(batch.created_by_id)
    return _send([_message(subject, body, user.email) for user in recipients])


def notify_batch_decided(
    batch_id: int,
    action: str,
    note: str,
    actor_id: int | None,
    decided_ids: list[int],
    sent_back_ids: list[int],
) -> int:
    """One email to a batch's author about a decision on the whole batch."""
    from .models import Profile, Proposal, ProposalBatch

    batch = ProposalBatch.objects.select_related("created_by").get(pk=batch_id)
    author = batch.created_by
    if not author.is_active or not author.email or author.pk == actor_id:
        return 0
    if Profile.objects.filter(user=author, email_on_my_proposals=False).exists():
        return 0
    actor = get_user_model().objects.filter(pk=actor_id).first()
    who = _name(actor) if actor else "A curator"
    short, verb = _BATCH_DECIDED[action]
    proposals = {
        p.pk: p
        for p in Proposal.objects.filter(pk__in=[*decided_ids, *sent_back_ids]).select_related(
            "mitigation", "taxonomy"
        )
    }
    lines = [f"{who} decided your batch “{batch.title}” as a whole."]
    if decided_ids:
        lines.append(f"\n{len(decided_ids)} proposals were {verb}:")
        lines += [f"- #{pk} {proposals[pk].title}" for pk in decided_ids if pk in proposals]
    if sent_back_ids:
        lines.append(
            f"\n{len(sent_back_ids)} came back to you because their record changed since you "
            "made them; please update and resubmit them:"
        )
        lines += [
            f"- #{pk} {proposals[pk].title}: {_url(proposals[pk])}"
            for pk in sent_back_ids
            if pk in proposals
        ]
    if note:
        lines.append(f"\n{note}")
    lines.append(
        f"\nSee the batch: {settings.SITE_URL}{batch.get_absolute_url()}\n\n"
        f"Turn these emails off on your settings page: {_settings_url()}\n"
    )
    subject = f"Batch #{batch.pk} {short}: {batch.title}"
    return _send([_message(subject, "\n".join(lines), author.email)])
