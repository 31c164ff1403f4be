"""The public pages of the catalog."""

import csv
import io
import json

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from catalog import services
from catalog.models import Mitigation, SourceDocument, Taxonomy, TaxonomyNode
from tests.factories import MitigationFactory, place
from tests.html_checks import html_problems
from tests.spreadsheets import csv_text

pytestmark = pytest.mark.django_db


# An anonymous reader's public page (catalog/page_cache.py): kept, it costs the version and
# the cache's look-up (WARM); the first time, those, a look-up of each whole-catalog piece the
# page keeps (catalog.version.cached), the page's own queries, and keeping each piece and the
# page (the database cache's set: a count of its table and an upsert, between a savepoint and
# its release inside the test's transaction).
WARM = 2
KEEP = 4


def cold(own: int, pieces: int = 0) -> int:
    return WARM + pieces + own + KEEP * (pieces + 1)


def top_level_count(response, slug, code):
    for summary in response.context["summaries"]:
        if summary.taxonomy.slug == slug:
            return {item.node.code: item.count for item in summary.top_level}[code]
    raise AssertionError(slug)


def test_home_says_what_the_catalog_is_and_shows_each_taxonomy(client):
    response = client.get(reverse("catalog:home"))
    assert response.status_code == 200
    assert "AI risk mitigations" in response.text
    for name in ("AI Risk Mitigation Taxonomy (preliminary)", "AI lifecycle stage", "Actor"):
        assert name in response.text
    assert "Governance &amp; Oversight Controls" in response.text


def test_home_counts_active_mitigations_in_each_top_level_subtree(client):
    expected = (
        Mitigation.objects.active()
        .filter(
            classifications__node__path__startswith="/2/",
            classifications__taxonomy__slug="airm-preliminary",
        )
        .count()
    )
    response = client.get(reverse("catalog:home"))
    assert top_level_count(response, "airm-preliminary", "2") == expected > 0

    retired = Mitigation.objects.get(name="Adversarial training")
    services.mitigation_retire(mitigation=retired, actor=None, reason="Test")
    response = client.get(reverse("catalog:home"))
    assert top_level_count(response, "airm-preliminary", "2") == expected - 1


def test_home_counts_a_mitigation_once_per_subtree_in_a_multi_valued_taxonomy(client):
    from tests.factories import TaxonomyFactory, TaxonomyNodeFactory

    taxonomy = TaxonomyFactory(multi_valued=True, slug="multi")
    top = TaxonomyNodeFactory(taxonomy=taxonomy, code="A")
    left = TaxonomyNodeFactory(taxonomy=taxonomy, code="A.1", parent=top)
    right = TaxonomyNodeFactory(taxonomy=taxonomy, code="A.2", parent=top)
    MitigationFactory(placements=place(left, right))
    response = client.get(reverse("catalog:home"))
    assert top_level_count(response, "multi", "A") == 1


def test_home_query_count_does_not_grow_with_the_catalog(client, django_assert_num_queries):
    # taxonomies, top-level nodes, their counts; the active count (from the tallies: a probe
    # and a sum); recently changed; per year
    with django_assert_num_queries(cold(7, pieces=1)):
        client.get(reverse("catalog:home"))
    with django_assert_num_queries(WARM):
        client.get(reverse("catalog:home"))
    node = TaxonomyNode.objects.get(taxonomy__slug="airm-preliminary", code="1.2")
    source = SourceDocument.objects.first()
    MitigationFactory.create_batch(25, source=source, placements=place(node))
    with django_assert_num_queries(cold(7, pieces=1)):
        client.get(reverse("catalog:home"))


def test_home_offers_a_search_box_that_leads_to_the_ranked_list(client):
    text = client.get(reverse("catalog:home")).text
    form = text[text.index('<form class="search-box') :]
    form = form[: form.index("</form>")]
    assert 'action="/mitigations/"' in form and 'method="get"' in form
    assert 'name="q"' in form and "data-drop-empty" in form
    assert "sort" not in form  # no sort sent: a search is ranked by relevance


def test_every_other_page_has_a_search_box_in_its_header(client):
    for url in ("/sources/", "/taxonomies/", "/coverage/", "/about/", "/mitigations/A9001/"):
        text = client.get(url).text
        header = text[text.index('<header class="site-header">') : text.index("</header>")]
        assert 'role="search"' in header and 'name="q"' in header, url


def test_home_shows_what_changed_recently_newest_first(client, curator):
    mitigation = Mitigation.objects.get(name="Robustness certificates")
    services.mitigation_update(
        mitigation=mitigation, data={"section_path": "Robustness"}, actor=curator, reason="Tidy"
    )
    response = client.get(reverse("catalog:home"))
    recent = response.context["recent"]
    assert recent[0] == mitigation
    assert [m.updated_at for m in recent] == sorted((m.updated_at for m in recent), reverse=True)
    strip = response.text[response.text.index('id="recent-title"') :]
    assert f'href="{mitigation.get_absolute_url()}"' in strip[:800]


