"""The public pages under HTTP caching (catalog/page_cache.py): validators and 304 for anonymous
readers, whole pages from the shared cache under the catalog version, personal pages never
shared, and no stale answer after any kind of write."""

from __future__ import annotations

import zlib

import pytest
from django.core.cache import cache
from django.test import Client

from catalog import services
from catalog.imports.batches import import_batch_revert
from catalog.models import ImportBatch, Mitigation, SourceDocument, Taxonomy
from review import workflow
from review.models import ProposalKind
from tests.factories import place
from tests.review.conftest import OTHER_RECORD, RECORD, new_proposal, node
from tests.spreadsheets import CATALOG_BASE, import_one, write_csv

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/about/",
    "/mitigations/",
    "/mitigations/?source=NIST2024&status=active&status=retired",
    "/mitigations/?q=red+team",
    "/mitigations/?airm-preliminary=3&lifecycle=deploy&sort=name",
    f"/mitigations/A{RECORD}/",
    f"/mitigations/A{OTHER_RECORD}/",
    "/coverage/",
    "/coverage/?by=lifecycle&depth=2",
    "/taxonomies/",
    "/taxonomies/airm-preliminary/",
    "/sources/",
    "/sources/NIST2024/",
]


def record(number: int = RECORD) -> Mitigation:
    return Mitigation.objects.get(number=number)


def page_texts(client) -> dict[str, str]:
    texts = {}
    for url in PAGES:
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        texts[url] = response.text
    return texts


# --------------------------------------------------------------------------- every kind of write


def _import(tmp_path, admin):
    path = write_csv(
        tmp_path / "new.csv",
        [CATALOG_BASE, ["", "Red team imported at scale", "", "NIST2024", "Testing"]],
    )
    report, batch = import_one(path, actor=admin)
    assert report.ok
    return batch


def _revert(tmp_path, admin):
    (batch,) = ImportBatch.objects.all()
    import_batch_revert(batch=batch, actor=admin, reason="Wrong file")


