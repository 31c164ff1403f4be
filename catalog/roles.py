"""The roles of the site: contributors are signed-in users, curators a group, admins staff.

They live in `catalog` because both apps need them and `catalog` never imports `review`.
"""

CURATORS_GROUP = "Curators"


def is_curator(user) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=CURATORS_GROUP).exists()
