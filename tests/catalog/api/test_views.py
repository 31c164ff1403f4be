"""The read API's endpoints (catalog.api.views): what each returns, its errors, paging,
CORS, throttling, and that the list agrees with the public list page record for record."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from catalog import services
from catalog.models import Mitigation, SourceDocument, Taxonomy, TaxonomyNode
from tests.factories import MitigationFactory, SourceDocumentFactory, place

pytestmark = pytest.mark.django_db

API = "/api/v1/"
LIST = "/api/v1/mitigations/"


def node(slug, code):
    return TaxonomyNode.objects.get(taxonomy__slug=slug, code=code)


def api_ids(client, query: str) -> tuple[int, list[str]]:
    """The count and every public ID of the API list for ``query``, following ``next``."""
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200, response.json()
    body = response.json()
    count, ids = body["count"], [item["id"] for item in body["results"]]
    pages = 1
    while body["next"]:
        body = client.get(body["next"]).json()
        assert body["count"] == count
        ids += [item["id"] for item in body["results"]]
        pages += 1
        assert pages < 100
    return count, ids


def html_ids(client, query: str) -> tuple[int, list[str]]:
    """The count and every public ID of the public list page for ``query``, page by page."""
    ids, page, total = [], 1, None
    while True:
        response = client.get(f"/mitigations/?{query}&page={page}")
        assert response.status_code == 200
        browse = response.context["browse"]
        total = browse.total
        ids += [m.public_id for m in browse.page]
        if not browse.page.has_next():
            return total, ids
        page += 1


@pytest.fixture
def varied_catalog(curator):
    """The demo catalog plus what makes orders interesting: equal names, retired and merged
    records, recent edits, a second page in every sort."""
    source = SourceDocument.objects.get(short_ref="NIST2024")
    for n in range(12):
        MitigationFactory(
            name="Same name for ties",
            source=source,
            section_path="Tied section",
            definition=f"Model audit number {n}",
            placements=place(node("airm-preliminary", "3.1"), node("lifecycle", "deploy")),
        )
    first, second, third = Mitigation.objects.order_by("number")[:3]
    services.mitigation_retire(mitigation=first, actor=curator, reason="Out of scope")
    services.mitigation_merge(mitigation=second, into=third, actor=curator, reason="Same")
    for mitigation in Mitigation.objects.order_by("-number")[:5]:
        services.mitigation_update(
            mitigation=mitigation,
            data={"definition": mitigation.definition + " Edited."},
            actor=curator,
            reason="Clarify",
        )


AGREEMENT_QUERIES = [
    "",
    "per_page=10",
    "airm-preliminary=3&per_page=10",
    "airm-preliminary=3.1&lifecycle=deploy&per_page=10",
    "airm-preliminary=1&airm-preliminary=4&sort=name&per_page=10",
    "source=NIST2024&sort=name&per_page=10",
    "source=NIST2024&source=UK+Government2023&sort=source&per_page=10",
    "doc_type=government&year_min=2024&per_page=10",
    "year_min=2023&year_max=2024&sort=changed&per_page=10",
    "q=model&per_page=10",
    "q=model&sort=name&per_page=10",
    "q=audit+-certificates&sort=relevance&per_page=10",
    "status=active&status=retired&status=merged&sort=id&per_page=10",
    "status=retired&status=merged",
    "airm-draft=1&actor=developer&sort=source&per_page=25",
    "sort=changed&per_page=10",
    "q=A9003",
    "year_min=2099",
]


@pytest.mark.usefixtures("varied_catalog")
@pytest.mark.parametrize("query", AGREEMENT_QUERIES)
def test_the_api_and_the_list_page_agree_on_count_and_order(client, query):
    html_count, html_order = html_ids(client, query)
    api_count, api_order = api_ids(client, query)
    assert api_count == html_count
    assert api_order == html_order
    assert len(set(api_order)) == len(api_order)  # no record twice across pages


class TestMitigationList:
    def test_answers_the_active_records_by_public_id_with_a_count(self, client):
        body = client.get(LIST).json()
        assert body["count"] == Mitigation.objects.active().count()
        assert body["previous"] is None
        ids = [item["id"] for item in body["results"]]
        assert ids == [m.public_id for m in Mitigation.objects.active().order_by("number")[:25]]

    def test_a_record_carries_its_classifications_source_status_and_links(self, client):
        body = client.get(LIST, {"q": "Adversarial training"}).json()
        item = next(i for i in body["results"] if i["name"] == "Adversarial training")
        codes = {(c["taxonomy"], c["code"]) for c in item["classifications"]}
        assert ("airm-preliminary", "2.3") in codes
        assert ("airm-draft", "1.1.2") in codes
        assert item["source"]["short_ref"] == "Gipiškis2024"
        assert item["status"] == "active"
        assert item["links"]["html"].endswith(f"/mitigations/{item['id']}/")

    def test_every_page_links_to_the_next_and_back(self, client):
        first = client.get(LIST, {"per_page": 10}).json()
        second = client.get(first["next"]).json()
        assert second["previous"]
        back = client.get(second["previous"]).json()
        assert [i["id"] for i in back["results"]] == [i["id"] for i in first["results"]]
        assert back["previous"] is None
        assert back["next"] == first["next"]

    def test_paging_backwards_from_the_last_page_meets_the_first(self, client):
        _, forward = api_ids(client, "per_page=10&sort=name")
        body = client.get(LIST, {"per_page": 10, "sort": "name"}).json()
        while body["next"]:
            body = client.get(body["next"]).json()
        backward = [i["id"] for i in body["results"]]
        while body["previous"]:
            body = client.get(body["previous"]).json()
            backward = [i["id"] for i in body["results"]] + backward
        assert backward == forward

    def test_a_cursor_keeps_its_place_when_records_are_added_in_front(self, client):
        first = client.get(LIST, {"per_page": 10, "sort": "name"}).json()
        after_first_page = client.get(first["next"]).json()
        MitigationFactory(name="AAA comes first now")
        again = client.get(first["next"]).json()
        assert [i["id"] for i in again["results"]] == [i["id"] for i in after_first_page["results"]]

    def test_the_link_header_carries_next_and_previous(self, client):
        first = client.get(LIST, {"per_page": 10})
        second = client.get(first.json()["next"])
        assert f'<{first.json()["next"]}>; rel="next"' in first["Link"]
        assert 'rel="prev"' in second["Link"]

    def test_next_links_keep_every_filter(self, client):
        body = client.get(LIST, {"per_page": 10, "sort": "name", "status": "active"}).json()
        query = parse_qs(urlsplit(body["next"]).query)
        assert query["per_page"] == ["10"]
        assert query["sort"] == ["name"]
        assert query["status"] == ["active"]
        assert query["cursor"]

    @pytest.mark.parametrize(
        "cursor", ["not-a-cursor", "eyJ9", "eyJzIjoiaWQiLCJkIjoibiIsImsiOlsieCJdfQ", "x" * 3000]
    )
    def test_a_cursor_it_did_not_make_is_a_400_naming_the_cursor(self, client, cursor):
        response = client.get(LIST, {"cursor": cursor})
        assert response.status_code == 400
        assert response.json()["errors"][0]["parameter"] == "cursor"

    def test_a_cursor_of_another_sort_is_refused(self, client):
        by_name = client.get(LIST, {"per_page": 10, "sort": "name"}).json()["next"]
        cursor = parse_qs(urlsplit(by_name).query)["cursor"][0]
        response = client.get(LIST, {"cursor": cursor, "sort": "id"})
        assert response.status_code == 400
        assert "another sort order" in response.json()["errors"][0]["message"]

    @pytest.mark.parametrize(
        ("query", "parameter"),
        [
            ({"year_min": "last year"}, "year_min"),
            ({"airm-preliminary": "9.9"}, "airm-preliminary"),
            ({"source": "Nobody2099"}, "source"),
            ({"sort": "colour"}, "sort"),
            ({"per_page": "1000"}, "per_page"),
            ({"status": "deleted"}, "status"),
            ({"page": "2"}, "page"),
            ({"sort": ""}, "sort"),
            ({"q": "nul\x00byte"}, "q"),
        ],
    )
    def test_an_unusable_parameter_is_a_json_400_that_names_it(self, client, query, parameter):
        response = client.get(LIST, query)
        assert response.status_code == 400
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert body["status"] == 400
        assert [error["parameter"] for error in body["errors"]] == [parameter]
        assert body["detail"].startswith(f"{parameter}: ")

    def test_unknown_parameters_are_ignored_as_on_the_list_page(self, client):
        assert client.get(LIST, {"utm_source": "mail"}).status_code == 200

    def test_the_query_count_does_not_grow_with_the_page_or_the_catalog(
        self, client, django_assert_num_queries
    ):
        # The catalog version; the page; its classifications; and the two pieces kept under
        # the version and the filter state (shared with the HTML list): the FilterSet's choices
        # (taxonomies, nodes, sources) and the count. Cold, each piece is a cache read, its own
        # queries and the database cache's write (a count of its table and an upsert, in a
        # savepoint); warm, a cache read.
        # Each answer is kept whole for anonymous readers too (a read and a write more, cold).
        cold, warm = 17 + 5, 5 + 5
        with django_assert_num_queries(cold):
            client.get(LIST, {"per_page": 100})
        MitigationFactory.create_batch(30, placements=place(node("airm-preliminary", "3.1")))
        with django_assert_num_queries(cold):
            response = client.get(LIST, {"per_page": 100, "airm-preliminary": "3"})
        with django_assert_num_queries(warm):  # another page size of the same filters
            again = client.get(LIST, {"per_page": 10, "airm-preliminary": "3"})
        assert again.json()["count"] == response.json()["count"] > 30
        with django_assert_num_queries(2):  # the same question again: the version, the answer
            assert (
                client.get(LIST, {"per_page": 10, "airm-preliminary": "3"}).json() == again.json()
            )

    def test_text_comes_back_as_it_was_written(self, client):
        mitigation = MitigationFactory(name="<script>alert(1)</script> & more")
        body = client.get(reverse("api:mitigation-detail", args=[mitigation.public_id])).json()
        assert body["name"] == "<script>alert(1)</script> & more"


class TestMitigationDetail:
    def test_shows_every_classification_with_code_name_and_reasoning(self, client):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        body = client.get(f"{LIST}{mitigation.public_id}/").json()
        assert body["id"] == mitigation.public_id
        expected = {
            (c.taxonomy.slug, c.node.code, c.node.name, c.reasoning)
            for c in mitigation.classifications.select_related("taxonomy", "node")
        }
        assert {
            (c["taxonomy"], c["code"], c["name"], c["reasoning"]) for c in body["classifications"]
        } == expected
        assert len(expected) == 5
        prelim = next(c for c in body["classifications"] if c["taxonomy"] == "airm-preliminary")
        assert prelim["path"] == ["2", "2.3"]
        assert prelim["reasoning"]

    def test_links_lead_to_the_page_history_source_and_citations(self, client):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        links = client.get(f"{LIST}{mitigation.public_id}/").json()["links"]
        assert client.get(links["history"]).status_code == 200
        assert client.get(links["source"]).json()["short_ref"] == "Gipiškis2024"
        assert client.get(links["html"]).status_code == 200
        assert client.get(links["citation"]["bibtex"]).status_code == 200
        assert links["merged_into"] is None

    def test_a_merged_record_names_the_record_it_went_into(self, client, curator):
        target, duplicate = Mitigation.objects.order_by("number")[:2]
        services.mitigation_merge(mitigation=duplicate, into=target, actor=curator, reason="Same")
        body = client.get(f"{LIST}{duplicate.public_id}/").json()
        assert body["status"] == "merged"
        assert body["merged_into"] == target.public_id
        assert body["status_note"] == "Same"
        assert body["links"]["merged_into"].endswith(f"{LIST}{target.public_id}/")

    def test_a_retired_record_still_answers_with_its_status(self, client, curator):
        mitigation = Mitigation.objects.get(name="Robustness certificates")
        services.mitigation_retire(mitigation=mitigation, actor=curator, reason="Out of scope")
        body = client.get(f"{LIST}{mitigation.public_id}/").json()
        assert (body["status"], body["status_note"]) == ("retired", "Out of scope")

    @pytest.mark.parametrize("form", ["A0{n}", "A{n}_Gipiškis2024", "A00{n}"])
    def test_other_forms_of_the_public_id_redirect_to_the_canonical_address(self, client, form):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        response = client.get(f"{LIST}{form.format(n=mitigation.number)}/")
        assert response.status_code == 301
        assert response["Location"] == f"http://testserver{LIST}{mitigation.public_id}/"

    def test_an_unknown_id_is_a_json_404_naming_the_id(self, client):
        response = client.get(f"{LIST}A0000001/")
        assert response.status_code == 404
        assert response.json()["errors"] == [
            {"parameter": "id", "message": "No mitigation A0000001."}
        ]

    def test_a_record_removed_by_a_revert_is_410_gone(self, client, tmp_path, admin, curator):
        from catalog.imports.batches import import_batch_revert
        from tests.spreadsheets import MIT_MITIGATION_HEADER, import_one, write_csv

        path = write_csv(
            tmp_path / "batch.csv",
            [
                MIT_MITIGATION_HEADER,
                ["A0901_NIST2024", "Created by an import", "", "NIST2024", "3.2"],
            ],
        )
        _, batch = import_one(path, actor=admin)
        assert client.get(f"{LIST}A0901/").status_code == 200
        import_batch_revert(batch=batch, actor=curator, reason="Wrong file")
        response = client.get(f"{LIST}A0901/")
        assert response.status_code == 410
        assert response.json()["errors"][0]["parameter"] == "id"

    def test_three_queries(self, client, django_assert_num_queries):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        # the catalog version, the record, its classifications; for an anonymous reader, the
        # answer kept whole under the version and the address (a cache read, the cache's write)
        url = f"{LIST}{mitigation.public_id}/"
        with django_assert_num_queries(3 + 1 + 4):
            first = client.get(url)
        with django_assert_num_queries(2):  # the version and the kept answer
            again = client.get(url)
        assert again.json() == first.json()
        assert again.headers["ETag"] == first.headers["ETag"]

    def test_a_kept_answer_is_never_served_after_a_write(self, client, curator):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        url = f"{LIST}{mitigation.public_id}/"
        before = client.get(url)
        listed = client.get(LIST, {"q": "adversarial"})
        services.mitigation_update(
            mitigation=mitigation,
            data={"name": "Adversarial training, renamed"},
            actor=curator,
            reason="Clarify",
        )
        after = client.get(url)
        assert after.json()["name"] == "Adversarial training, renamed" != before.json()["name"]
        assert after.headers["ETag"] != before.headers["ETag"]
        names = [row["name"] for row in client.get(LIST, {"q": "adversarial"}).json()["results"]]
        assert "Adversarial training, renamed" in names
        assert "Adversarial training" in [row["name"] for row in listed.json()["results"]]
        assert "Adversarial training" not in names


class TestMitigationHistory:
    def test_lists_who_changed_what_when_and_why_newest_first(self, client, curator):
        mitigation = Mitigation.objects.get(name="Robustness certificates")
        services.mitigation_reclassify(
            mitigation=mitigation,
            taxonomy=Taxonomy.objects.get(slug="airm-preliminary"),
            placements=place(node("airm-preliminary", "2.3")),
            actor=curator,
            reason="Certificates harden the model",
        )
        body = client.get(f"{LIST}{mitigation.public_id}/history/").json()
        assert body["id"] == mitigation.public_id
        latest, *_, first = body["entries"]
        assert latest["who"] == "Cecil"
        assert latest["reason"] == "Certificates harden the model"
        assert {
            "field": "AI Risk Mitigation Taxonomy (preliminary)",
            "old": "3.1 Testing & Auditing",
            "new": "2.3 Model Safety Engineering",
        } in latest["changes"]
        assert first["created"] is True

    def test_an_unknown_id_is_a_404(self, client):
        assert client.get(f"{LIST}A0000001/history/").status_code == 404


class TestTaxonomies:
    def test_lists_the_public_taxonomies_with_their_list_parameter(self, client):
        body = client.get(f"{API}taxonomies/").json()
        slugs = [t["slug"] for t in body]
        assert slugs == [t.slug for t in Taxonomy.objects.exclude(status="retired")]
        prelim = body[0]
        assert prelim["parameter"] == "airm-preliminary"
        assert client.get(prelim["links"]["tree"]).status_code == 200

    def test_nodes_flat_in_tree_order_with_counts_of_active_records(self, client):
        body = client.get(f"{API}taxonomies/airm-preliminary/nodes/").json()
        codes = [n["code"] for n in body["nodes"]]
        assert codes[:3] == ["1", "1.1", "1.2"]
        by_code = {n["code"]: n for n in body["nodes"]}
        assert by_code["3.1"]["parent"] == "3"
        assert by_code["3.1"]["depth"] == 1
        expected = (
            Mitigation.objects.active()
            .filter(
                classifications__taxonomy__slug="airm-preliminary",
                classifications__node__path__startswith="/3/",
            )
            .count()
        )
        assert by_code["3"]["count"] == expected > 0
        assert by_code["X.X"]["catch_all"] is True

    def test_the_tree_nests_every_node_under_its_parent(self, client):
        body = client.get(f"{API}taxonomies/airm-draft/tree/").json()

        def walk(nodes, parent=None):
            for item in nodes:
                assert item["parent"] == parent
                yield item["code"]
                yield from walk(item["children"], item["code"])

        codes = list(walk(body["roots"]))
        assert sorted(codes) == sorted(
            TaxonomyNode.objects.filter(taxonomy__slug="airm-draft").values_list("code", flat=True)
        )

    def test_a_node_links_to_its_filtered_lists_and_feed(self, client):
        body = client.get(f"{API}taxonomies/airm-preliminary/nodes/3.1/").json()
        assert body["name"] == "Testing & Auditing"
        assert body["links"]["mitigations"].endswith(f"{LIST}?airm-preliminary=3.1")
        listed = client.get(body["links"]["mitigations"]).json()
        assert listed["count"] == body["count"]
        assert client.get(body["links"]["feed"]).status_code == 200

    @pytest.mark.parametrize(
        ("url", "parameter"),
        [
            ("taxonomies/nothing/", "slug"),
            ("taxonomies/nothing/nodes/", "slug"),
            ("taxonomies/nothing/tree/", "slug"),
            ("taxonomies/airm-preliminary/nodes/9.9/", "code"),
        ],
    )
    def test_unknown_taxonomies_and_nodes_are_404s_naming_them(self, client, url, parameter):
        response = client.get(f"{API}{url}")
        assert response.status_code == 404
        assert response.json()["errors"][0]["parameter"] == parameter


class TestSources:
    def test_lists_every_source_with_its_active_count(self, client):
        body = client.get(f"{API}sources/").json()
        assert [s["short_ref"] for s in body] == list(
            SourceDocument.objects.order_by("short_ref").values_list("short_ref", flat=True)
        )
        nist = next(s for s in body if s["short_ref"] == "NIST2024")
        active = Mitigation.objects.active().filter(source__short_ref="NIST2024")
        assert nist["active_count"] == active.count()

    @pytest.mark.parametrize("short_ref", ["Gipiškis2024", "UK Government2023", "A/B 2025"])
    def test_a_short_reference_with_any_letters_resolves(self, client, short_ref):
        if not SourceDocument.objects.filter(short_ref=short_ref).exists():
            SourceDocumentFactory(short_ref=short_ref)
        source = SourceDocument.objects.get(short_ref=short_ref)
        url = reverse("api:source-detail", kwargs={"short_ref": short_ref})
        body = client.get(url).json()
        assert body["short_ref"] == short_ref
        assert body["links"]["self"] == f"http://testserver{url}"
        assert body["title"] == source.title

    def test_an_unknown_source_is_a_404(self, client):
        response = client.get(f"{API}sources/Nobody2099/")
        assert response.status_code == 404
        assert response.json()["errors"][0]["parameter"] == "short_ref"

    def test_a_nul_in_the_address_is_a_json_400(self, client):
        response = client.get(f"{API}sources/nul%00byte/")
        assert response.status_code == 400
        assert response.json()["errors"][0]["parameter"] == "path"


class TestCoverage:
    def test_counts_match_the_coverage_page(self, client):
        body = client.get(f"{API}coverage/", {"by": "lifecycle", "depth": "2"}).json()
        chart = client.get("/coverage/", {"by": "lifecycle", "depth": "2"}).context["chart"]
        assert body["total"] == chart.total
        assert [c["value"] for c in body["column_list"]] == [c.param[1] for c in chart.columns]
        assert [(r["code"], r["counts"]) for r in body["row_list"]] == [
            (row.node.code, [cell.count for cell in row.cells]) for row in chart.rows
        ]

    def test_a_depth_beyond_the_taxonomy_shows_all_its_levels(self, client):
        body = client.get(f"{API}coverage/", {"depth": "9"}).json()
        assert body["depth"] == 2
        assert {r["depth"] for r in body["row_list"]} == {0, 1}

    @pytest.mark.parametrize(
        ("query", "parameter"),
        [
            ({"rows": "lifecycle"}, "rows"),
            ({"by": "airm-draft"}, "by"),
            ({"depth": "0"}, "depth"),
            ({"depth": "deep"}, "depth"),
            ({"by": ""}, "by"),
        ],
    )
    def test_an_unusable_parameter_is_a_400_naming_it(self, client, query, parameter):
        response = client.get(f"{API}coverage/", query)
        assert response.status_code == 400
        assert response.json()["errors"][0]["parameter"] == parameter


class TestAcrossTheApi:
    def test_the_root_lists_the_endpoints(self, client):
        body = client.get(API).json()
        for url in body["endpoints"].values():
            assert client.get(url).status_code == 200

    def test_api_redirects_to_the_current_version(self, client):
        assert client.get("/api/").headers["Location"] == API

    def test_an_address_no_endpoint_answers_is_a_json_404(self, client):
        response = client.get(f"{API}nothing/here/")
        assert response.status_code == 404
        assert response.json()["errors"] == [{"parameter": "path", "message": "no such endpoint"}]

    @pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
    def test_nothing_can_be_written(self, client, method, curator):
        client.force_login(curator)
        mitigation = Mitigation.objects.first()
        before = Mitigation.history.count()
        response = getattr(client, method)(f"{LIST}{mitigation.public_id}/", {"name": "x"})
        assert response.status_code == 405
        assert response.json()["status"] == 405
        assert "GET" in response["Allow"]
        assert Mitigation.history.count() == before

    def test_a_browser_asking_for_html_gets_json(self, client):
        response = client.get(LIST, headers={"accept": "text/html"})
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"

    def test_any_origin_may_read(self, client):
        response = client.get(LIST, headers={"origin": "https://elsewhere.example"})
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in response

    def test_a_cors_preflight_allows_get_only(self, client):
        response = client.options(
            LIST,
            headers={
                "origin": "https://elsewhere.example",
                "access-control-request-method": "GET",
            },
        )
        assert response.status_code == 200
        assert response["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"

    def test_the_site_outside_the_api_sends_no_cors_headers(self, client):
        response = client.get("/mitigations/", headers={"origin": "https://elsewhere.example"})
        assert "Access-Control-Allow-Origin" not in response

    def test_anonymous_clients_are_throttled_with_a_json_429(self, client, settings):
        settings.API_THROTTLE_ANON = "3/minute"
        for _ in range(3):
            assert client.get(API).status_code == 200
        response = client.get(LIST)
        assert response.status_code == 429
        assert int(response["Retry-After"]) > 0
        assert response.json()["status"] == 429
        assert client.get("/mitigations/").status_code == 200  # the site is not throttled

    def test_signed_in_users_have_their_own_allowance(self, client, settings, contributor):
        settings.API_THROTTLE_ANON = "1/minute"
        settings.API_THROTTLE_USER = "5/minute"
        client.force_login(contributor)
        for _ in range(5):
            assert client.get(API).status_code == 200
        assert client.get(API).status_code == 429


class TestValidators:
    """ETag and Last-Modified name the catalog's version; a client's current copy is a 304."""

    URLS = [LIST, f"{LIST}?airm-preliminary=3.1", f"{API}taxonomies/", f"{API}coverage/"]

    @pytest.mark.parametrize("url", URLS)
    def test_a_current_copy_is_not_sent_again(self, client, url, django_assert_num_queries):
        first = client.get(url)
        assert first.status_code == 200
        etag = first["ETag"]
        assert etag.startswith('"') and etag.endswith('"')
        with django_assert_num_queries(1):  # the version, nothing else
            again = client.get(url, headers={"if-none-match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again["ETag"] == etag

    def test_every_write_changes_the_etag(self, client, curator):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        url = f"{LIST}{mitigation.public_id}/"
        etag = client.get(url)["ETag"]
        services.mitigation_update(
            mitigation=mitigation, data={"name": "Renamed"}, actor=curator, reason="R"
        )
        response = client.get(url, headers={"if-none-match": etag})
        assert response.status_code == 200
        assert response.json()["name"] == "Renamed"
        assert response["ETag"] != etag

    def test_last_modified_is_the_time_of_the_last_write(self, client, curator):
        from django.utils.http import http_date

        from catalog.version import catalog_version

        services.mitigation_retire(
            mitigation=Mitigation.objects.first(), actor=curator, reason="Out"
        )
        response = client.get(LIST)
        changed_at = catalog_version().changed_at
        assert response["Last-Modified"] == http_date(int(changed_at.timestamp()))
        since = client.get(LIST, headers={"if-modified-since": response["Last-Modified"]})
        assert since.status_code == 304

    def test_errors_carry_no_validators(self, client):
        response = client.get(LIST, {"year_min": "soon"})
        assert response.status_code == 400
        assert "ETag" not in response

    def test_cross_origin_readers_may_read_the_validators(self, client):
        response = client.get(LIST, headers={"origin": "https://elsewhere.example"})
        exposed = response["Access-Control-Expose-Headers"]
        assert "ETag" in exposed and "Last-Modified" in exposed


class TestSchemaAndDocs:
    def test_the_schema_is_openapi_3_json_by_default_and_yaml_on_request(self, client):
        response = client.get(f"{API}schema/")
        assert response.status_code == 200
        assert response.json()["openapi"].startswith("3.")
        yaml = client.get(f"{API}schema/", headers={"accept": "application/vnd.oai.openapi"})
        assert yaml.content.startswith(b"openapi: 3.")

    def test_the_list_parameters_are_the_list_pages_filters(self, client):
        from catalog.filters import MitigationFilterSet

        schema = client.get(f"{API}schema/").json()
        parameters = {p["name"]: p for p in schema["paths"][LIST]["get"]["parameters"]}
        assert set(parameters) == {*MitigationFilterSet().filters, "cursor"}
        codes = parameters["airm-preliminary"]["schema"]["items"]["enum"]
        assert {"3", "3.1", "X.X"} <= set(codes)
        assert "NIST2024" in parameters["source"]["schema"]["items"]["enum"]

    def test_a_new_node_appears_in_the_schema(self, client):
        from tests.factories import TaxonomyNodeFactory

        TaxonomyNodeFactory(
            taxonomy=Taxonomy.objects.get(slug="airm-preliminary"), code="5", name="New"
        )
        schema = client.get(f"{API}schema/").json()
        parameters = {p["name"]: p for p in schema["paths"][LIST]["get"]["parameters"]}
        assert "5" in parameters["airm-preliminary"]["schema"]["items"]["enum"]

    @pytest.mark.parametrize("docs", ["docs/", "redoc/"])
    def test_the_documentation_loads_nothing_from_elsewhere_and_runs_no_inline_script(
        self, client, docs
    ):
        text = client.get(f"{API}{docs}").text
        assert "https://" not in text and "http://" not in text
        assert "<script>" not in text
        assert "<style" not in text
        assert "/static/drf_spectacular_sidecar/" in text

    @pytest.mark.parametrize("docs", ["docs/", "redoc/"])
    def test_the_documentation_may_load_nothing_from_elsewhere(self, client, docs):
        policy = client.get(f"{API}{docs}")["Content-Security-Policy"]
        directives = dict(item.strip().split(" ", 1) for item in policy.split(";"))
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'"
        assert directives["img-src"] == "'self' data:"
        assert directives["connect-src"] == "'self'"

    def test_a_record_page_offers_its_json(self, client):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        text = client.get(mitigation.get_absolute_url()).text
        assert (
            f'<link rel="alternate" type="application/json" title="This record as JSON (the API)"'
            f' href="{LIST}{mitigation.public_id}/">'
        ) in text

    def test_the_list_page_offers_the_same_list_as_json(self, client):
        response = client.get("/mitigations/", {"airm-preliminary": "3.1", "page": "2"})
        assert (
            '<link rel="alternate" type="application/json" title="This list as JSON (the API)"'
            f' href="{LIST}?airm-preliminary=3.1">'
        ) in response.text
