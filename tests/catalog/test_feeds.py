"""The Atom feeds of applied changes (catalog.feeds)."""

from datetime import timedelta

import pytest
from defusedxml import ElementTree as ET
from django.utils import timezone

from catalog import feeds, services
from catalog.models import Mitigation, SourceDocument, Taxonomy, TaxonomyNode
from tests.factories import MitigationFactory, place

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
FEED = "/feed/"


def node(slug, code):
    return TaxonomyNode.objects.get(taxonomy__slug=slug, code=code)


def read(client, query=None):
    """The feed as (root element, entries as dicts)."""
    response = client.get(FEED, query or {})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(response.content)
    entries = [
        {
            "title": entry.findtext(f"{ATOM}title"),
            "link": entry.find(f"{ATOM}link").get("href"),
            "id": entry.findtext(f"{ATOM}id"),
            "author": entry.findtext(f"{ATOM}author/{ATOM}name"),
            "updated": entry.findtext(f"{ATOM}updated"),
            "summary": entry.findtext(f"{ATOM}summary"),
            "category": entry.find(f"{ATOM}category").get("term"),
        }
        for entry in root.findall(f"{ATOM}entry")
    ]
    return root, entries


def titles(entries):
    return [entry["title"] for entry in entries]


class TestWhatTheFeedHolds:
    def test_is_atom_with_a_self_link_and_the_page_it_follows(self, client):
        root, entries = read(client)
        assert root.tag == f"{ATOM}feed"
        assert root.findtext(f"{ATOM}title") == "AIRM Curator: changes"
        links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
        assert links == {"self": "http://testserver/feed/", "alternate": "http://testserver/"}
        assert len(entries) == feeds.FEED_LENGTH
        assert [e["updated"] for e in entries] == sorted(
            (e["updated"] for e in entries), reverse=True
        )
        assert len({e["id"] for e in entries}) == len(entries)

    def test_a_new_record_is_an_entry_linking_to_its_page(self, client, curator):
        mitigation = MitigationFactory(name="Brand new safeguard", actor=curator)
        _, entries = read(client)
        latest = entries[0]
        assert latest["title"] == f"{mitigation.public_id} Brand new safeguard: new record"
        assert latest["link"] == f"http://testserver/mitigations/{mitigation.public_id}/"
        assert latest["author"] == "Cecil"
        assert latest["category"] == "new record"
        assert "was added to the catalog" in latest["summary"]

    def test_an_edit_lists_old_and_new_values(self, client, curator):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        services.mitigation_update(
            mitigation=mitigation,
            data={"name": "Adversarial training, revised"},
            actor=curator,
            reason="Clearer name",
        )
        latest = read(client)[1][0]
        assert latest["title"] == f"{mitigation.public_id} Adversarial training, revised: edited"
        assert "Why: Clearer name" in latest["summary"]
        assert "Name: Adversarial training → Adversarial training, revised" in latest["summary"]

    def test_a_reclassification_is_one_entry_with_old_and_new_codes(self, client, curator):
        mitigation = Mitigation.objects.get(name="Robustness certificates")
        services.mitigation_reclassify(
            mitigation=mitigation,
            taxonomy=Taxonomy.objects.get(slug="airm-preliminary"),
            placements=place(node("airm-preliminary", "2.3")),
            actor=curator,
            reason="Certificates harden the model",
        )
        entries = read(client)[1]
        assert entries[0]["category"] == "reclassified"
        assert entries[1]["category"] != "reclassified" or entries[1]["link"] != entries[0]["link"]
        assert (
            "AI Risk Mitigation Taxonomy (preliminary): 3.1 Testing &amp; Auditing → "
            "2.3 Model Safety Engineering"
        ) in entries[0]["summary"]

    @pytest.mark.parametrize(
        ("act", "kind"),
        [
            (
                lambda m, other, who: services.mitigation_retire(
                    mitigation=m, actor=who, reason="Out of scope"
                ),
                "retired",
            ),
            (
                lambda m, other, who: services.mitigation_merge(
                    mitigation=m, into=other, actor=who, reason="Same"
                ),
                "merged",
            ),
        ],
    )
    def test_retirements_and_merges_say_so(self, client, curator, act, kind):
        first, second = Mitigation.objects.order_by("number")[:2]
        act(first, second, curator)
        latest = read(client)[1][0]
        assert latest["title"] == f"{first.public_id} {first.name}: {kind}"
        assert latest["category"] == kind

    def test_a_restoration_says_so(self, client, curator):
        mitigation = Mitigation.objects.get(name="Robustness certificates")
        services.mitigation_retire(mitigation=mitigation, actor=curator, reason="Out")
        services.mitigation_restore(mitigation=mitigation, actor=curator, reason="Back")
        assert [e["category"] for e in read(client)[1][:2]] == ["restored", "retired"]

    def test_an_import_is_one_entry_and_its_revert_another(self, client, tmp_path, admin):
        from catalog.imports.batches import import_batch_revert
        from tests.spreadsheets import MIT_MITIGATION_HEADER, import_one, write_csv

        rows = [[f"A{800 + n}_NIST2024", f"Imported {n}", "", "NIST2024", "3.2"] for n in range(5)]
        path = write_csv(tmp_path / "five.csv", [MIT_MITIGATION_HEADER, *rows])
        _, batch = import_one(path, actor=admin)
        entries = read(client)[1]
        assert entries[0]["title"] == "Import of five.csv: 5 new mitigations, 0 changed"
        assert entries[0]["category"] == "import"
        assert entries[0]["author"] == "Ada"
        assert not any("Imported" in title for title in titles(entries))
        import_batch_revert(batch=batch, actor=admin, reason="Wrong file")
        entries = read(client)[1]
        assert entries[0]["title"] == "Import of five.csv reverted"
        assert entries[1]["title"] == "Import of five.csv: 5 new mitigations, 0 changed"
        assert "Why: Wrong file" in entries[0]["summary"]

    def test_text_is_escaped_twice_as_atom_html_summaries_need(self, client):
        MitigationFactory(name="<script>alert(1)</script>")
        response = client.get(FEED)
        assert b"<script>" not in response.content
        latest = read(client)[1][0]
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in latest["summary"]
        assert latest["title"].endswith("<script>alert(1)</script>: new record")

    def test_other_parts_of_the_catalog_add_their_entries(self, client, monkeypatch):
        def releases(scope, limit):
            return [
                feeds.Change(
                    kind="release",
                    when=timezone.now() + timedelta(minutes=1),
                    title="Release 2025.12.01",
                    link="/",
                    guid=f"{scope.base}/#release-1",
                    who="Ada",
                )
            ]

        monkeypatch.setattr(feeds, "_entry_sources", [])
        feeds.register_entry_source(releases)
        feeds.register_entry_source(releases)
        entries = read(client)[1]
        assert titles(entries).count("Release 2025.12.01") == 1
        assert entries[0]["category"] == "release"

    def test_the_query_count_does_not_grow_with_the_changes(
        self, client, curator, django_assert_num_queries
    ):
        def change(mitigation, n):
            data = {"section_path": f"Moved {n}"}
            services.mitigation_update(mitigation=mitigation, data=data, actor=curator, reason="R")
            services.mitigation_reclassify(
                mitigation=mitigation,
                taxonomy=Taxonomy.objects.get(slug="lifecycle"),
                placements=place(node("lifecycle", "deploy" if n % 2 else "other")),
                actor=curator,
                reason="R",
            )

        change(Mitigation.objects.first(), 0)
        # the record rows, the classification rows, the rows before each (2), the records'
        # names, the import batches, the data releases (catalog.releases.feeds)
        with django_assert_num_queries(7):
            client.get(FEED)
        for n, mitigation in enumerate(Mitigation.objects.order_by("number")[:10]):
            change(mitigation, n + 1)
        with django_assert_num_queries(7):
            client.get(FEED)


