"""The release pages, downloads, citations, the cut page, feeds and the API."""

import csv
import io
import json
import zipfile

import pytest
from defusedxml import ElementTree as ET
from django.urls import reverse

from catalog import services
from catalog.models import Mitigation
from catalog.releases import services as releases
from catalog.releases.models import Release

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def release(curator):
    return releases.cut_release(version="2026.1", notes="The first release", actor=curator)


@pytest.fixture
def two_releases(release, curator):
    services.mitigation_update(
        mitigation=Mitigation.objects.get(number=9001),
        data={"name": "A better name"},
        actor=curator,
        reason="Clearer",
    )
    services.mitigation_retire(
        mitigation=Mitigation.objects.get(number=9003), actor=curator, reason="Duplicate"
    )
    newer = releases.cut_release(version="2026.2", actor=curator)
    return release, newer


def test_the_list_and_the_page_of_a_release(client, release):
    page = client.get("/releases/")
    assert page.status_code == 200
    assert b"2026.1" in page.content and b"The first release" in page.content
    assert b'type="application/atom+xml" title="Data releases"' in page.content
    detail = client.get("/releases/2026.1/")
    assert detail.status_code == 200
    text = detail.content.decode()
    assert "datapackage.zip" in text and "workbook.xlsx" in text
    assert release.files["data/mitigations.csv"]["sha256"] in text
    assert "Copy citation" in text and "@misc{airm-release-2026.1" in text
    assert "CC BY 4.0" in text and "MIT AI Risk Initiative" in text


def test_an_unknown_or_unfinished_release_is_not_found(client, curator):
    assert client.get("/releases/2099.1/").status_code == 404
    building = releases.release_create(version="2026.9", actor=curator)
    assert building.status == Release.Status.BUILDING
    assert client.get("/releases/2026.9/").status_code == 404
    assert client.get("/releases/2026.9/datapackage.zip").status_code == 404


