from django.utils.functional import SimpleLazyObject

from catalog.roles import is_curator


def roles(request):
    """``review_is_curator`` for the navigation; asked of the database only if a page uses it."""
    user = getattr(request, "user", None)
    return {"review_is_curator": SimpleLazyObject(lambda: is_curator(user))}
