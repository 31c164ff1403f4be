"""Shared fixtures: the personas of the site, and the reference and demo data.

The test database is created once per session and filled, through the real loader, with the
reference data and the demo content (``make run``'s database). Tests run inside a transaction
that is rolled back, so each one starts from that same state.

Tests that need real transactions (a live server for the browser, two connections racing) use
``@pytest.mark.django_db(transaction=True)`` or ``live_server``: the flush at their end empties
the tables, and ``_session_data_after_flush`` restores the session's data before each of them.
pytest-django runs those tests after all the others.
"""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connections
from django.test import Client

from catalog.reference_data import load_reference_data
from catalog.roles import CURATORS_GROUP

PASSWORD = "correct-horse-battery-staple"

PERSONAS = ("anonymous", "contributor", "other_contributor", "curator", "other_curator", "admin")


def _user(django_user_model, username, *, curator=False, admin=False):
    user = django_user_model.objects.create_user(
        username=username,
        email=f"{username}@example.org",
        password=PASSWORD,
        first_name=username.split("-")[0].title(),
        is_staff=admin,
        is_superuser=admin,
    )
    if curator:
        user.groups.add(Group.objects.get_or_create(name=CURATORS_GROUP)[0])
    # A confirmed address, as after following the sign-up link (django-allauth).
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.fixture
def contributor(db, django_user_model):
    return _user(django_user_model, "cora-contributor")


@pytest.fixture
def other_contributor(db, django_user_model):
    return _user(django_user_model, "otto-contributor")


@pytest.fixture
def curator(db, django_user_model):
    return _user(django_user_model, "cecil-curator", curator=True)


@pytest.fixture
def other_curator(db, django_user_model):
    return _user(django_user_model, "olga-curator", curator=True)


@pytest.fixture
def admin(db, django_user_model):
    return _user(django_user_model, "ada-admin", admin=True)


@pytest.fixture
def anonymous():
    return None


@pytest.fixture
def client_for():
    """``client_for(user)``: a test client signed in as ``user`` (anonymous for ``None``)."""

    def make(user):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture(params=PERSONAS)
def persona(request):
    """Each persona in turn, as ``(name, user or None)``."""
    return request.param, request.getfixturevalue(request.param)


@pytest.fixture(autouse=True, scope="session")
def _static_files_by_their_plain_names():
    """Pages render static URLs without collectstatic's manifest, and WhiteNoise finds the
    files where development finds them (production's hashed names need ``collectstatic``
    first; tests/airm_site/test_serving.py runs it under gunicorn)."""
    from django.conf import settings
    from django.test import override_settings

    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(
        STORAGES={**settings.STORAGES, "staticfiles": plain},
        WHITENOISE_AUTOREFRESH=True,
        WHITENOISE_USE_FINDERS=True,
    ):
        yield


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite, the test database is a file (not Django's in-memory default), so that real
    processes the tests start, a worker or app servers, share it as they would in production."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})
        if not database["TEST"].get("NAME"):
            database["TEST"]["NAME"] = str(tmp_path_factory.mktemp("database") / "test.sqlite3")


@pytest.fixture
def run_tasks(db):
    """``run_tasks()``: run every background task waiting in the database, in this process,
    with django-tasks-db's own worker code; returns how many ran (see tests/tasks.py)."""
    from tests.tasks import run_pending_tasks

    return run_pending_tasks


@pytest.fixture
def worker(transactional_db, tmp_path, settings):
    """``worker(**environment)``: start django-tasks-db's worker, ``manage.py db_worker``, as a
    real process on the test database (stopped at the end of the test)."""
    import sys

    from tests import servers

    started = []

    def start(**extra):
        env = servers.environment(
            database=servers.database_url(connections["default"].settings_dict),
            EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
            IMPORT_UPLOAD_DIR=str(settings.IMPORT_UPLOAD_DIR),
            **extra,
        )
        command = [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.2"]
        process = servers.Process(
            [*command, "--no-startup-delay", "--verbosity", "2"],
            env=env,
            log=tmp_path / f"worker-{len(started)}.log",
        )
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


_SESSION_DATA: dict[str, str] = {}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from django.conf import settings

    # Hashing five demo passwords with the production hasher would take seconds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock():
        load_reference_data(with_demo=True)
        for connection in connections.all():
            _SESSION_DATA[connection.alias] = connection.creation.serialize_db_to_string()


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(
        (marker and marker.kwargs.get("transaction"))
        or {"transactional_db", "live_server"} & set(request.fixturenames)
    )


@pytest.fixture(autouse=True)
def _session_data_after_flush(request):
    """Give a transactional test the session's data back after an earlier one flushed it.

    (pytest-django's ``serialized_rollback`` keeps the data on the connection object, which
    Playwright's greenlet-based sync API swaps for a fresh one, so it is kept here instead.)
    """
    if _is_transactional(request):
        request.getfixturevalue("transactional_db")
        from django.core.cache import cache

        from catalog.models import Taxonomy

        # The cache (a table outside the models) outlives a flush: start each one empty.
        cache.clear()

        if not Taxonomy.objects.exists():
            for alias, data in _SESSION_DATA.items():
                # The flush re-created content types and permissions; the saved data has its own.
                call_command(
                    "flush",
                    database=alias,
                    interactive=False,
                    inhibit_post_migrate=True,
                    verbosity=0,
                )
                connection = connections[alias]
                connection.creation.deserialize_db_from_string(data)
                # Rows came back with their primary keys: move the sequences past them.
                reset = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
                with connection.cursor() as cursor:
                    for statement in reset:
                        cursor.execute(statement)
    yield


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``postgres_only`` when the suite runs on another database."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL to a postgres:// URL)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)