def test_the_data_package_downloads_as_a_zip(client, release):
    response = client.get("/releases/2026.1/datapackage.zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "airm-curator-2026.1.zip" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    descriptor = json.loads(archive.read("datapackage.json"))
    assert descriptor["version"] == "2026.1"
    assert descriptor["homepage"] == "http://testserver/releases/2026.1/"
    assert "Retrieved" in descriptor["citation"]
    rows = list(csv.DictReader(io.StringIO(archive.read("data/mitigations.csv").decode())))
    assert len(rows) == release.counts["total"]


def test_the_workbook_downloads(client, release):
    response = client.get("/releases/2026.1/workbook.xlsx")
    assert response.status_code == 200
    assert "airm-curator-2026.1.xlsx" in response["Content-Disposition"]
    assert b"".join(response.streaming_content)[:2] == b"PK"


@pytest.mark.parametrize(
    "fmt, marker", [("bib", "@misc{"), ("ris", "TY  - DATA"), ("json", '"type": "dataset"')]
)
def test_a_release_is_cited_in_every_format(client, release, fmt, marker):
    response = client.get(f"/releases/2026.1/cite.{fmt}")
    assert response.status_code == 200
    text = response.content.decode()
    assert marker in text and "2026.1" in text
    assert "attachment" in response["Content-Disposition"]


# --------------------------------------------------------------------------- cutting


def test_anonymous_people_are_sent_to_sign_in(client):
    response = client.get("/releases/new/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    response = client.post("/releases/new/", {"notes": "x"})
    assert response.status_code == 302
    assert not Release.objects.exists()


def test_contributors_cannot_cut_a_release(client_for, contributor):
    client = client_for(contributor)
    assert client.get("/releases/new/").status_code == 403
    assert client.post("/releases/new/", {"notes": "x"}).status_code == 403
    assert not Release.objects.exists()


def test_a_curator_cuts_a_release_in_the_background(client_for, curator, run_tasks):
    client = client_for(curator)
    form = client.get("/releases/new/")
    assert form.status_code == 200 and b"Cut release" in form.content
    response = client.post("/releases/new/", {"version": "", "notes": "Cut from the page"})
    assert response.status_code == 302 and "/jobs/" in response["Location"]
    release = Release.objects.get()
    assert release.status == Release.Status.BUILDING and release.notes == "Cut from the page"
    assert client.get("/releases/").content.count(release.version.encode()) >= 1
    assert run_tasks() == 1
    release.refresh_from_db()
    assert release.is_published and release.counts["total"] == Mitigation.objects.count()
    job_page = client.get(response["Location"])
    assert f"Release {release.version} is published".encode() in job_page.content


def test_the_cut_page_names_a_bad_version(client_for, curator, release):
    client = client_for(curator)
    response = client.post("/releases/new/", {"version": "2026.1"})
    assert response.status_code == 400
    assert b"Release 2026.1 exists already." in response.content
    response = client.post("/releases/new/", {"version": "next"})
    assert response.status_code == 400 and b"Starts with a digit" in response.content
    assert Release.objects.count() == 1


# --------------------------------------------------------------------------- changes


def test_the_changes_page_counts_and_lists_the_changes(client, two_releases):
    response = client.get("/releases/2026.2/changes/", {"since": "2026.1"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "Edited: 1" in text and "Retired: 1" in text and "Added: 0" in text
    assert "A better name" in text and "A9003" in text
    only = client.get("/releases/2026.2/changes/", {"since": "2026.1", "kind": "retired"})
    assert "A9003" in only.content.decode() and "A better name" not in only.content.decode()
    # Without since: the release before.
    assert "Edited: 1" in client.get("/releases/2026.2/changes/").content.decode()


def test_the_changes_as_json_and_csv(client, two_releases):
    response = client.get("/releases/2026.2/changes.json", {"since": "2026.1"})
    assert response.status_code == 200
    document = json.loads(b"".join(response.streaming_content))
    assert document["counts"]["edited"] == 1 and document["counts"]["retired"] == 1
    by_id = {change["id"]: change for change in document["changes"]}
    assert by_id["A9001"]["fields"]["name"]["new"] == "A better name"
    assert by_id["A9003"]["status"] == {"old": "active", "new": "retired"}
    response = client.get("/releases/2026.2/changes.csv", {"since": "2026.1"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["id", "name", "change", "field or taxonomy", "old", "new"]
    assert ["A9003", rows[2][1], "retired", "status", "active", "retired"] in rows[1:]


@pytest.mark.parametrize(
    "query, status, message",
    [
        ({"since": "1999.1"}, 404, "no published release"),
        ({"since": "2026.2"}, 400, "older"),
        ({"since": "x" * 41}, 400, "40 characters"),
        ({"since": "2026.1", "kind": "everything"}, 400, "kind"),
    ],
)
def test_a_bad_since_is_named(client, two_releases, query, status, message):
    response = client.get("/releases/2026.2/changes/", query)
    assert response.status_code == status
    assert message in response.content.decode()


def test_a_newer_since_is_refused_in_the_downloads_too(client, two_releases):
    response = client.get("/releases/2026.1/changes.json", {"since": "2026.2"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["parameter"] == "since"
    response = client.get("/releases/2026.1/changes.csv", {"since": "nope"})
    assert response.status_code == 404 and response.json()["errors"][0]["parameter"] == "since"


def test_the_first_release_has_nothing_to_compare_with(client, release):
    response = client.get("/releases/2026.1/changes/")
    assert response.status_code == 400 and "first one" in response.content.decode()


# --------------------------------------------------------------------------- the record page


def test_a_record_page_names_its_releases_and_cites_the_latest(client, two_releases):
    text = client.get("/mitigations/A9001/").content.decode()
    assert "In data releases" in text
    assert 'href="/releases/2026.2/"' in text and 'href="/releases/2026.1/"' in text
    assert "release 2026.2" in text and "Retrieved" in text


def test_a_record_in_no_release_shows_no_release_panel(client):
    assert "In data releases" not in client.get("/mitigations/A9001/").content.decode()


# --------------------------------------------------------------------------- feeds


def test_the_releases_feed(client, two_releases):
    response = client.get("/releases/feed/")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    titles = [entry.findtext(f"{ATOM}title") for entry in root.findall(f"{ATOM}entry")]
    assert titles == ["Release 2026.2", "Release 2026.1"]


def test_releases_appear_in_the_changes_feed_but_not_a_narrowed_one(client, release):
    titles = [
        entry.findtext(f"{ATOM}title")
        for entry in ET.fromstring(client.get("/feed/").content).findall(f"{ATOM}entry")
    ]
    assert "Release 2026.1 published" in titles
    narrowed = client.get("/feed/", {"record": "A9001"}).content.decode()
    assert "Release 2026.1" not in narrowed


def test_the_home_page_advertises_the_releases_feed(client):
    text = client.get("/").content.decode()
    assert (
        f'type="application/atom+xml" title="Data releases" href="{reverse("releases:feed")}"'
        in text
    )


# --------------------------------------------------------------------------- the API


def test_the_api_lists_and_details_releases(client, two_releases):
    listing = client.get("/api/v1/releases/")
    assert listing.status_code == 200
    data = listing.json()
    assert [item["version"] for item in data] == ["2026.2", "2026.1"]
    assert data[0]["links"]["changes"].endswith("/releases/2026.2/changes.json?since=2026.1")
    assert data[1]["links"]["changes"] is None
    detail = client.get("/api/v1/releases/2026.1/").json()
    assert detail["licence"] == "CC-BY-4.0"
    assert {file["path"] for file in detail["files"]} >= {"data/mitigations.csv"}
    assert detail["links"]["package"] == "http://testserver/releases/2026.1/datapackage.zip"
    missing = client.get("/api/v1/releases/2099.1/")
    assert missing.status_code == 404 and missing.json()["errors"][0]["parameter"] == "version"


def test_a_new_release_changes_the_api_etag(client, curator):
    first = client.get("/api/v1/releases/")
    releases.cut_release(actor=curator)
    again = client.get("/api/v1/releases/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200 and len(again.json()) == 1


# --------------------------------------------------------------------------- query counts


def test_the_list_costs_the_same_however_many_releases(client, curator, django_assert_num_queries):
    releases.cut_release(actor=curator)
    client.get("/releases/")  # warm the session and caches
    with django_assert_num_queries(1):
        client.get("/releases/")
    releases.cut_release(actor=curator)
    releases.cut_release(actor=curator)
    with django_assert_num_queries(1):
        assert client.get("/releases/").content.count(b'<th scope="row"><a href="/releases/') == 3


def test_the_record_panel_costs_one_query_however_many_releases(client, curator):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        with CaptureQueriesContext(connection) as captured:
            client.get("/mitigations/A9001/")
        return len(captured)

    releases.cut_release(actor=curator)
    one = queries()
    releases.cut_release(actor=curator)
    releases.cut_release(actor=curator)
    assert queries() == one
