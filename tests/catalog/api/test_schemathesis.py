"""The API tested by a tool we did not write: Schemathesis reads the live OpenAPI schema at
/api/v1/schema/ and sends every operation its examples and generated requests (valid ones,
and invalid ones that must be refused), checking every answer against the schema: no server
error, documented status codes, content types and headers, response bodies that validate,
invalid data refused with a 4xx, valid data accepted.

It runs against the test database (the reference data and demo content) through the WSGI
application in the test's own thread, so it needs no server and sees the test's data.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from catalog.releases.services import cut_release

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

MAX_EXAMPLES = 25


@pytest.fixture
def api_schema(request, settings):
    # Schemathesis 4.32 renames the running test for its report through ``node._nodeid``,
    # which pytest 9 no longer has (it reads ``nodeid``): give it one to rename.
    request.node._nodeid = request.node.nodeid
    # A published data release, so that the release endpoints answer with one too.
    cut_release(version="2026.1", notes="For Schemathesis")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    # As Django's test client does: a request must not close the test's connection (it
    # holds the transaction every test runs in).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())
        schema.config.generation.update(
            modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            max_examples=MAX_EXAMPLES,
            deterministic=True,
        )
        schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
        yield schema
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_every_operation_conforms_to_the_schema(case):
    if case.meta and case.meta.generation.mode.is_positive and case.query:
        # A cursor is opaque: only the API makes valid ones, so a generated "valid" cursor is
        # refused (400), rightly. Valid cases go without one; invalid ones keep theirs, and
        # test_views pages with real cursors.
        case.query.pop("cursor", None)
    case.call_and_validate()


def test_the_schema_describes_every_endpoint(client):
    paths = client.get("/api/v1/schema/").json()["paths"]
    assert set(paths) == {
        "/api/v1/",
        "/api/v1/coverage/",
        "/api/v1/mitigations/",
        "/api/v1/mitigations/{id}/",
        "/api/v1/mitigations/{id}/history/",
        "/api/v1/sources/",
        "/api/v1/sources/{short_ref}/",
        "/api/v1/taxonomies/",
        "/api/v1/taxonomies/{slug}/",
        "/api/v1/taxonomies/{slug}/nodes/",
        "/api/v1/taxonomies/{slug}/nodes/{code}/",
        "/api/v1/taxonomies/{slug}/tree/",
        "/api/v1/releases/",
        "/api/v1/releases/{version}/",
    }
