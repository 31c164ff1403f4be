"""People: their display name and notification preferences, written only here."""

from __future__ import annotations

from django.db import transaction

from catalog.roles import curators_group

from .models import Profile


def profile_get(user) -> Profile:
    """The person's preferences; defaults (every email on) until they save their own."""
    profile = Profile.objects.filter(user=user).first()
    return profile or Profile(user=user)


def profile_update(
    *, user, display_name: str, email_on_submission: bool, email_on_my_proposals: bool
) -> Profile:
    """Save the display name (as the user's full name) and the email preferences."""
    display_name = " ".join((display_name or "").split())
    with transaction.atomic():
        if (user.first_name, user.last_name) != (display_name, ""):
            user.first_name, user.last_name = display_name, ""
            user.save(update_fields=["first_name", "last_name"])
        profile, _ = Profile.objects.update_or_create(
            user=user,
            defaults={
                "email_on_submission": email_on_submission,
                "email_on_my_proposals": email_on_my_proposals,
            },
        )
    return profile


def curator_grant(*, user) -> bool:
    """Make ``user`` a curator; returns False when they were one already."""
    group = curators_group()
    if user.groups.filter(pk=group.pk).exists():
        return False
    user.groups.add(group)
    return True