class TestNarrowing:
    def test_a_node_follows_the_records_in_its_subtree(self, client, curator):
        inside = MitigationFactory(
            name="Inside 3.1", placements=place(node("airm-preliminary", "3.1"))
        )
        outside = MitigationFactory(
            name="Outside", placements=place(node("airm-preliminary", "1.1"))
        )
        root, entries = read(client, {"airm-preliminary": "3"})
        assert root.findtext(f"{ATOM}title") == (
            "AIRM Curator: changes in 3 Operational Process Controls"
        )
        links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
        assert links["alternate"] == "http://testserver/mitigations/?airm-preliminary=3"
        assert links["self"] == "http://testserver/feed/?airm-preliminary=3"
        assert f"{inside.public_id} Inside 3.1: new record" in titles(entries)
        assert not any(outside.public_id in title for title in titles(entries))
        in_three = set(
            Mitigation.objects.filter(
                classifications__node__path__startswith="/3/",
                classifications__taxonomy__slug="airm-preliminary",
            ).values_list("number", flat=True)
        )
        for entry in entries:
            number = int(entry["link"].rstrip("/").rsplit("/A", 1)[1])
            assert number in in_three

    def test_a_node_hears_when_a_record_leaves_it(self, client, curator):
        mitigation = Mitigation.objects.get(name="Robustness certificates")
        services.mitigation_reclassify(
            mitigation=mitigation,
            taxonomy=Taxonomy.objects.get(slug="airm-preliminary"),
            placements=place(node("airm-preliminary", "2.3")),
            actor=curator,
            reason="Moved out",
        )
        latest = read(client, {"airm-preliminary": "3.1"})[1][0]
        assert latest["title"] == f"{mitigation.public_id} Robustness certificates: reclassified"

    def test_a_source_follows_its_records(self, client):
        entries = read(client, {"source": "NIST2024"})[1]
        expected = set(
            Mitigation.objects.filter(source__short_ref="NIST2024").values_list("number", flat=True)
        )
        assert entries
        assert {int(e["link"].rstrip("/").rsplit("/A", 1)[1]) for e in entries} == expected

    def test_different_parameters_narrow_each_other(self, client):
        MitigationFactory(
            name="NIST and deploy",
            source=SourceDocument.objects.get(short_ref="NIST2024"),
            placements=place(node("lifecycle", "deploy")),
        )
        MitigationFactory(name="Deploy elsewhere", placements=place(node("lifecycle", "deploy")))
        entries = read(client, {"source": "NIST2024", "lifecycle": "deploy"})[1]
        assert any("NIST and deploy" in t for t in titles(entries))
        assert not any("Deploy elsewhere" in t for t in titles(entries))

    def test_a_record_feed_follows_one_record(self, client, curator):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        services.mitigation_update(
            mitigation=mitigation, data={"section_path": "Moved"}, actor=curator, reason="R"
        )
        MitigationFactory(name="Someone else")
        root, entries = read(client, {"record": mitigation.public_id})
        assert root.findtext(f"{ATOM}title") == (
            f"AIRM Curator: changes to {mitigation.public_id} Adversarial training"
        )
        assert [e["category"] for e in entries] == ["edited", "new record"]

    def test_an_import_shows_in_the_feeds_of_the_records_it_touched(self, client, tmp_path, admin):
        from tests.spreadsheets import MIT_MITIGATION_HEADER, import_one, write_csv

        path = write_csv(
            tmp_path / "one.csv",
            [MIT_MITIGATION_HEADER, ["A0801_NIST2024", "Imported", "", "NIST2024", "3.2"]],
        )
        import_one(path, actor=admin)
        assert titles(read(client, {"source": "NIST2024"})[1])[0].startswith("Import of one.csv")
        assert titles(read(client, {"airm-preliminary": "3.2"})[1])[0].startswith("Import of")
        assert not titles(read(client, {"source": "Uuk2024"})[1])[0].startswith("Import of")

    @pytest.mark.parametrize(
        ("query", "named"),
        [
            ({"q": "audit"}, "q"),
            ({"status": "retired"}, "status"),
            ({"airm-preliminary": "9.9"}, "airm-preliminary"),
            ({"source": "Nobody2099"}, "source"),
            ({"record": "A0000001"}, "record"),
            ({"record": "nonsense"}, "record"),
        ],
    )
    def test_an_unusable_parameter_is_a_400_naming_it(self, client, query, named):
        response = client.get(FEED, query)
        assert response.status_code == 400
        assert named in response.content.decode()

    def test_unknown_parameters_are_ignored(self, client):
        assert client.get(FEED, {"utm_source": "reader"}).status_code == 200


