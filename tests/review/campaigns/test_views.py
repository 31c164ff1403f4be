"""The campaign pages, for every persona: who sees and does what, blind coding, the coding
page without JavaScript, adjudication, codings in and out."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from catalog.models import Classification
from review.campaigns import services
from review.campaigns.models import Campaign, CampaignRecord, CampaignState, Coding, RecordState

from .conftest import nist_records

pytestmark = pytest.mark.django_db


def url(name, campaign, *args):
    return reverse(f"campaigns:{name}", args=[campaign.pk, *args])


def code(campaign, record, coder, *nodes, **kwargs):
    return services.coding_submit(
        campaign=campaign, mitigation=record, coder=coder, nodes=list(nodes), **kwargs
    )


# --------------------------------------------------------------------------- who sees what

# Pages of a campaign: (name, extra args, needs a record) and what each persona gets.
CURATOR_PAGES = ["edit", "report", "adjudication", "import"]


@pytest.mark.parametrize("page_name", CURATOR_PAGES)
def test_curator_pages_by_persona(page_name, persona, campaign, client_for):
    name, user = persona
    response = client_for(user).get(url(page_name, campaign))
    if name == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    elif name in ("curator", "other_curator", "admin"):
        assert response.status_code == 200
    else:
        # The contributors are the campaign's coders: they code, nothing more.
        assert response.status_code == 403


def test_the_campaign_page_by_persona(persona, campaign, client_for, django_user_model):
    name, user = persona
    response = client_for(user).get(url("detail", campaign))
    expected = {"anonymous": 302}.get(name, 200)
    assert response.status_code == expected
    if name in ("contributor", "other_contributor"):
        assert "Code the next record" in response.text
        assert "Adjudication" not in response.text


def test_a_contributor_who_is_not_a_coder_sees_no_campaign(
    make_campaign, contributor, other_contributor, client_for
):
    campaign = make_campaign(coders=[contributor])
    client = client_for(other_contributor)
    assert client.get(url("detail", campaign)).status_code == 403
    assert client.get(url("next", campaign)).status_code == 403
    record = nist_records()[0].public_id
    assert client.get(url("code", campaign, record)).status_code == 403
    assert campaign.name not in client.get(reverse("campaigns:list")).text


def test_coders_do_not_see_drafts(make_campaign, contributor, client_for):
    campaign = make_campaign(coders=[contributor], open=False, name="Draft one")
    client = client_for(contributor)
    assert "Draft one" not in client.get(reverse("campaigns:list")).text
    assert client.get(url("detail", campaign)).status_code == 403


@pytest.mark.parametrize("action", ["open", "close"])
def test_only_curators_open_and_close(action, persona, make_campaign, client_for, contributor):
    name, user = persona
    campaign = make_campaign(coders=[contributor], open=(action == "close"))
    response = client_for(user).post(url(action, campaign))
    campaign.refresh_from_db()
    if name in ("curator", "other_curator", "admin"):
        assert response.status_code == 302
        assert campaign.state == (CampaignState.OPEN if action == "open" else "closed")
    else:
        assert response.status_code in (302, 403)
        assert campaign.state == (CampaignState.DRAFT if action == "open" else "open")


def test_state_changes_are_post_only(campaign, client_for, curator):
    assert client_for(curator).get(url("close", campaign)).status_code == 405


def test_create_page_makes_a_draft(client_for, curator, contributor, draft_taxonomy):
    response = client_for(curator).post(
        reverse("campaigns:create"),
        {
            "name": "From the page",
            "instructions": "Code them",
            "taxonomy": draft_taxonomy.pk,
            "query": "?source=NIST2024",
            "coders_per_record": 2,
            "coder_names": contributor.username,
            "show_suggestions": "on",
        },
    )
    campaign = Campaign.objects.get(name="From the page")
    assert response.status_code == 302 and response["Location"] == campaign.get_absolute_url()
    assert campaign.query == "source=NIST2024"
    assert list(campaign.coders.all()) == [contributor]


def test_create_page_names_a_bad_field(client_for, curator, draft_taxonomy):
    response = client_for(curator).post(
        reverse("campaigns:create"),
        {
            "name": "Bad",
            "taxonomy": draft_taxonomy.pk,
            "query": "year_min=soon",
            "coders_per_record": 2,
            "coder_names": "nobody-like-this",
        },
    )
    assert response.status_code == 200
    assert "No active user named nobody-like-this" in response.text
    assert not Campaign.objects.filter(name="Bad").exists()


def test_a_contributor_cannot_create(client_for, contributor):
    assert client_for(contributor).get(reverse("campaigns:create")).status_code == 403


# --------------------------------------------------------------------------- coding


def test_next_leads_to_a_record_the_coder_has_not_coded(campaign, contributor, client_for):
    response = client_for(contributor).get(url("next", campaign))
    assert response.status_code == 302
    assert f"/campaigns/{campaign.pk}/code/A" in response["Location"]


def test_coding_without_javascript_records_the_code_and_moves_on(campaign, contributor, client_for):
    client = client_for(contributor)
    record = nist_records()[0]
    page = client.get(url("code", campaign, record.public_id))
    assert page.status_code == 200
    assert record.name in page.text
    assert 'type="radio" name="node" value="1.2.1"' in page.text
    assert 'id="tree-search"' in page.text and "campaign-coding.js" in page.text
    assert "<progress" in page.text
    response = client.post(
        url("code", campaign, record.public_id),
        {"node": "1.2.1", "reasoning": "A filter", "unsure": "on", "action": "submit"},
    )
    assert response.status_code == 302 and response["Location"] == url("next", campaign)
    coding = Coding.objects.get(record__mitigation=record, coder=contributor)
    assert [n.code for n in coding.nodes.all()] == ["1.2.1"]
    assert coding.reasoning == "A filter" and coding.unsure


def test_submitting_without_a_node_says_so_and_keeps_the_page(campaign, contributor, client_for):
    record = nist_records()[0]
    response = client_for(contributor).post(
        url("code", campaign, record.public_id), {"reasoning": "hm", "action": "submit"}
    )
    assert response.status_code == 200
    assert "Pick a node" in response.text
    assert not Coding.objects.filter(coder=contributor).exists()


def test_skip_button(campaign, contributor, client_for):
    record = nist_records()[0]
    client_for(contributor).post(url("code", campaign, record.public_id), {"action": "skip"})
    assert Coding.objects.get(record__mitigation=record, coder=contributor).skipped


def test_a_record_outside_the_campaign_is_404(campaign, contributor, client_for):
    assert client_for(contributor).get(url("code", campaign, "A9001")).status_code == 404


class TestBlindCoding:
    @pytest.fixture
    def setup(self, make_campaign, contributor, other_contributor, node, curator):
        campaign = make_campaign(coders=[contributor, other_contributor], blind=True)
        record = nist_records()[0]
        code(campaign, record, other_contributor, node("1.2.5"), reasoning="SECRET-REASON")
        current = Classification.objects.get(mitigation=record, taxonomy=campaign.taxonomy)
        return campaign, record, current

    def test_before_submitting_a_coder_sees_neither_others_codes_nor_the_current_class(
        self, setup, contributor, client_for
    ):
        campaign, record, current = setup
        page = client_for(contributor).get(url("code", campaign, record.public_id)).text
        assert "SECRET-REASON" not in page
        assert "Other coders" not in page
        assert f"Now in {campaign.taxonomy.name}" not in page
        assert f"{current.node.code} {escape(current.node.name)}" not in page
        # Other taxonomies' classifications stay visible.
        assert "AI Risk Mitigation Taxonomy" in page or "Lifecycle" in page

    def test_after_submitting_they_see_both(self, setup, contributor, client_for, node):
        campaign, record, current = setup
        code(campaign, record, contributor, node("1.2.1"))
        page = client_for(contributor).get(url("code", campaign, record.public_id)).text
        assert "SECRET-REASON" in page
        assert f"Now in {campaign.taxonomy.name}" in page
        assert f"{current.node.code} {escape(current.node.name)}" in page

    def test_without_blind_the_coder_sees_them_at_once(
        self, campaign, contributor, other_contributor, client_for, node
    ):
        record = nist_records()[0]
        code(campaign, record, other_contributor, node("1.2.5"), reasoning="OPEN-REASON")
        page = client_for(contributor).get(url("code", campaign, record.public_id)).text
        assert "OPEN-REASON" in page
        assert f"Now in {campaign.taxonomy.name}" in page


# --------------------------------------------------------------------------- adjudication


@pytest.fixture
def coded(campaign, contributor, other_contributor, node):
    records = nist_records()[:2]
    code(campaign, records[0], contributor, node("1.2.1"), reasoning="Agree A")
    code(campaign, records[0], other_contributor, node("1.2.1"), reasoning="Agree B")
    code(campaign, records[1], contributor, node("1.2.3"), reasoning="Mine says monitor")
    code(campaign, records[1], other_contributor, node("1.2.4"), reasoning="Mine says security")
    return records


def test_the_queue_shows_every_code_with_its_reasoning_disagreements_first(
    campaign, coded, curator, client_for
):
    page = client_for(curator).get(url("adjudication", campaign)).text
    assert "Mine says monitor" in page and "Mine says security" in page
    assert page.index(coded[1].public_id) < page.index(coded[0].public_id)
    assert "Accept the 1 record where the coders agree" in page


def test_a_curator_decides_on_the_page_and_the_record_page_shows_it(
    campaign, coded, curator, client_for
):
    client = client_for(curator)
    record = coded[1]
    page = client.get(url("adjudicate", campaign, record.public_id))
    assert page.status_code == 200 and "1 coder" in page.text
    response = client.post(
        url("adjudicate", campaign, record.public_id), {"node": "1.2.4", "note": "Security"}
    )
    assert response.status_code == 302
    row = CampaignRecord.objects.get(campaign=campaign, mitigation=record)
    assert row.state == RecordState.DECIDED and row.decided_by == curator
    detail = client_for(None).get(record.get_absolute_url()).text
    assert "1.2.4" in detail
    assert f"campaign:{campaign.pk}" in detail
    assert f"campaign #{campaign.pk}" in detail


def test_accepting_agreed_records_together(campaign, coded, curator, client_for):
    response = client_for(curator).post(url("accept-agreed", campaign))
    assert response.status_code == 302
    row = CampaignRecord.objects.get(campaign=campaign, mitigation=coded[0])
    assert row.state == RecordState.DECIDED and row.agreed
    assert CampaignRecord.objects.get(campaign=campaign, mitigation=coded[1]).state == "coded"


def test_a_curator_who_coded_a_record_cannot_open_its_decision(
    make_campaign, contributor, curator, client_for, node
):
    campaign = make_campaign(coders=[contributor, curator])
    record = nist_records()[0]
    code(campaign, record, contributor, node("1.2.1"))
    code(campaign, record, curator, node("1.2.3"))
    client = client_for(curator)
    assert client.get(url("adjudicate", campaign, record.public_id)).status_code == 403
    assert "another curator decides" in client.get(url("adjudication", campaign)).text
    response = client.post(url("adjudicate", campaign, record.public_id), {"node": "1.2.1"})
    assert response.status_code == 403


@pytest.mark.parametrize("who", ["anonymous", "contributor"])
def test_others_cannot_decide(who, campaign, coded, client_for, request):
    user = request.getfixturevalue(who) if who != "anonymous" else None
    client = client_for(user)
    response = client.post(url("adjudicate", campaign, coded[1].public_id), {"node": "1.2.4"})
    assert response.status_code in (302, 403)
    assert client.post(url("accept-agreed", campaign)).status_code in (302, 403)
    assert not CampaignRecord.objects.filter(campaign=campaign, state="decided").exists()


# --------------------------------------------------------------------------- in and out


def test_export_and_import_round_trip(
    campaign, coded, curator, client_for, make_campaign, contributor, other_contributor, tmp_path
):
    response = client_for(curator).get(url("export", campaign, "csv"))
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0] == "record,coder,code,reasoning,unsure,skipped,coded_at"
    assert len(lines) == 5
    other = make_campaign(coders=[contributor, other_contributor], name="Copy")
    upload = tmp_path / "codings.csv"
    upload.write_text(body)
    with upload.open("rb") as handle:
        preview = client_for(curator).post(url("import", other), {"file": handle, "dry_run": "on"})
    assert preview.status_code == 200 and "4 codings would be recorded" in preview.text
    assert not Coding.objects.filter(campaign=other).exists()
    with upload.open("rb") as handle:
        done = client_for(curator).post(url("import", other), {"file": handle})
    assert done.status_code == 302
    assert Coding.objects.filter(campaign=other).count() == 4


def test_export_xlsx(campaign, coded, curator, client_for):
    response = client_for(curator).get(url("export", campaign, "xlsx"))
    assert response.status_code == 200
    assert response.content[:2] == b"PK"


def test_contributors_cannot_export(campaign, contributor, client_for):
    assert client_for(contributor).get(url("export", campaign, "csv")).status_code == 403


# --------------------------------------------------------------------------- query counts


def test_the_coding_page_reads_a_fixed_number_of_queries(
    make_campaign, contributor, other_contributor, curator, client_for, node
):
    """Other coders' codes, the tree and the record's classifications come in a few queries
    whatever their number (suggestions are off here: they have their own cache)."""
    campaign = make_campaign(
        coders=[contributor, other_contributor, curator],
        coders_per_record=3,
        show_suggestions=False,
    )
    record = nist_records()[0]
    client = client_for(contributor)
    path = url("code", campaign, record.public_id)
    code(campaign, record, other_contributor, node("1.2.1"))
    client.get(path)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(path)
    code(campaign, record, curator, node("1.2.3"))
    with CaptureQueriesContext(connection) as two:
        page = client.get(path)
    assert "Other coders" in page.text
    assert len(two) == len(one) == 15


def test_the_adjudication_queue_does_not_grow_with_its_records(
    campaign, contributor, other_contributor, curator, client_for, node
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    records = nist_records()
    client = client_for(curator)
    code(campaign, records[0], contributor, node("1.2.1"))
    code(campaign, records[0], other_contributor, node("1.2.3"))
    with CaptureQueriesContext(connection) as few:
        client.get(url("adjudication", campaign))
    for record in records[1:6]:
        code(campaign, record, contributor, node("1.2.1"))
        code(campaign, record, other_contributor, node("1.2.4"))
    with CaptureQueriesContext(connection) as many:
        page = client.get(url("adjudication", campaign))
    assert page.text.count("disagree</span>") == 6
    assert len(many) == len(few)


# --------------------------------------------------------------------------- the report


def test_the_report_shows_agreement_per_level_per_node_confusion_and_coders(
    campaign, coded, curator, client_for
):
    pytest.importorskip("review.campaigns.agreement")
    services.records_accept_agreed(campaign=campaign, actor=curator)
    page = client_for(curator).get(url("report", campaign))
    assert page.status_code == 200
    html = page.text
    levels = html[
        html.index("data-agreement") : html.index("</table>", html.index("data-agreement"))
    ]
    rows = levels.split("<tr>")[2:]
    assert len(rows) == 3  # the draft taxonomy's three levels
    assert "1.000" in rows[0] and "1.000" in rows[1]  # 1 / 1.2: the coders agree
    assert "0.500" in rows[2]  # deepest: one record of two
    assert 'class="heatmap"' in html and "heat heat--" in html
    assert "1.2.3" in html and "1.2.4" in html
    assert "cora-contributor" in html and "otto-contributor" in html


def test_the_report_of_a_campaign_without_codes(campaign, curator, client_for):
    page = client_for(curator).get(url("report", campaign))
    assert page.status_code == 200


def test_the_coding_page_shows_three_numbered_suggestions_with_scores(
    campaign, contributor, client_for
):
    pytest.importorskip("review.campaigns.suggest")
    page = client_for(contributor).get(url("code", campaign, nist_records()[0].public_id)).text
    assert page.count("data-suggestion=") == 3
    assert '<meter min="0" max="1" value="0.' in page or 'max="1" value="1' in page
    assert "<kbd>1</kbd>" in page and "<kbd>3</kbd>" in page


def test_suggestions_stay_hidden_when_the_campaign_says_so(make_campaign, contributor, client_for):
    campaign = make_campaign(coders=[contributor], show_suggestions=False)
    page = client_for(contributor).get(url("code", campaign, nist_records()[0].public_id)).text
    assert "data-suggestion=" not in page


# --------------------------------------------------------------------- every page and persona

CODER = ("contributor", "other_contributor")  # the campaign fixture's coders
CURATORS = ("curator", "other_curator", "admin")


def _pages(campaign):
    record = nist_records()[0].public_id
    return [
        # (method, url, who may, data)
        ("get", reverse("campaigns:list"), CODER + CURATORS, None),
        ("get", reverse("campaigns:create"), CURATORS, None),
        ("post", reverse("campaigns:create"), CURATORS, {"name": ""}),
        ("get", url("detail", campaign), CODER + CURATORS, None),
        ("get", url("edit", campaign), CURATORS, None),
        ("post", url("edit", campaign), CURATORS, {"name": ""}),
        ("get", url("next", campaign), CODER, None),
        ("get", url("code", campaign, record), CODER, None),
        ("post", url("code", campaign, record), CODER, {"action": "skip"}),
        ("get", url("report", campaign), CURATORS, None),
        ("get", url("adjudication", campaign), CURATORS, None),
        ("post", url("accept-agreed", campaign), CURATORS, {}),
        ("get", url("adjudicate", campaign, record), CURATORS, None),
        ("get", url("import", campaign), CURATORS, None),
        ("post", url("import", campaign), CURATORS, {}),
        ("get", url("export", campaign, "csv"), CURATORS, None),
        ("get", url("export", campaign, "xlsx"), CURATORS, None),
    ]


def test_every_page_and_action_for_every_persona(persona, campaign, client_for):
    name, user = persona
    client = client_for(user)
    for method, path, allowed, data in _pages(campaign):
        response = getattr(client, method)(path, data or {})
        where = f"{name} {method.upper()} {path}"
        if user is None:
            assert response.status_code == 302, where
            assert "/accounts/login/" in response["Location"], where
        elif name in allowed:
            assert response.status_code in (200, 302), where
        else:
            assert response.status_code == 403, where


def test_the_import_page_lists_row_errors_and_writes_nothing(
    campaign, curator, contributor, client_for, tmp_path
):
    record = nist_records()[0].public_id
    upload = tmp_path / "codings.csv"
    upload.write_text(
        f"record,coder,code\n{record},{contributor.username},1.2.1\n{record},ghost,1.2.1\n"
    )
    with upload.open("rb") as handle:
        page = client_for(curator).post(url("import", campaign), {"file": handle})
    assert page.status_code == 200
    assert "Not imported: 1 error" in page.text
    assert "coder: no user “ghost”." in page.text
    assert not Coding.objects.filter(campaign=campaign).exists()


def test_the_import_page_names_a_file_it_cannot_read(campaign, curator, client_for, tmp_path):
    upload = tmp_path / "codings.csv"
    upload.write_bytes(b"")
    with upload.open("rb") as handle:
        page = client_for(curator).post(url("import", campaign), {"file": handle})
    assert page.status_code == 200
    assert "empty" in page.text


def test_editing_an_open_campaign_keeps_its_scope(campaign, curator, client_for):
    client = client_for(curator)
    form = client.get(url("edit", campaign)).text
    assert 'name="query"' in form and "disabled" in form
    response = client.post(
        url("edit", campaign),
        {
            "name": "Renamed on the page",
            "instructions": "New words",
            "query": "q=something-else",
            "coders_per_record": 5,
            "coder_names": "cora-contributor, otto-contributor",
            "show_suggestions": "on",
        },
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "Renamed on the page" and campaign.instructions == "New words"
    assert campaign.query == "source=NIST2024" and campaign.coders_per_record == 2