WRITES = {
    "service edit": lambda **_: services.mitigation_update(
        mitigation=record(), data={"name": "Renamed red team exercise"}, actor=None, reason="T"
    ),
    "classification change": lambda **_: services.mitigation_reclassify(
        mitigation=record(),
        taxonomy=Taxonomy.objects.get(slug="airm-preliminary"),
        placements=place(node("4.1")),
        actor=None,
        reason="T",
    ),
    "import": lambda tmp_path, admin, **_: _import(tmp_path, admin),
    "revert": lambda tmp_path, admin, **_: _revert(tmp_path, admin),
    "proposal approval": lambda contributor, curator, **_: workflow.proposal_approve(
        proposal=new_proposal(contributor, kind=ProposalKind.EDIT), actor=curator
    ),
    "retire": lambda **_: services.mitigation_retire(mitigation=record(), actor=None, reason="T"),
    "merge": lambda **_: services.mitigation_merge(
        mitigation=record(), into=record(OTHER_RECORD), actor=None, reason="T"
    ),
    "source edit": lambda **_: services.source_document_update(
        source=SourceDocument.objects.get(short_ref="NIST2024"),
        data={"title": "A retitled framework"},
        actor=None,
        reason="T",
    ),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_no_page_is_stale_after_a_write(write, client, tmp_path, admin, contributor, curator):
    """Every public page, kept before the write, answers after it exactly as a page computed
    afresh (the cache emptied) does; and the write did change what some page shows."""
    if write == "revert":
        _import(tmp_path, admin)
    before = page_texts(client)
    assert page_texts(client) == before  # now served from the cache
    WRITES[write](tmp_path=tmp_path, admin=admin, contributor=contributor, curator=curator)
    after = page_texts(client)
    cache.clear()
    fresh = page_texts(client)
    assert [url for url in PAGES if fresh[url] != after[url]] == []
    assert after != before


def test_a_signed_in_reader_sees_a_write_at_once(client_for, curator):
    reader = client_for(curator)
    assert "Renamed red team exercise" not in reader.get("/mitigations/?q=red").text
    services.mitigation_update(
        mitigation=record(), data={"name": "Renamed red team exercise"}, actor=None, reason="T"
    )
    assert "Renamed red team exercise" in reader.get("/mitigations/?q=red").text


def test_a_new_proposal_shows_on_the_kept_record_page(client, contributor):
    url = f"/mitigations/A{RECORD}/"
    before = client.get(url).text
    new_proposal(contributor, kind=ProposalKind.EDIT)
    after = client.get(url).text
    assert after != before
    cache.clear()
    assert client.get(url).text == after


# --------------------------------------------------------------------------- HTTP


@pytest.mark.parametrize("url", PAGES)
def test_an_anonymous_answer_carries_validators_and_may_be_shared(client, url):
    response = client.get(url, follow=True)
    assert response["ETag"].startswith('"')
    assert response["Last-Modified"]
    control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert control == {"public", "max-age=60"}
    assert "Cookie" in response["Vary"]
    assert not response.cookies


def test_a_kept_page_is_served_byte_for_byte_and_kept_compressed(client):
    first = client.get("/mitigations/")
    again = client.get("/mitigations/")
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    (kept,) = [
        value for key, value in _stored_pages() if zlib.decompress(value[0]) == first.content
    ]
    assert len(kept[0]) < len(first.content) / 2


def _stored_pages():
    """The pages kept in the database cache (the default without REDIS_URL), by their keys."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM airm_cache")
        keys = [row[0] for row in cursor.fetchall()]
    for key in keys:
        if ":page:" in key:
            raw = key.split(":", 2)[2]  # without the prefix and version Django adds
            yield key, cache.get(raw)


def test_an_unchanged_page_is_not_sent_again(client, django_assert_num_queries):
    first = client.get("/mitigations/")
    with django_assert_num_queries(1):  # the version
        response = client.get("/mitigations/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert response.status_code == 304
    assert response["ETag"] == first["ETag"]
    assert response.content == b""
    with django_assert_num_queries(1):
        response = client.get("/mitigations/", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert response.status_code == 304


def test_a_record_page_is_validated_by_the_version_and_the_proposals(
    client, contributor, django_assert_num_queries
):
    url = f"/mitigations/A{RECORD}/"
    first = client.get(url)
    with django_assert_num_queries(2):  # the version, the proposals' token
        assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    new_proposal(contributor, kind=ProposalKind.EDIT)
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_a_write_changes_the_validators(client):
    first = client.get("/coverage/")
    services.mitigation_retire(mitigation=record(), actor=None, reason="T")
    response = client.get("/coverage/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert response.status_code == 200
    assert response["ETag"] != first["ETag"]


def test_each_address_has_its_own_etag(client):
    assert client.get("/mitigations/")["ETag"] != client.get("/mitigations/?page=2")["ETag"]


def test_an_invalid_list_is_not_kept(client, django_assert_max_num_queries):
    assert client.get("/mitigations/?year_min=abc").status_code == 400
    response = client.get("/mitigations/?year_min=abc")
    assert response.status_code == 400
    assert "Year from (year_min)" in response.text


def test_a_signed_in_reader_gets_a_private_page_without_validators(client_for, curator):
    anonymous, reader = Client(), client_for(curator)
    anonymous.get("/mitigations/")  # kept for anonymous readers
    response = reader.get("/mitigations/")
    assert "Sign out" in response.text
    assert "ETag" not in response
    control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert control == {"private", "no-cache"}
    assert "Cookie" in response["Vary"]
    assert "Sign out" not in anonymous.get("/mitigations/").text


def test_a_reader_with_a_session_or_messages_is_not_given_the_shared_copy(client):
    client.get("/mitigations/")
    client.cookies["messages"] = "something"
    response = client.get("/mitigations/")
    assert "ETag" not in response
    assert "private" in response["Cache-Control"]
