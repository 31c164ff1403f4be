"""The people of the site: contributors are signed-in users, curators a group, admins staff.

They live in `catalog` because both apps need them and `catalog` never imports `review`.
"""

from __future__ import annotations

from typing import Any

CURATORS_GROUP = "Curators"


def is_curator(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=CURATORS_GROUP).exists()


def display_name(user: Any, default: str = "the system") -> str:
    """How a person is named on pages and in emails: the display name they chose (their full
    name), else their username; ``default`` for no one (a change the system made).

    Templates use the same rule as the ``display_name`` filter (``{% load people %}``).
    """
    if user is None:
        return default
    return user.get_full_name() or user.get_username()
