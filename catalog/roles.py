"""The roles of the site, as explicit Django permissions.

- **Contributors** are signed-in, active people.
- **Curators** hold ``review.decide_proposal``: they see the review queue and decide others'
  proposals. The *Curators* group holds it (granted by migration ``review/0006``), so appointing
  a curator is adding them to the group (``grant_curator`` or the admin).
- **Admins** hold ``review.oversee_proposals`` besides: they see every draft and upload and
  release any claim. Superusers hold every permission; a staff account without the permission
  is no admin of the review rules (it only reaches the parts of the Django admin it is given).

``is_staff`` decides nothing here: it only lets a person into the Django admin. The groups that
hold these permissions cannot be deleted (see :mod:`catalog.admin_accounts`), and people who
made history are deactivated, never deleted.

They live in ``catalog`` because both apps need them and ``catalog`` never imports ``review``
(the permissions are named by their string labels).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

CURATORS_GROUP = "Curators"
DECIDE_PERMISSION = "review.decide_proposal"
OVERSEE_PERMISSION = "review.oversee_proposals"
# The permissions the review rules ask for: a group holding one is protected from deletion.
REVIEW_PERMISSIONS = (DECIDE_PERMISSION, OVERSEE_PERMISSION)


ROLES_CACHE = "_roles_cache"


def remember_roles(user):
    """Let ``user`` (a request's own user) remember its roles for the rest of the request."""
    if user is not None and not hasattr(user, ROLES_CACHE):
        setattr(user, ROLES_CACHE, {})
    return user


def _split(permission: str) -> tuple[str, str]:
    app_label, _, codename = permission.partition(".")
    return app_label, codename


def permission_object(permission: str) -> Permission:
    app_label, codename = _split(permission)
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def has_permission(user, permission: str) -> bool:
    """Whether ``user`` (active) holds ``permission`` directly, through a group, or as a
    superuser: what ``user.has_perm`` answers for the model backend. The review permissions are
    read together, in one query, and remembered for the rest of a request
    (:func:`remember_roles`)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    django_cache = getattr(user, "_perm_cache", None)
    if django_cache is not None:
        return permission in django_cache
    wanted = REVIEW_PERMISSIONS if permission in REVIEW_PERMISSIONS else (permission,)
    # Remembered only on a request's own user (see remember_roles): a user object that lives
    # longer (a command, a task, a test) always asks the database, so it never answers from
    # before a role was granted or taken away.
    cache = getattr(user, ROLES_CACHE, None)  # through a request's lazy user to the user
    if cache is None:
        cache = {}
    if permission not in cache:
        held = set()
        for app_label, codename in (
            Permission.objects.filter(
                Q(
                    *[Q(content_type__app_label=a, codename=c) for a, c in map(_split, wanted)],
                    _connector=Q.OR,
                )
            )
            .filter(Q(user=user) | Q(group__user=user))
            .values_list("content_type__app_label", "codename")
            .distinct()
        ):
            held.add(f"{app_label}.{codename}")
        cache.update({name: name in held for name in wanted})
    return cache[permission]


def is_curator(user: Any) -> bool:
    return has_permission(user, DECIDE_PERMISSION)


def can_oversee(user) -> bool:
    """An admin of the review rules: every draft and upload visible, any claim released."""
    return has_permission(user, OVERSEE_PERMISSION)


def is_privileged(user) -> bool:
    """Curators and admins: whoever a stolen password would give more than a contributor's
    rights (``REQUIRE_MFA_FOR_STAFF`` asks them for a second factor)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.is_staff or user.is_superuser or is_curator(user)


def holders(permission: str):
    """``Q`` for the users holding ``permission``: directly, through a group, or superusers."""
    app_label, codename = _split(permission)
    held = {"content_type__app_label": app_label, "codename": codename}
    return (
        Q(is_superuser=True)
        | Q(user_permissions__in=Permission.objects.filter(**held))
        | Q(groups__permissions__in=Permission.objects.filter(**held))
    )


def curators_group() -> Group:
    """The *Curators* group, holding the permission to decide proposals."""
    group, _ = Group.objects.get_or_create(name=CURATORS_GROUP)
    group.permissions.add(permission_object(DECIDE_PERMISSION))
    return group


def protected_group_ids() -> set[int]:
    """The groups the review rules depend on: *Curators*, and any group holding one of
    :data:`REVIEW_PERMISSIONS`. Deleting one would take their rights from its members."""
    query = Q(name=CURATORS_GROUP)
    for permission in REVIEW_PERMISSIONS:
        app_label, codename = _split(permission)
        query |= Q(permissions__content_type__app_label=app_label, permissions__codename=codename)
    return set(Group.objects.filter(query).values_list("pk", flat=True))


# --------------------------------------------------------------------------- attribution


def history_rows_by(user) -> int:
    """How many history rows of curated records name ``user`` as the one who made the change."""
    from django.apps import apps

    total = 0
    for model in apps.get_models():
        if model.__name__.startswith("Historical") and hasattr(model, "history_user"):
            total += model.objects.filter(history_user_id=user.pk).count()
    return total


class AttributionProtected(Exception):
    """Deleting this person or group would erase who did what, or lock people out."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def refuse_user_deletion(sender, instance, **kwargs) -> None:
    """``pre_delete`` of users: someone who made history is deactivated, never deleted (the
    history rows would lose their name: simple-history sets them to NULL)."""
    rows = history_rows_by(instance)
    if rows:
        raise AttributionProtected(
            f"{instance.get_username()} made {rows:,} recorded changes; deleting them would "
            "erase their name from the history. Deactivate them instead."
        )


def refuse_group_deletion(sender, instance, **kwargs) -> None:
    """``pre_delete`` of groups: the ones the review rules depend on stay."""
    if instance.pk in protected_group_ids():
        raise AttributionProtected(
            f"The group “{instance.name}” gives its members rights the review rules ask for "
            "(deciding or overseeing proposals); deleting it would lock them out. Remove "
            "people from it instead."
        )


# --------------------------------------------------------------------------- names


def display_name(user: Any, default: str = "the system") -> str:
    """How a person is named on pages and in emails: the display name they chose (their full
    name), else their username; ``default`` for no one (a change the system made).

    Templates use the same rule as the ``display_name`` filter (``{% load people %}``).
    """
    if user is None:
        return default
    return user.get_full_name() or user.get_username()
