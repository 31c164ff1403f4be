"""sitemap.xml and robots.txt (catalog.sitemaps, catalog.views.robots_txt)."""

import pytest
from defusedxml import ElementTree as ET

from catalog import filters, selectors, services
from catalog.models import Mitigation, SourceDocument, Taxonomy

pytestmark = pytest.mark.django_db

NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def locations(client, url):
    response = client.get(url)
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    return [element.text for element in root.iter(f"{NS}loc")]


def every_address(client):
    return [
        loc
        for section in locations(client, "/sitemap.xml")
        for loc in locations(client, section.removeprefix("http://testserver"))
    ]


def test_the_index_lists_a_sitemap_per_section(client):
    assert locations(client, "/sitemap.xml") == [
        f"http://testserver/sitemap-{section}.xml"
        for section in ("pages", "records", "taxonomies", "nodes", "sources")
    ]


def test_every_record_node_and_source_is_listed_once(client, curator):
    services.mitigation_retire(
        mitigation=Mitigation.objects.get(name="Robustness certificates"),
        actor=curator,
        reason="Out of scope",
    )
    addresses = every_address(client)
    assert len(addresses) == len(set(addresses))
    expected = {f"http://testserver{m.get_absolute_url()}" for m in Mitigation.objects.all()}
    expected |= {f"http://testserver{s.get_absolute_url()}" for s in SourceDocument.objects.all()}
    expected |= {f"http://testserver{t.get_absolute_url()}" for t in Taxonomy.objects.all()}
    expected |= {
        f"http://testserver{filters.mitigation_list_url(node)}"
        for taxonomy in selectors.taxonomy_list_with_nodes()
        for node in taxonomy.node_list
    }
    assert expected <= set(addresses)
    assert "http://testserver/" in addresses
    assert "http://testserver/api/v1/docs/" in addresses


def test_records_carry_the_date_of_their_last_change(client):
    response = client.get("/sitemap-records.xml")
    mitigation = Mitigation.objects.order_by("number").first()
    assert (
        f"<loc>http://testserver{mitigation.get_absolute_url()}</loc>"
        f"<lastmod>{mitigation.updated_at:%Y-%m-%d}</lastmod>"
    ) in response.text


def test_the_records_sitemap_is_three_queries_however_many_records(
    client, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):
        client.get("/sitemap-records.xml")


def test_an_unknown_section_is_a_404(client):
    assert client.get("/sitemap-nothing.xml").status_code == 404


def test_robots_points_at_the_sitemap_and_keeps_crawlers_out_of_private_pages(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.text.splitlines()
    assert lines[0] == "User-agent: *"
    for private in ("/admin/", "/accounts/", "/review/"):
        assert f"Disallow: {private}" in lines
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    assert "Disallow: /mitigations/" not in lines
