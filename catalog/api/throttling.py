"""Throttles whose rates are read from the settings on every request (so tests and
deployments can change them), through the default cache. An empty rate turns one off."""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class AnonymousThrottle(AnonRateThrottle):
    """Anonymous clients, per address: ``API_THROTTLE_ANON`` (e.g. ``"120/minute"``)."""

    def get_rate(self):
        return settings.API_THROTTLE_ANON or None


class UserThrottle(UserRateThrottle):
    """Signed-in users, per account: ``API_THROTTLE_USER``. Anonymous clients are left to
    :class:`AnonymousThrottle` (DRF's user throttle would count them by address again)."""

    def get_rate(self):
        return settings.API_THROTTLE_USER or None

    def allow_request(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return True
        return super().allow_request(request, view)
