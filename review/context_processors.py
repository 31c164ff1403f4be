from django.utils.functional import SimpleLazyObject

from .permissions import request_user_is_curator


def roles(request):
    """``review_is_curator`` for the navigation; asked of the database only if a page uses it."""
    return {"review_is_curator": SimpleLazyObject(lambda: request_user_is_curator(request))}
