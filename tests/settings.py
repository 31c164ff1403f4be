"""The settings the test suite runs with: the site's own (``airm_site.settings``), in the
development mode ``make run`` uses unless the environment says otherwise.

pytest names this module (``DJANGO_SETTINGS_MODULE`` in pyproject.toml), so a bare ``pytest``
works without ``DEBUG=1`` in the environment. Production is untouched: ``airm_site.settings``
still refuses to start without a ``SECRET_KEY`` when ``DEBUG`` is off, and the tests of the
production settings run ``manage.py`` with ``airm_site.settings`` and ``DEBUG=0``.
"""

import os

os.environ.setdefault("DEBUG", "1")

from airm_site.settings import *  # noqa: F403

# The database cache checks whether to cull on one write in MAX_ENTRIES / 100 (airm_site/cache
# .py); below 200 that is every write, as in Django's own backend, so the statements a page
# sends are the same in every test whatever ran before it (tests/airm_site/test_cache.py
# checks the one-in-N counting with its own settings).
if CACHES["default"]["BACKEND"] == "airm_site.cache.DatabaseCache":  # noqa: F405
    CACHES["default"]["OPTIONS"] = {"MAX_ENTRIES": 150}  # noqa: F405