def test_home_charts_count_records_per_category_and_per_year(client):
    response = client.get(reverse("catalog:home"))
    categories = {bar.code: bar for bar in response.context["category_chart"].bars}
    assert categories["3"].count == top_level_count(response, "airm-preliminary", "3")
    assert categories["3"].url == "/mitigations/?airm-preliminary=3"
    years = {bar.label: bar.count for bar in response.context["year_chart"].bars}
    for year, count in years.items():
        assert count == Mitigation.objects.active().filter(source__year=int(year)).count()
    assert sum(years.values()) == Mitigation.objects.active().count()
    text = response.text
    assert '<figure class="bar-chart"' in text
    assert '<rect class="bar-chart__rect" x="0" y="0" width="100.0%"' in text  # the longest
    assert ' style="' not in text  # no inline style: a strict CSP may forbid it


def test_home_refuses_to_change_state(client):
    assert client.post(reverse("catalog:home")).status_code == 405


def test_pages_send_security_headers(client):
    response = client.get(reverse("catalog:home"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


class TestMitigationDetail:
    def test_shows_every_field_and_each_classification_with_its_breadcrumb(self, client):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        response = client.get(mitigation.get_absolute_url())
        assert response.status_code == 200
        text = response.text
        assert mitigation.public_id in text
        assert "Risk sources and risk management measures" in text
        assert "2 Technical &amp; Security Controls</a> ›" in text
        assert "2.3 Model Safety Engineering" in text
        assert "1 AI System</a> › " in text
        assert "1.1 Model</a> › " in text
        assert "1.1.2 Learning Objectives" in text

    @pytest.mark.parametrize("form", ["A0{n}", "A{n}_Gipiškis2024", "a{n}", "a0{n}_Ref"])
    def test_other_forms_of_the_public_id_redirect_to_the_canonical_address(self, client, form):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        response = client.get(f"/mitigations/{form.format(n=mitigation.number)}/")
        assert response.status_code == 301
        assert response["Location"] == mitigation.get_absolute_url()

    def test_an_unknown_id_is_a_404(self, client):
        assert client.get("/mitigations/A0000001/").status_code == 404

    def test_a_merged_record_still_resolves_and_says_where_it_went(self, client):
        target, duplicate = Mitigation.objects.order_by("number")[:2]
        services.mitigation_merge(mitigation=duplicate, into=target, actor=None, reason="Same")
        response = client.get(duplicate.get_absolute_url())
        assert response.status_code == 200
        assert "merged into" in response.text
        assert target.get_absolute_url() in response.text

    def test_a_retired_record_still_resolves_and_says_why(self, client):
        mitigation = Mitigation.objects.get(name="Robustness certificates")
        services.mitigation_retire(mitigation=mitigation, actor=None, reason="Out of scope")
        response = client.get(mitigation.get_absolute_url())
        assert response.status_code == 200
        assert "retired: Out of scope" in response.text

    def test_text_is_escaped(self, client):
        mitigation = MitigationFactory(name="<script>alert(1)</script>")
        response = client.get(mitigation.get_absolute_url())
        assert "<script>alert(1)</script>" not in response.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text

    def test_query_count_is_fixed_however_long_the_history_and_related_lists(
        self, client, django_assert_num_queries
    ):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        # record, classifications, ancestors, "also in" (the first few others at each of its
        # two nodes: 2), siblings, merged-in records, history of the record and of its
        # classifications (2), the review panel (1); the proposals' token the page is kept
        # under (1); the releases panel (1: the releases that hold the record)
        with django_assert_num_queries(cold(12)):
            client.get(mitigation.get_absolute_url())
        node = TaxonomyNode.objects.get(taxonomy__slug="airm-preliminary", code="2.3")
        MitigationFactory.create_batch(
            12, source=mitigation.source, section_path="Model development", placements=place(node)
        )
        for n in range(4):
            services.mitigation_update(
                mitigation=mitigation, data={"section_path": f"Part {n}"}, actor=None, reason="T"
            )
        services.mitigation_update(
            mitigation=mitigation,
            data={"section_path": "Model development"},
            actor=None,
            reason="T",
        )
        with django_assert_num_queries(cold(12)):
            response = client.get(mitigation.get_absolute_url())
        with django_assert_num_queries(WARM + 1):
            client.get(mitigation.get_absolute_url())
        assert response.text.count('class="timeline__entry"') == 6

    def test_links_each_node_and_its_ancestors_to_their_filtered_lists(self, client):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        text = client.get(mitigation.get_absolute_url()).text
        assert 'href="/mitigations/?airm-preliminary=2.3"' in text
        assert 'href="/mitigations/?airm-preliminary=2"' in text
        assert 'href="/mitigations/?airm-draft=1.1"' in text
        assert 'href="/mitigations/?lifecycle=build-use-model"' in text

    def test_also_in_lists_others_in_the_node_and_links_the_whole_list(self, client):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        response = client.get(mitigation.get_absolute_url())
        text = response.text
        assert 'Also in <span class="code">2.3</span> Model Safety Engineering' in text
        assert "Restrict web access during AI training" in text
        assert "All 5 mitigations in 2.3 Model Safety Engineering" in text

    def test_also_in_links_a_crowded_node_without_counting_it(self, client):
        crowded = TaxonomyNode.objects.get(taxonomy__slug="airm-preliminary", code="2.3")
        for _ in range(3):
            MitigationFactory(placements=place(crowded))
        mitigation = Mitigation.objects.get(name="Adversarial training")
        text = client.get(mitigation.get_absolute_url()).text
        assert "All mitigations in 2.3 Model Safety Engineering" in text
        assert "All 8 mitigations" not in text

    def test_shows_siblings_from_the_same_section_of_the_source(self, client):
        mitigation = Mitigation.objects.get(
            name="Red teaming of generative AI in the deployment context"
        )
        text = client.get(mitigation.get_absolute_url()).text
        assert "From the same section of NIST2024" in text
        assert "Regular adversarial testing of content provenance controls" in text

    def test_shows_the_source_document(self, client):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        source = mitigation.source
        text = client.get(mitigation.get_absolute_url()).text
        assert source.title in text
        assert source.doi in text
        assert source.get_doc_type_display() in text
        assert source.get_absolute_url() in text

    def test_history_shows_who_when_why_and_what_changed(self, client, curator):
        mitigation = Mitigation.objects.get(name="Robustness certificates")
        services.mitigation_reclassify(
            mitigation=mitigation,
            taxonomy=Taxonomy.objects.get(slug="airm-preliminary"),
            placements=place(
                TaxonomyNode.objects.get(taxonomy__slug="airm-preliminary", code="2.3")
            ),
            actor=curator,
            reason="Certificates harden the model",
        )
        text = client.get(mitigation.get_absolute_url()).text
        history = text[text.index('id="history-title"') :]
        assert "Cecil" in history
        assert "Why: Certificates harden the model" in history
        assert "<del>3.1 Testing &amp; Auditing</del>" in history
        assert "<ins>2.3 Model Safety Engineering</ins>" in history
        assert "Why: Demo content: demo_mitigations.json" in history

    def test_says_how_to_cite_the_record_with_its_dates(self, client):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        response = client.get(mitigation.get_absolute_url())
        citation = response.text[response.text.index('id="citation"') :][:900]
        assert f"[{mitigation.public_id}]" in citation
        assert f"Version of {mitigation.updated_at:%-d %B %Y}" in citation
        assert f"Retrieved {timezone.localdate():%-d %B %Y}" in citation
        assert f"http://testserver/mitigations/{mitigation.public_id}/" in citation

    def test_a_merge_target_lists_the_records_merged_into_it(self, client):
        target, duplicate = Mitigation.objects.order_by("number")[:2]
        services.mitigation_merge(mitigation=duplicate, into=target, actor=None, reason="Same")
        text = client.get(target.get_absolute_url()).text
        assert "Merged into this record" in text
        assert duplicate.get_absolute_url() in text

    def test_includes_the_panels_other_apps_register(self, client, settings, tmp_path):
        panel = tmp_path / "panel.html"
        panel.write_text("<p>Panel for {{ mitigation.public_id }}</p>")
        settings.TEMPLATES = [
            {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}
        ]
        settings.CATALOG_MITIGATION_PANELS = ["panel.html"]
        mitigation = Mitigation.objects.get(name="Adversarial training")
        assert f"Panel for {mitigation.public_id}" in client.get(mitigation.get_absolute_url()).text


# --------------------------------------------------------------------------- the list

LIST = "/mitigations/"
# taxonomies, nodes, sources; the page and the page's classifications; then the facets (see
# catalog.filters.facets.facet_counts): two queries when no filter is set, plus one for each
# facet group whose own filter is active, or, where the tallies can count them, a probe that
# they are up to date and a sum per group; the list's count comes from them. The filters'
# choices and the facets are kept (2 pieces).
LIST_QUERIES = 3 + 2 + 2
LIST_PIECES = 2


def result_ids(response):
    return [m.public_id for m in response.context["browse"].page]


class TestMitigationList:
    def test_lists_active_mitigations_with_facets(self, client):
        response = client.get(LIST)
        assert response.status_code == 200
        assert response.context["browse"].total == Mitigation.objects.active().count()
        text = response.text
        assert "Adversarial training" in text
        assert "AI lifecycle stage" in text
        assert 'href="/mitigations/?lifecycle=deploy#results"' in text
        assert "Download all" in text

    def test_two_clicks_find_red_teaming_at_the_deployment_stage(self, client):
        first = client.get(LIST)
        assert 'href="/mitigations/?airm-preliminary=3.1#results"' in first.text
        second = client.get(LIST, {"airm-preliminary": "3.1"})
        assert (
            'href="/mitigations/?airm-preliminary=3.1&amp;lifecycle=deploy#results"' in second.text
        )
        third = client.get(LIST, {"airm-preliminary": "3.1", "lifecycle": "deploy"})
        names = [m.name for m in third.context["browse"].page]
        assert names == [
            "Continued red teaming of deployed models",
            "Red teaming of generative AI in the deployment context",
        ]

    def test_the_whole_state_is_in_the_url(self, client):
        url = f"{LIST}?q=model&source=Gipi%C5%A1kis2024&sort=name&per_page=10&page=1"
        response = client.get(url)
        browse = response.context["browse"]
        assert browse.sort_key == "name"
        assert browse.per_page == 10
        names = [m.name for m in browse.page]
        assert names == sorted(names)
        assert client.get(url).text == response.text

    def test_sorting_and_page_size_controls_keep_the_filters(self, client):
        text = client.get(LIST, {"lifecycle": "deploy", "q": "red"}).text
        assert '<input type="hidden" name="lifecycle" value="deploy">' in text
        assert 'name="q" value="red"' in text
        assert '<option value="" selected>Relevance</option>' in text

    def test_the_form_sent_unchanged_ranks_a_search_by_relevance(self, client):
        # Without JavaScript the browser sends every field of the form as the page drew it.
        unsearched = client.get(LIST).text
        assert '<option value="" selected>Public ID</option>' in unsearched
        assert '<option value="" selected>25</option>' in unsearched
        assert 'value="relevance"' not in unsearched
        sent = {"q": "adversarial", "year_min": "", "year_max": "", "sort": "", "per_page": ""}
        response = client.get(LIST, sent)
        assert response.status_code == 302
        assert response["Location"] == "/mitigations/?q=adversarial"
        browse = client.get(response["Location"]).context["browse"]
        assert browse.sort_key == "relevance"
        ranks = [m.search_rank for m in browse.page]
        assert ranks == sorted(ranks, reverse=True)
        assert ranks[0] > ranks[-1]

    def test_empty_parameters_are_dropped_and_the_rest_kept(self, client):
        response = client.get(f"{LIST}?lifecycle=deploy&lifecycle=&q=&sort=name&year_max=")
        assert response.status_code == 302
        assert response["Location"] == "/mitigations/?lifecycle=deploy&sort=name"
        assert client.get(f"{LIST}?q=&year_min=")["Location"] == LIST

    def test_an_explicit_sort_is_kept_with_a_search(self, client):
        response = client.get(LIST, {"q": "adversarial", "sort": "name"})
        assert response.context["browse"].sort_key == "name"
        assert '<option value="name" selected>Name</option>' in response.text
        assert '<option value="">Relevance</option>' in response.text

    def test_a_public_id_in_any_case_finds_the_record(self, client):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        response = client.get(LIST, {"q": mitigation.public_id.lower()})
        assert result_ids(response) == [mitigation.public_id]

    def test_pages_link_to_each_other_with_the_filters(self, client):
        response = client.get(LIST, {"per_page": 10, "source": "UK Government2023"})
        assert response.context["browse"].page.paginator.num_pages == 2
        assert "?per_page=10&amp;source=UK+Government2023&amp;page=2" in response.text

    def test_an_empty_result_says_why_and_offers_to_drop_each_filter(self, client):
        response = client.get(LIST, {"source": "Uuk2024", "lifecycle": "deploy"})
        assert response.status_code == 200
        text = response.text
        assert "No mitigation matches all of these filters" in text
        assert "without <strong>AI lifecycle stage: Deploy</strong>" in text
        assert '<a href="/mitigations/?source=Uuk2024">2 results</a>' in text
        assert "without <strong>Source: Uuk2024</strong>" in text

    def test_an_unusable_parameter_is_a_400_that_names_it(self, client):
        response = client.get(LIST, {"year_min": "last year"})
        assert response.status_code == 400
        assert "Year from (year_min): Enter a whole number." in response.text

    def test_retired_records_show_when_asked_for(self, client):
        mitigation = Mitigation.objects.get(name="Robustness certificates")
        services.mitigation_retire(mitigation=mitigation, actor=None, reason="Test")
        assert mitigation.public_id not in result_ids(client.get(LIST, {"per_page": 100}))
        response = client.get(LIST, {"status": ["active", "retired"], "per_page": 100})
        assert mitigation.public_id in result_ids(response)
        assert "badge--retired" in response.text

    def test_text_is_escaped(self, client):
        MitigationFactory(name="<img src=x onerror=alert(1)>")
        response = client.get(LIST, {"sort": "changed"})
        assert "<img src=x onerror=alert(1)>" not in response.text

    def test_refuses_to_change_state(self, client):
        assert client.post(LIST).status_code == 405

    @pytest.mark.parametrize(
        ("query", "active_groups"),
        [
            # counted from the tallies: a probe that they are up to date, then two sums
            ({}, 1),
            # two nodes: every group counted from the rows, one query per active group
            ({"airm-preliminary": "3", "lifecycle": "deploy", "source": "NIST2024"}, 3),
            ({"q": "model", "year_min": "2024", "status": ["active", "retired"]}, 1),
        ],
    )
    def test_query_count_does_not_grow_with_page_size_or_results(
        self, client, django_assert_num_queries, query, active_groups
    ):
        # (Status shares its query with source, type and year; a search is no facet group.)
        with django_assert_num_queries(cold(LIST_QUERIES + active_groups, LIST_PIECES)):
            client.get(LIST, {**query, "per_page": 10})
        with django_assert_num_queries(WARM):
            client.get(LIST, {**query, "per_page": 10})
        # Another page size of the same filters: only its own rows (and its classifications).
        with django_assert_num_queries(WARM + LIST_PIECES + 2 + KEEP):
            client.get(LIST, {**query, "per_page": 50})
        node = TaxonomyNode.objects.get(taxonomy__slug="airm-preliminary", code="3.1")
        deploy = TaxonomyNode.objects.get(taxonomy__slug="lifecycle", code="deploy")
        MitigationFactory.create_batch(
            30,
            name="Model checks at deployment",
            source=SourceDocument.objects.get(short_ref="NIST2024"),
            placements=place(node, deploy),
        )
        with django_assert_num_queries(cold(LIST_QUERIES + active_groups, LIST_PIECES)):
            response = client.get(LIST, {**query, "per_page": 100})
        assert len(response.context["browse"].page) > 10

    def test_an_empty_result_adds_one_count_per_active_filter(
        self, client, django_assert_num_queries
    ):
        # Two active groups; no page rows to read or decorate; the count without the taxonomy
        # filter (the count without the source comes from the source facet's counts); the
        # groups with one node in force come from the tallies, after a probe.
        with django_assert_num_queries(cold(LIST_QUERIES + 2 - 2 + 1 + 1, LIST_PIECES)):
            response = client.get(LIST, {"source": "Uuk2024", "lifecycle": "deploy"})
        assert response.context["browse"].total == 0
        without = {a.key: a.count_without for a in response.context["browse"].active}
        active = Mitigation.objects.active()
        assert without == {
            "lifecycle": active.filter(source__short_ref="Uuk2024").count(),
            "source": active.filter(classifications__node__code="deploy").distinct().count(),
        }
        assert without["source"] > 0

    @pytest.mark.parametrize(
        "query",
        [
            {"source": "Uuk2024", "doc_type": "legislation", "status": "retired"},
            {"year_min": "2031", "airm-preliminary": "3"},
            {"q": "model", "source": "Uuk2024", "lifecycle": "deploy", "year_max": "2019"},
            {"source": "Uuk2024", "status": ["retired", "merged"], "doc_type": "preprint"},
            {"source": "NIST2024", "year_min": "2025", "airm-preliminary": "3.1"},
        ],
    )
    def test_each_count_without_a_filter_is_that_of_the_list_without_it(self, client, query):
        gone = Mitigation.objects.active().filter(source__short_ref="NIST2024").first()
        services.mitigation_retire(mitigation=gone, actor=None, reason="Test")
        browse = client.get(LIST, {**query, "per_page": 10}).context["browse"]
        assert browse.is_valid and browse.total == 0
        assert len(browse.active) == len(
            {k.removesuffix("_min").removesuffix("_max") for k in query}
        )
        for active in browse.active:
            params = {k: v for k, v in query.items() if k not in active.params}
            alone = client.get(LIST, {**params, "per_page": 100}).context["browse"]
            assert active.count_without == alone.total == len(alone.page), active.key


class TestDownloads:
    def test_csv_holds_the_filtered_list_in_its_order(self, client):
        response = client.get("/mitigations/download.csv", {"lifecycle": "deploy", "sort": "name"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert 'attachment; filename="airm-mitigations-' in response["Content-Disposition"]
        rows = list(
            csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
        )
        expected = Mitigation.objects.active().filter(classifications__node__code="deploy")
        assert [r["Name"] for r in rows] == sorted(m.name for m in expected)

    def test_csv_cells_are_inert(self, client):
        MitigationFactory(name="=1+1 formula", definition="@SUM(A1)")
        response = client.get("/mitigations/download.csv", {"q": "formula"})
        (row,) = list(
            csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
        )
        assert (row["Name"], row["Definition"]) == ("'=1+1 formula", "'@SUM(A1)")

    def test_xlsx_and_json_hold_the_same_rows(self, client):
        query = {"source": "Gipiškis2024"}
        xlsx = client.get("/mitigations/download.xlsx", query)
        sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
        assert sheet.max_row == 1 + 10
        data = json.loads(
            b"".join(client.get("/mitigations/download.json", query).streaming_content)
        )
        assert len(data["mitigations"]) == 10
        assert {m["source"] for m in data["mitigations"]} == {"Gipiškis2024"}

    def test_bad_parameters_do_not_download(self, client):
        response = client.get("/mitigations/download.csv", {"airm-preliminary": "nope"})
        assert response.status_code == 400
        assert "(airm-preliminary)" in response.text

    def test_unknown_formats_are_not_found(self, client):
        assert client.get("/mitigations/download.exe").status_code == 404

    def test_query_count_does_not_grow_with_the_rows(self, client, django_assert_num_queries):
        # taxonomies, nodes, sources (the filters), the taxonomies and nodes for the rows, the
        # rows, and their classifications (one query per 2,000-row chunk)
        with django_assert_num_queries(7):
            b"".join(client.get("/mitigations/download.csv").streaming_content)
        MitigationFactory.create_batch(40, source=SourceDocument.objects.get(short_ref="NIST2024"))
        with django_assert_num_queries(7):
            b"".join(client.get("/mitigations/download.csv").streaming_content)


# --------------------------------------------------------------------------- taxonomies


class TestTaxonomyPages:
    def test_index_lists_every_public_taxonomy_with_links(self, client):
        response = client.get("/taxonomies/")
        assert response.status_code == 200
        for taxonomy in Taxonomy.objects.exclude(status="retired"):
            assert taxonomy.get_absolute_url() in response.text
        assert 'href="/mitigations/?airm-preliminary=3"' in response.text

    def test_detail_shows_the_tree_with_definitions_counts_and_links(self, client):
        response = client.get("/taxonomies/airm-draft/")
        assert response.status_code == 200
        text = response.text
        assert "Capability Modification" in text
        node = TaxonomyNode.objects.get(taxonomy__slug="airm-draft", code="1.1.3")
        assert node.definition in text
        assert 'href="/mitigations/?airm-draft=1.1.3"' in text
        # The tree nests: 1.1.3 sits inside 1.1 inside 1.
        assert (
            text.index(">1</span> AI System")
            < text.index(">1.1</span> Model")
            < text.index(">1.1.3</span>")
        )

    def test_an_unknown_taxonomy_is_a_404(self, client):
        assert client.get("/taxonomies/no-such-thing/").status_code == 404

    def test_query_counts_are_fixed(self, client, django_assert_num_queries):
        for _ in range(2):
            with django_assert_num_queries(cold(3, pieces=1)):
                client.get("/taxonomies/")
            # the taxonomy, its nodes, their counts (kept: from the tallies, a probe and a
            # sum); the other taxonomies (crosswalks)
            with django_assert_num_queries(cold(5, pieces=1)):
                client.get("/taxonomies/airm-preliminary/")
            with django_assert_num_queries(WARM):
                client.get("/taxonomies/airm-preliminary/")
            node = TaxonomyNode.objects.get(taxonomy__slug="airm-preliminary", code="1.1")
            MitigationFactory.create_batch(10, placements=place(node))


# --------------------------------------------------------------------------- sources


class TestSourcePages:
    def test_index_lists_every_document_with_its_count(self, client):
        response = client.get("/sources/")
        assert response.status_code == 200
        for source in SourceDocument.objects.all():
            assert source.get_absolute_url() in response.text

    @pytest.mark.parametrize(
        "short_ref", ["Gipiškis2024", "Future of Life Institute2024", "EU AI Office2025"]
    )
    def test_a_reference_with_spaces_or_accents_has_a_working_address(self, client, short_ref):
        source = SourceDocument.objects.get(short_ref=short_ref)
        url = source.get_absolute_url()
        assert " " not in url and url.isascii()
        response = client.get(url)
        assert response.status_code == 200
        assert response.context["source"] == source

    def test_mitigations_are_grouped_by_section(self, client):
        text = client.get(
            SourceDocument.objects.get(short_ref="Gipiškis2024").get_absolute_url()
        ).text
        assert "Model evaluations › Red teaming" in text
        section = text[text.index("Model evaluations › Red teaming</h3>") :]
        assert "Red teaming with domain experts before release" in section[:600]

    def test_an_unknown_reference_is_a_404(self, client):
        assert client.get("/sources/Nobody%202099/").status_code == 404

    def test_a_chart_counts_the_source_s_records_per_category(self, client):
        source = SourceDocument.objects.get(short_ref="NIST2024")
        chart = client.get(source.get_absolute_url()).context["category_chart"]
        bars = {bar.code: bar for bar in chart.bars}
        for code, bar in bars.items():
            expected = (
                Mitigation.objects.active()
                .filter(
                    source=source,
                    classifications__taxonomy__slug="airm-preliminary",
                    classifications__node__path__startswith=f"/{code}/",
                )
                .count()
            )
            assert bar.count == expected, code
        assert chart.total == Mitigation.objects.active().filter(source=source).count()
        assert client.get(bars["3"].url).context["browse"].total == bars["3"].count

    def test_query_counts_are_fixed(self, client, django_assert_num_queries):
        source = SourceDocument.objects.get(short_ref="NIST2024")
        for _ in range(2):
            with django_assert_num_queries(cold(1, pieces=1)):
                client.get("/sources/")
            # the source, its sections, a page of its mitigations, the count; the chart (3)
            with django_assert_num_queries(cold(7)):
                client.get(source.get_absolute_url())
            with django_assert_num_queries(WARM):
                client.get(source.get_absolute_url())
            MitigationFactory.create_batch(15, source=source, section_path="GOVERN > GOVERN 9.9")


# --------------------------------------------------------------------------- coverage


class TestCoveragePage:
    def test_shows_counts_as_text_with_a_legend_and_links(self, client):
        response = client.get("/coverage/")
        assert response.status_code == 200
        text = response.text
        assert "<caption" in text
        assert "Mitigations per cell" in text
        assert 'href="/mitigations/?airm-preliminary=3&amp;source=NIST2024"' in text
        assert "mitigations: 3 Operational Process Controls × NIST2024" in text

    def test_each_cell_leads_to_a_list_of_exactly_its_count(self, client):
        chart = client.get("/coverage/", {"by": "actor"}).context["chart"]
        cells = [cell for row in chart.rows for cell in row.cells if cell.count][:6]
        assert cells
        for cell in cells:
            assert client.get(cell.url).context["browse"].total == cell.count

    @pytest.mark.parametrize("by", ["lifecycle", "actor"])
    def test_columns_switch_to_a_vocabulary(self, client, by):
        response = client.get("/coverage/", {"by": by})
        assert response.status_code == 200
        assert response.context["chart"].columns_label == Taxonomy.objects.get(slug=by).name

    def test_an_unusable_parameter_is_a_400_that_names_it(self, client):
        response = client.get("/coverage/", {"by": "weather"})
        assert response.status_code == 400
        assert "by: “weather” cannot be columns" in response.text

    def test_the_table_downloads_as_csv_as_shown(self, client):
        page = client.get("/coverage/", {"by": "lifecycle", "depth": "2"})
        chart = page.context["chart"]
        assert (
            'href="/coverage/download.csv?rows=airm-preliminary&amp;by=lifecycle&amp;depth=2"'
            in (page.text)
        )
        response = client.get(
            "/coverage/download.csv", {"rows": "airm-preliminary", "by": "lifecycle", "depth": "2"}
        )
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert "airm-coverage-airm-preliminary-by-lifecycle-" in response["Content-Disposition"]
        rows = csv_text(b"".join(response.streaming_content))
        assert rows[0] == [
            "Code",
            "AI Risk Mitigation Taxonomy (preliminary)",
            *[c.label for c in chart.columns],
            "All",
        ]
        assert len(rows) == len(chart.rows) + 2
        first = chart.rows[0]
        assert rows[1] == [
            first.node.code,
            first.node.name,
            *[str(cell.count) for cell in first.cells],
            str(first.total),
        ]
        assert rows[-1][1:] == [
            "All categories",
            *[str(c.total) for c in chart.columns],
            str(chart.total),
        ]

    def test_a_bad_download_parameter_is_a_400_that_names_it(self, client):
        response = client.get("/coverage/download.csv", {"depth": "9"})
        assert response.status_code == 400
        assert "depth: “9” is not a level" in response.text

    def test_query_count_is_fixed(self, client, django_assert_num_queries):
        for _ in range(2):
            # taxonomies, nodes, sources; column totals and cells from the tallies (a probe
            # and a sum each)
            with django_assert_num_queries(cold(7, pieces=1)):
                client.get("/coverage/")
            # by a vocabulary: the cells from the rows; column, row and catalog totals from
            # the tallies (a probe and a sum each)
            with django_assert_num_queries(cold(9, pieces=1)):
                client.get("/coverage/", {"by": "lifecycle", "depth": "2"})
            with django_assert_num_queries(WARM):
                client.get("/coverage/", {"by": "lifecycle", "depth": "2"})
            node = TaxonomyNode.objects.get(taxonomy__slug="airm-preliminary", code="4.1")
            MitigationFactory.create_batch(10, placements=place(node))


# --------------------------------------------------------------------------- shared


def test_home_links_each_top_level_node_to_its_list(client):
    text = client.get(reverse("catalog:home")).text
    assert 'href="/mitigations/?airm-preliminary=1"' in text
    assert 'href="/mitigations/?lifecycle=deploy"' in text


@pytest.mark.parametrize("url", ["/mitigations/", "/taxonomies/", "/sources/", "/coverage/"])
def test_every_page_links_the_public_sections(client, url):
    text = client.get(url).text
    nav = text[text.index('aria-label="Main"') : text.index("</nav>")]
    for target in ("/mitigations/", "/taxonomies/", "/sources/", "/coverage/"):
        assert f'href="{target}"' in nav
    assert 'aria-current="page"' in nav


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/mitigations/",
        "/mitigations/?airm-preliminary=3.1&lifecycle=deploy&q=red&sort=name&per_page=10",
        "/mitigations/?source=Uuk2024&lifecycle=deploy",
        "/mitigations/?year_min=abc",
        "/mitigations/?per_page=10&page=3",
        "/taxonomies/",
        "/taxonomies/airm-draft/",
        "/sources/",
        "/sources/Gipi%C5%A1kis2024/",
        "/coverage/",
        "/coverage/?by=lifecycle&depth=2",
        "/coverage/?by=weather",
    ],
)
def test_public_pages_are_well_formed_html(client, url):
    response = client.get(url)
    assert response.status_code in (200, 400)
    assert html_problems(response.text) == []


def test_a_mitigation_page_is_well_formed_html(client, curator):
    target, duplicate = Mitigation.objects.order_by("number")[:2]
    services.mitigation_update(
        mitigation=target,
        data={"definition": target.definition + " Also applies to fine-tuned variants."},
        actor=curator,
        reason="Scope",
    )
    services.mitigation_merge(mitigation=duplicate, into=target, actor=None, reason="Same")
    for mitigation in (target, duplicate):
        assert html_problems(client.get(mitigation.get_absolute_url()).text) == []


# --------------------------------------------------------------------------- about, errors


def test_the_about_page_says_what_the_catalog_is_its_review_policy_and_licence(client, settings):
    settings.REVIEW_REQUIRED_APPROVALS_BY_KIND = {"merge": 2}
    response = client.get("/about/")
    assert response.status_code == 200
    text = " ".join(response.text.split())
    assert "What the catalog is" in text
    for taxonomy in Taxonomy.objects.exclude(status="retired"):
        assert f'href="{taxonomy.get_absolute_url()}"' in text
    assert "Nobody decides their own proposal" in text
    assert "approval of 1 curator (merge: 2)" in text
    assert "CC BY 4.0" in text and 'href="https://creativecommons.org/licenses/by/4.0/"' in text
    assert "MIT AI Risk Initiative" in text
    assert html_problems(response.text) == []
    assert 'href="/about/"' in client.get("/").text


def test_an_unknown_address_is_a_styled_404_with_a_way_back(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    text = response.text
    assert "There is no page at this address" in text
    assert 'class="site-header"' in text and 'href="/static/css/site.css"' in text
    assert 'action="/mitigations/"' in text
    assert html_problems(text) == []


def test_a_server_error_is_a_styled_500_page(client, settings):
    settings.ROOT_URLCONF = "tests.catalog.failing_urls"
    client.raise_request_exception = False
    response = client.get("/fail/")
    assert response.status_code == 500
    text = response.text
    assert "Something went wrong on our side" in text
    assert 'class="site-header"' in text and 'href="/static/css/site.css"' in text
    assert html_problems(text) == []


def test_pages_name_their_icon_and_browsers_asking_for_favicon_ico_find_it(client):
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in (
        client.get("/").text
    )
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/img/favicon.svg"
    from django.contrib.staticfiles import finders

    assert finders.find("img/favicon.svg")
