"""The tallies equal a recount of the catalog after every kind of write, on both databases."""

from collections import Counter

import pytest
from django.db import connection, transaction

from catalog import services, tallies
from catalog.models import (
    Classification,
    Mitigation,
    MitigationStatus,
    NodeTally,
    TallyChange,
    TallyClaim,
    TallyMember,
    TaxonomyNode,
)
from catalog.services import MitigationUpsert
from tests.factories import (
    MitigationFactory,
    SourceDocumentFactory,
    TaxonomyFactory,
    TaxonomyNodeFactory,
    place,
)

pytestmark = pytest.mark.django_db

REASON = "Tally test"


def recount() -> Counter:
    """(node id, source id, status) → mitigations at or below the node, counted in Python from
    the rows themselves (node 0: all), without the tallies' SQL."""
    paths = {
        node_id: (taxonomy_id, path)
        for node_id, taxonomy_id, path in TaxonomyNode.objects.values_list(
            "id", "taxonomy_id", "path"
        )
    }
    placed: dict[int, set[int]] = {}
    for mitigation_id, node_id in Classification.objects.values_list("mitigation_id", "node_id"):
        placed.setdefault(mitigation_id, set()).add(node_id)
    expected: Counter = Counter()
    for mitigation_id, source_id, status in Mitigation.objects.values_list(
        "id", "source_id", "status"
    ):
        expected[(0, source_id, status)] += 1
        above = {
            other
            for node_id in placed.get(mitigation_id, ())
            for other, (taxonomy_id, path) in paths.items()
            if paths[node_id][0] == taxonomy_id and paths[node_id][1].startswith(path)
        }
        for node_id in above:
            expected[(node_id, source_id, status)] += 1
    return expected


def kept() -> Counter:
    return Counter(
        {
            (node_id, source_id, status): total
            for node_id, source_id, status, total in NodeTally.objects.values_list(
                "node_id", "source_id", "status", "total"
            )
            if total
        }
    )


def assert_tallies_right():
    assert tallies.ready()
    assert not TallyClaim.objects.exists()
    assert kept() == recount()
    assert not NodeTally.objects.filter(total__lte=0).exists()


@pytest.fixture
def world(curator):
    single = TaxonomyFactory(slug="prelim", multi_valued=False)
    multi = TaxonomyFactory(slug="actors", multi_valued=True, kind="vocabulary")
    top = TaxonomyNodeFactory(taxonomy=single, code="3")
    nodes = {
        "3": top,
        "3.1": TaxonomyNodeFactory(taxonomy=single, code="3.1", parent=top),
        "3.2": TaxonomyNodeFactory(taxonomy=single, code="3.2", parent=top),
        "4": TaxonomyNodeFactory(taxonomy=single, code="4"),
        "dev": TaxonomyNodeFactory(taxonomy=multi, code="dev"),
    }
    nodes["dev.a"] = TaxonomyNodeFactory(taxonomy=multi, code="dev.a", parent=nodes["dev"])
    nodes["dev.b"] = TaxonomyNodeFactory(taxonomy=multi, code="dev.b", parent=nodes["dev"])
    sources = [SourceDocumentFactory(short_ref="Tally2024"), SourceDocumentFactory(year=2025)]
    records = [
        MitigationFactory(source=sources[0], placements=place(nodes["3.1"], nodes["dev.a"])),
        # two nodes of one subtree: counted once at "dev"
        MitigationFactory(
            source=sources[0], placements=place(nodes["3.2"], nodes["dev.a"], nodes["dev.b"])
        ),
        MitigationFactory(source=sources[1], placements=place(nodes["4"])),
        MitigationFactory(source=sources[1]),
    ]
    return {
        "single": single,
        "multi": multi,
        "nodes": nodes,
        "sources": sources,
        "records": records,
        "actor": curator,
    }


def test_creating_records_keeps_the_tallies(world):
    nodes, sources = world["nodes"], world["sources"]
    assert_tallies_right()
    tally = {
        tuple(key): total
        for *key, total in NodeTally.objects.values_list("node_id", "source_id", "status", "total")
    }
    active = MitigationStatus.ACTIVE
    assert tally[(nodes["dev"].pk, sources[0].pk, active)] == 2  # once each, not three
    assert tally[(nodes["3"].pk, sources[0].pk, active)] == 2
    assert tally[(0, sources[1].pk, active)] == 2


def test_the_triggers_are_all_there():
    if connection.vendor == "postgresql":
        found = {
            name
            for (name,) in connection.cursor()
            .execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            .fetchall()
        }
    else:
        found = {
            name
            for (name,) in connection.cursor()
            .execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            .fetchall()
        }
    assert set(tallies.TRIGGERS) <= found


