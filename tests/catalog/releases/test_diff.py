"""What changed between two releases, record by record (catalog.releases.diff)."""

import pytest

from catalog import services
from catalog.models import Mitigation, TaxonomyNode
from catalog.releases import diff
from catalog.releases import services as releases
from tests.factories import MitigationFactory, place

pytestmark = pytest.mark.django_db


def record(number):
    return Mitigation.objects.get(number=number)


def changes_between(curator, change):
    older = releases.cut_release(version="1", actor=curator)
    change()
    newer = releases.cut_release(version="2", actor=curator)
    return {c.public_id: c for c in diff.release_diff(older, newer)}


def test_identical_releases_differ_in_nothing(curator):
    assert changes_between(curator, lambda: None) == {}


def test_added_edited_retired_merged_and_restored(curator):
    def change():
        MitigationFactory(name="Brand new", actor=curator)
        services.mitigation_update(
            mitigation=record(9001),
            data={"name": "Renamed", "definition": "New words"},
            actor=curator,
            reason="t",
        )
        services.mitigation_retire(mitigation=record(9004), actor=curator, reason="Gone")
        services.mitigation_merge(
            mitigation=record(9005), into=record(9006), actor=curator, reason="Same"
        )
        services.mitigation_restore(mitigation=record(9058), actor=curator, reason="Back")

    found = changes_between(curator, change)
    added = [c for c in found.values() if c.kinds == ["added"]]
    assert len(added) == 1 and added[0].name == "Brand new"
    assert found["A9001"].kinds == ["edited"]
    assert found["A9001"].fields["name"][1] == "Renamed"
    assert set(found["A9001"].fields) == {"name", "definition"}
    assert found["A9004"].kinds == ["retired"] and found["A9004"].status == ("active", "retired")
    assert found["A9005"].kinds == ["merged"]
    assert found["A9058"].kinds == ["restored"]
    assert len(found) == 5


def test_reclassified_names_old_and_new_codes_per_taxonomy(curator):
    mitigation = record(9001)
    current = mitigation.classifications.get(taxonomy__slug="airm-preliminary").node
    target = (
        TaxonomyNode.objects.filter(taxonomy__slug="airm-preliminary", parent__isnull=False)
        .exclude(pk=current.pk)
        .first()
    )

    def change():
        services.mitigation_reclassify(
            mitigation=mitigation,
            taxonomy=target.taxonomy,
            placements=place(target),
            actor=curator,
            reason="Better fit",
        )

    found = changes_between(curator, change)
    assert found["A9001"].kinds == ["reclassified"]
    assert found["A9001"].classifications["airm-preliminary"] == ([current.code], [target.code])


def test_a_changed_reasoning_is_an_edit():
    old = {
        "name": "n",
        "definition": "",
        "source": "S",
        "section": "",
        "status": "active",
        "merged_into": None,
        "status_note": "",
        "classifications": [["t", "1", "old reason"]],
    }
    new = {**old, "classifications": [["t", "1", "new reason"]]}
    change = diff.compare(1, old, new)
    assert change.kinds == ["edited"]
    assert change.fields == {"t 1 reasoning": ("old reason", "new reason")}


def test_a_record_only_in_the_older_release_was_removed():
    data = {"name": "n", "status": "active", "classifications": []}
    assert diff.compare(7, data, None).kinds == ["removed"]
