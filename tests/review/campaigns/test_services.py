"""The campaign's writes: its life, the codings (and the race for a record's last slot), and
the decisions that reclassify records through the catalog's services."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from catalog.models import Classification, Mitigation
from review.campaigns import selectors, services
from review.campaigns.models import CampaignRecord, CampaignState, Coding, RecordState

from .conftest import QUERY, nist_records

pytestmark = pytest.mark.django_db


def code(campaign, record, coder, *nodes, **kwargs):
    return services.coding_submit(
        campaign=campaign, mitigation=record, coder=coder, nodes=list(nodes), **kwargs
    )


class TestTheCampaignsLife:
    def test_a_curator_creates_a_draft_that_fixes_its_scope_when_it_opens(
        self, make_campaign, contributor
    ):
        campaign = make_campaign(coders=[contributor], open=False)
        assert campaign.state == CampaignState.DRAFT
        assert campaign.records.count() == 0
        services.campaign_open(campaign=campaign, actor=campaign.created_by)
        campaign.refresh_from_db()
        assert campaign.state == CampaignState.OPEN
        assert sorted(r.mitigation_id for r in campaign.records.all()) == sorted(
            m.pk for m in nist_records()
        )
        assert len(nist_records()) == 10
        assert {r.needed for r in campaign.records.all()} == {2}

    def test_without_coders_the_coders_group_codes(self, make_campaign):
        campaign = make_campaign(open=False)
        assert campaign.coders_group.name == "Coders"

    def test_a_contributor_cannot_create_a_campaign(self, contributor, draft_taxonomy):
        with pytest.raises(services.NotAllowed):
            services.campaign_create(name="Mine", taxonomy=draft_taxonomy, actor=contributor)

    def test_a_scope_the_list_would_refuse_is_refused_naming_the_field(
        self, curator, draft_taxonomy
    ):
        with pytest.raises(ValidationError) as caught:
            services.campaign_create(
                name="Bad", taxonomy=draft_taxonomy, query="year_min=abc", actor=curator
            )
        assert "query" in caught.value.message_dict

    def test_a_scope_that_selects_nothing_cannot_open(self, make_campaign, contributor):
        campaign = make_campaign(coders=[contributor], open=False, query="q=zzzzqqqxx")
        with pytest.raises(ValidationError):
            services.campaign_open(campaign=campaign, actor=campaign.created_by)

    def test_opening_an_open_campaign_is_a_wrong_state(self, campaign, curator):
        with pytest.raises(services.WrongState):
            services.campaign_open(campaign=campaign, actor=curator)

    def test_close_then_reopen(self, campaign, curator):
        services.campaign_close(campaign=campaign, actor=curator)
        campaign.refresh_from_db()
        assert campaign.state == CampaignState.CLOSED
        with pytest.raises(services.WrongState):
            services.campaign_close(campaign=campaign, actor=curator)
        services.campaign_open(campaign=campaign, actor=curator)
        campaign.refresh_from_db()
        assert campaign.state == CampaignState.OPEN

    def test_the_scope_is_fixed_once_open(self, campaign, curator):
        with pytest.raises(services.WrongState):
            services.campaign_update(campaign=campaign, data={"query": "q=x"}, actor=curator)
        services.campaign_update(campaign=campaign, data={"name": "Renamed"}, actor=curator)
        campaign.refresh_from_db()
        assert campaign.name == "Renamed" and campaign.query == QUERY


class TestCoding:
    def test_a_coder_codes_a_record_and_takes_a_slot(self, campaign, contributor, node):
        record = nist_records()[0]
        coding = code(campaign, record, contributor, node("1.2.1"), reasoning="Filters")
        assert [n.code for n in coding.nodes.all()] == ["1.2.1"]
        row = CampaignRecord.objects.get(campaign=campaign, mitigation=record)
        assert (row.coded, row.state) == (1, RecordState.CODING)

    def test_the_last_code_makes_the_record_coded(
        self, campaign, contributor, other_contributor, node
    ):
        record = nist_records()[0]
        code(campaign, record, contributor, node("1.2.1"))
        code(campaign, record, other_contributor, node("1.2.3"))
        row = CampaignRecord.objects.get(campaign=campaign, mitigation=record)
        assert (row.coded, row.state) == (2, RecordState.CODED)

    def test_a_record_never_gets_more_coders_than_asked(
        self, make_campaign, contributor, other_contributor, curator, node
    ):
        campaign = make_campaign(coders=[contributor, other_contributor], coders_per_record=1)
        record = nist_records()[0]
        code(campaign, record, contributor, node("1.2.1"))
        with pytest.raises(services.WrongState, match="has all the codes it needs"):
            code(campaign, record, other_contributor, node("1.2.1"))
        assert Coding.objects.filter(campaign=campaign).count() == 1

    def test_a_coder_codes_a_record_once(self, campaign, contributor, node):
        record = nist_records()[0]
        code(campaign, record, contributor, node("1.2.1"))
        with pytest.raises(services.WrongState, match="already"):
            code(campaign, record, contributor, node("1.2.3"))

    def test_someone_who_is_not_a_coder_cannot_code(self, campaign, curator, node):
        with pytest.raises(services.NotAllowed):
            code(campaign, nist_records()[0], curator, node("1.2.1"))

    def test_a_single_valued_taxonomy_takes_one_node(self, campaign, contributor, node):
        with pytest.raises(ValidationError, match="one node"):
            code(campaign, nist_records()[0], contributor, node("1.2.1"), node("1.2.3"))

    def test_a_node_of_another_taxonomy_is_refused(self, campaign, contributor):
        from catalog.models import TaxonomyNode

        other = TaxonomyNode.objects.filter(taxonomy__slug="airm-preliminary").first()
        with pytest.raises(ValidationError, match="is not a node of"):
            code(campaign, nist_records()[0], contributor, other)

    def test_a_record_outside_the_scope_is_refused(self, campaign, contributor, node):
        outside = Mitigation.objects.exclude(source__short_ref="NIST2024").first()
        with pytest.raises(ValidationError, match="is not in the campaign"):
            code(campaign, outside, contributor, node("1.2.1"))

    def test_a_closed_campaign_takes_no_codes(self, campaign, curator, contributor, node):
        services.campaign_close(campaign=campaign, actor=curator)
        with pytest.raises(services.WrongState, match="not open"):
            code(campaign, nist_records()[0], contributor, node("1.2.1"))

    def test_skipping_leaves_the_record_to_others_and_out_of_the_skippers_queue(
        self, campaign, contributor, other_contributor, node
    ):
        first = selectors.next_record(campaign, contributor)
        services.coding_skip(campaign=campaign, mitigation=first.mitigation, coder=contributor)
        assert selectors.next_record(campaign, contributor).pk != first.pk
        assert first.pk in set(
            selectors.records_open_to(campaign, other_contributor).values_list("pk", flat=True)
        )
        # A coder may still code what they skipped, from its page.
        code(campaign, first.mitigation, contributor, node("1.2.1"))
        assert Coding.objects.get(record=first, coder=contributor).skipped is False


class TestTheQueue:
    def test_next_gives_records_the_coder_has_not_coded_until_none_is_left(
        self, campaign, contributor, node
    ):
        seen = []
        while (record := selectors.next_record(campaign, contributor)) is not None:
            assert record.pk not in seen
            seen.append(record.pk)
            code(campaign, record.mitigation, contributor, node("1.2.1"))
        assert len(seen) == 10
        assert selectors.coder_progress(campaign, contributor).percent == 100

    def test_next_prefers_records_with_fewer_codes(
        self, make_campaign, contributor, other_contributor, curator, node
    ):
        campaign = make_campaign(coders=[contributor, other_contributor, curator])
        first = selectors.next_record(campaign, contributor)
        code(campaign, first.mitigation, contributor, node("1.2.1"))
        # The other coder starts on a record nobody has coded yet.
        assert selectors.next_record(campaign, other_contributor).coded == 0

    def test_records_full_of_codes_leave_everyones_queue(
        self, make_campaign, contributor, other_contributor, curator, node
    ):
        campaign = make_campaign(
            coders=[contributor, other_contributor, curator], coders_per_record=2
        )
        record = nist_records()[0]
        code(campaign, record, contributor, node("1.2.1"))
        code(campaign, record, other_contributor, node("1.2.1"))
        open_to_curator = selectors.records_open_to(campaign, curator)
        assert not open_to_curator.filter(mitigation=record).exists()
        assert open_to_curator.count() == 9

    def test_progress(self, campaign, contributor, node):
        code(campaign, nist_records()[0], contributor, node("1.2.1"))
        progress = selectors.campaign_progress(campaign)
        assert (progress["codes"].done, progress["codes"].total) == (1, 20)
        mine = selectors.coder_progress(campaign, contributor)
        assert (mine.done, mine.total) == (1, 10)


class TestDecisions:
    @pytest.fixture
    def coded(self, campaign, contributor, other_contributor, node):
        records = nist_records()[:3]
        code(campaign, records[0], contributor, node("1.2.1"), reasoning="Filters outputs")
        code(campaign, records[0], other_contributor, node("1.2.1"), reasoning="Guardrail")
        code(campaign, records[1], contributor, node("1.2.3"))
        code(campaign, records[1], other_contributor, node("1.2.4"), unsure=True)
        code(campaign, records[2], contributor, node("1.2.3"))
        return records

    def test_deciding_reclassifies_with_one_history_entry_naming_campaign_coders_and_curator(
        self, campaign, coded, curator, node
    ):
        record = CampaignRecord.objects.get(campaign=campaign, mitigation=coded[1])
        before = Classification.history.filter(mitigation_id=coded[1].pk).count()
        services.record_decide(record=record, nodes=[node("1.2.4")], actor=curator, note="Ok")
        current = Classification.objects.get(mitigation=coded[1], taxonomy=campaign.taxonomy)
        assert current.node.code == "1.2.4"
        rows = Classification.history.filter(mitigation_id=coded[1].pk).order_by("history_id")
        assert rows.count() == before + 1
        last = rows.last()
        assert last.history_ref == f"campaign:{campaign.pk}"
        assert last.history_user == curator
        assert f"campaign:{campaign.pk}" in last.history_change_reason
        assert "Cora" in last.history_change_reason and "Otto" in last.history_change_reason
        assert "adjudicated by Cecil" in last.history_change_reason
        record.refresh_from_db()
        assert record.state == RecordState.DECIDED
        assert [n.code for n in record.final_nodes.all()] == ["1.2.4"]

    def test_a_record_is_decided_once(self, campaign, coded, curator, other_curator, node):
        record = CampaignRecord.objects.get(campaign=campaign, mitigation=coded[1])
        services.record_decide(record=record, nodes=[node("1.2.4")], actor=curator)
        with pytest.raises(services.WrongState, match="decided already"):
            services.record_decide(record=record, nodes=[node("1.2.3")], actor=other_curator)

    def test_a_record_still_needing_codes_cannot_be_decided(self, campaign, coded, curator, node):
        record = CampaignRecord.objects.get(campaign=campaign, mitigation=coded[2])
        with pytest.raises(services.WrongState, match="still needs codes"):
            services.record_decide(record=record, nodes=[node("1.2.3")], actor=curator)

    def test_a_curator_never_adjudicates_a_record_they_coded(
        self, make_campaign, contributor, curator, node
    ):
        campaign = make_campaign(coders=[contributor, curator])
        record = nist_records()[0]
        code(campaign, record, contributor, node("1.2.1"))
        code(campaign, record, curator, node("1.2.3"))
        row = CampaignRecord.objects.get(campaign=campaign, mitigation=record)
        with pytest.raises(services.NotAllowed, match="You coded this record"):
            services.record_decide(record=row, nodes=[node("1.2.1")], actor=curator)

    def test_a_contributor_cannot_decide(self, campaign, coded, contributor, node):
        record = CampaignRecord.objects.get(campaign=campaign, mitigation=coded[1])
        with pytest.raises(services.NotAllowed):
            services.record_decide(record=record, nodes=[node("1.2.1")], actor=contributor)

    def test_agreed_records_are_accepted_together(self, campaign, coded, curator):
        decided = services.records_accept_agreed(campaign=campaign, actor=curator)
        assert [r.mitigation_id for r in decided] == [coded[0].pk]
        current = Classification.objects.get(mitigation=coded[0], taxonomy=campaign.taxonomy)
        assert current.node.code == "1.2.1"
        assert CampaignRecord.objects.get(pk=decided[0].pk).agreed is True


# --------------------------------------------------------------------------- a real race


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_coders_taking_the_last_slot_at_the_same_moment_one_gets_it(
    make_campaign, contributor, other_contributor, curator, node
):
    """Two real PostgreSQL connections submit the last code of a record behind a barrier."""
    if connection.vendor != "postgresql":
        pytest.skip("needs two concurrent PostgreSQL connections (SQLite serialises writers)")
    campaign = make_campaign(coders=[contributor, other_contributor, curator])
    record = nist_records()[0]
    code(campaign, record, curator, node("1.2.1"))  # one slot of two left
    target = node("1.2.3")
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def submit(user):
        try:
            barrier.wait(timeout=10)
            results[user.username] = code(campaign, record, user, target)
        except services.CampaignError as error:
            results[user.username] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(u,)) for u in (contributor, other_contributor)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    outcomes = list(results.values())
    assert len([o for o in outcomes if isinstance(o, Coding)]) == 1, outcomes
    refused = [o for o in outcomes if isinstance(o, services.WrongState)]
    assert len(refused) == 1, outcomes
    assert "has all the codes it needs" in refused[0].message
    row = CampaignRecord.objects.get(campaign=campaign, mitigation=record)
    assert (row.coded, row.state) == (2, RecordState.CODED)
    assert Coding.objects.filter(record=row, skipped=False).count() == 2