def test_reclassifying_moves_the_counts(world):
    record, nodes = world["records"][0], world["nodes"]
    services.mitigation_reclassify(
        mitigation=record,
        taxonomy=world["single"],
        placements=place(nodes["4"]),
        actor=world["actor"],
        reason=REASON,
    )
    assert_tallies_right()
    services.mitigation_reclassify(
        mitigation=record,
        taxonomy=world["multi"],
        placements=[],
        actor=world["actor"],
        reason=REASON,
    )
    assert_tallies_right()


def test_changing_the_source_moves_the_counts(world):
    record = world["records"][1]
    services.mitigation_update(
        mitigation=record,
        data={"source": world["sources"][1]},
        actor=world["actor"],
        reason=REASON,
    )
    assert_tallies_right()


def test_an_edit_that_changes_no_count_notes_nothing(world):
    record = world["records"][0]
    with transaction.atomic():
        Mitigation.objects.filter(pk=record.pk).update(name="A new name")
        assert tallies.ready()  # no change noted: the name is not counted
    services.mitigation_update(
        mitigation=record, data={"name": "Another"}, actor=world["actor"], reason=REASON
    )
    assert_tallies_right()


def test_retire_merge_and_restore(world):
    first, second, third, _ = world["records"]
    actor = world["actor"]
    services.mitigation_retire(mitigation=first, actor=actor, reason=REASON)
    assert_tallies_right()
    services.mitigation_merge(mitigation=second, into=third, actor=actor, reason=REASON)
    assert_tallies_right()
    services.mitigation_restore(mitigation=first, actor=actor, reason=REASON)
    services.mitigation_restore(mitigation=second, actor=actor, reason=REASON)
    assert_tallies_right()


def test_moving_a_node_moves_everything_below_it(world):
    nodes = world["nodes"]
    services.taxonomy_node_update(
        node=nodes["3"], data={"parent": nodes["4"]}, actor=world["actor"], reason=REASON
    )
    assert TaxonomyNode.objects.get(pk=nodes["3.1"].pk).path.startswith("/4/")
    assert_tallies_right()


def test_a_bulk_import_and_its_revert(world):
    nodes, source = world["nodes"], world["sources"][0]
    items = [
        MitigationUpsert(
            number=9000 + n,
            data={"name": f"Imported {n}", "source": source, "definition": "Imported."},
            placements={world["single"]: [services.Placement(node=nodes["3.2"])]},
        )
        for n in range(5)
    ]
    items.append(
        MitigationUpsert(
            number=world["records"][0].number,
            data={"name": "Changed by import"},
            placements={world["single"]: [services.Placement(node=nodes["4"])]},
        )
    )
    services.mitigation_bulk_upsert(
        items=items, actor=world["actor"], reason=REASON, ref="import-batch:77"
    )
    assert_tallies_right()
    services.change_set_revert(
        ref="import-batch:77", actor=world["actor"], reason=REASON, revert_ref="revert:77"
    )
    assert_tallies_right()


def test_a_failed_write_leaves_the_tallies_as_they_were(world):
    before = kept()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.mitigation_retire(
            mitigation=world["records"][0], actor=world["actor"], reason=REASON
        )
        raise RuntimeError("roll back")
    assert kept() == before
    assert_tallies_right()


def test_writes_outside_the_services_wait_for_the_next_fold(world):
    record = world["records"][2]
    Mitigation.objects.filter(pk=record.pk).update(status=MitigationStatus.RETIRED)
    Classification.objects.filter(mitigation=record)._raw_delete(connection.alias)
    assert not tallies.ready()  # the pages count the catalog meanwhile
    assert kept() != recount()
    MitigationFactory(source=world["sources"][0])  # any write folds every waiting change
    assert_tallies_right()


def test_deleting_records_takes_them_out(world):
    record = world["records"][1]
    with transaction.atomic():
        Classification.objects.filter(mitigation=record)._raw_delete(connection.alias)
        Mitigation.objects.filter(pk=record.pk)._raw_delete(connection.alias)
        tallies.fold()
    assert_tallies_right()
    assert not TallyMember.objects.filter(mitigation_id=record.pk).exists()


def test_rebuild_recounts_everything(world):
    NodeTally.objects.all().delete()
    TallyChange.objects.create(mitigation_id=world["records"][0].pk)
    with transaction.atomic():
        tallies.rebuild()
    assert_tallies_right()


def test_a_fold_with_nothing_waiting_changes_nothing(world, django_assert_num_queries):
    before = kept()
    with transaction.atomic(), django_assert_num_queries(1):
        assert tallies.fold() == 0
    assert kept() == before
