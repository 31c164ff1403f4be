"""Who may do what in a campaign, each rule named, each refusal with a reason to show.

- Curators (``catalog.roles.is_curator``) create, edit, open and close campaigns, read their
  reports, import and export codings, and adjudicate (never a record they coded).
- Coders are the campaign's listed users and the members of its coders group (curators may
  be coders too); they code while the campaign is open.
- Everyone else (contributors, the public) sees nothing of a campaign.
"""

from __future__ import annotations

from catalog.roles import is_curator
from review.permissions import ALLOWED, Verdict

from .models import Campaign, CampaignRecord


def _deny(reason: str) -> Verdict:
    return Verdict(False, reason)


def _signed_in(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def can_manage_campaigns(user) -> Verdict:
    if not _signed_in(user):
        return _deny("Sign in as a curator to manage campaigns.")
    if not is_curator(user):
        return _deny("Only curators create and manage classification campaigns.")
    return ALLOWED


def is_coder(user, campaign: Campaign) -> bool:
    if not _signed_in(user):
        return False
    if campaign.coders.filter(pk=user.pk).exists():
        return True
    return bool(
        campaign.coders_group_id and user.groups.filter(pk=campaign.coders_group_id).exists()
    )


def can_code(user, campaign: Campaign) -> Verdict:
    if not _signed_in(user):
        return _deny("Sign in to code.")
    if not is_coder(user, campaign):
        return _deny(f"You are not one of the coders of “{campaign.name}”.")
    return ALLOWED


def can_view(user, campaign: Campaign) -> Verdict:
    """The campaign's page: its curators and its coders."""
    if can_manage_campaigns(user) or is_coder(user, campaign):
        return ALLOWED
    return _deny("Only the campaign's coders and the curators see this campaign.")


def can_adjudicate(user, record: CampaignRecord) -> Verdict:
    verdict = can_manage_campaigns(user)
    if not verdict:
        return _deny("Only curators adjudicate.")
    if record.codings.filter(coder=user, skipped=False).exists():
        return _deny("You coded this record; another curator adjudicates it.")
    return ALLOWED
