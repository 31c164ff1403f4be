"""Fixtures of the API tests: throttling off unless a test turns it on, an empty cache."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _no_throttling(settings):
    """The API's throttles count requests in the cache; each test starts uncounted."""
    settings.API_THROTTLE_ANON = ""
    settings.API_THROTTLE_USER = ""
    cache.clear()
    yield
    cache.clear()