class TestAdvertised:
    def link(self, href, title):
        return f'<link rel="alternate" type="application/atom+xml" title="{title}" href="{href}">'

    def test_every_page_offers_the_catalog_feed_the_home_page_included(self, client):
        for url in ("/", "/taxonomies/", "/sources/", "/coverage/"):
            assert self.link("/feed/", "Changes to the catalog") in client.get(url).text

    def test_a_filtered_list_offers_the_feed_of_its_nodes_and_sources(self, client):
        text = client.get(
            "/mitigations/", {"airm-preliminary": "3.1", "source": "NIST2024", "q": "x"}
        ).text
        assert (
            self.link(
                "/feed/?airm-preliminary=3.1&amp;source=NIST2024",
                "Changes to the mitigations in this list",
            )
            in text
        )

    def test_a_source_page_offers_its_feed(self, client):
        text = client.get("/sources/NIST2024/").text
        assert self.link("/feed/?source=NIST2024", "Changes to mitigations from NIST2024") in text

    def test_a_record_page_offers_its_feed(self, client):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        text = client.get(mitigation.get_absolute_url()).text
        assert (
            self.link(f"/feed/?record={mitigation.public_id}", f"Changes to {mitigation.public_id}")
            in text
        )
        assert f'<a href="/feed/?record={mitigation.public_id}">' in text
