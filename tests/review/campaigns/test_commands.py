"""manage.py campaign_create, campaign_import_codings and campaign_agreement."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from review.campaigns import services
from review.campaigns.demo import DEMO_CAMPAIGN
from review.campaigns.models import Campaign, CampaignState, Coding

from .conftest import nist_records

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_campaign_create_prints_the_new_id(contributor, other_contributor):
    out = run(
        "campaign_create",
        "--name",
        "From the shell",
        "--taxonomy",
        "airm-draft",
        "--query",
        "source=NIST2024",
        "--coders-per-record",
        "3",
        "--coders",
        f"{contributor.username},{other_contributor.username}",
        "--blind",
    )
    campaign = Campaign.objects.get(pk=int(out.strip()))
    assert campaign.name == "From the shell"
    assert campaign.taxonomy.slug == "airm-draft"
    assert campaign.query == "source=NIST2024"
    assert campaign.coders_per_record == 3
    assert campaign.blind is True
    assert campaign.state == CampaignState.DRAFT
    assert set(campaign.coders.values_list("username", flat=True)) == {
        contributor.username,
        other_contributor.username,
    }


def test_campaign_create_defaults_to_the_coders_group():
    out = run("campaign_create", "--name", "Group", "--taxonomy", "lifecycle", "--open")
    campaign = Campaign.objects.get(pk=int(out))
    assert campaign.coders_group.name == "Coders"
    assert campaign.coders_per_record == 2 and not campaign.blind
    assert campaign.state == CampaignState.OPEN


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--taxonomy", "no-such"], "no taxonomy"),
        (["--taxonomy", "airm-draft", "--coders", "ghost"], "no user ghost"),
        (["--taxonomy", "airm-draft", "--query", "year_min=x"], "Enter a whole number"),
        (["--taxonomy", "airm-draft", "--coders-per-record", "0"], "coders"),
    ],
)
def test_campaign_create_refuses_bad_input_naming_it(args, message):
    with pytest.raises(CommandError, match=message):
        run("campaign_create", "--name", "Bad", *args)


def _codings_file(tmp_path, rows, name="codings.csv"):
    path = tmp_path / name
    path.write_text("record,coder,code,reasoning,unsure\n" + "\n".join(rows) + "\n")
    return path


def test_import_codings_dry_run_then_for_real(campaign, contributor, other_contributor, tmp_path):
    records = nist_records()
    path = _codings_file(
        tmp_path,
        [
            f"{records[0].public_id},{contributor.username},1.2.1,Filters,",
            f"{records[0].public_id},{other_contributor.username},1.2.3,Watch,yes",
            f"{records[1].public_id},model-run-user-absent,1.2.1,,",
        ][:2],
    )
    out = run("campaign_import_codings", str(campaign.pk), str(path), "--dry-run")
    assert "2 codings would be recorded" in out
    assert not Coding.objects.filter(campaign=campaign).exists()
    out = run("campaign_import_codings", str(campaign.pk), str(path))
    assert "Imported 2 codings" in out
    unsure = Coding.objects.get(campaign=campaign, coder=other_contributor)
    assert unsure.unsure and unsure.reasoning == "Watch"


def test_import_codings_is_all_or_nothing_with_row_errors(campaign, contributor, tmp_path):
    records = nist_records()
    path = _codings_file(
        tmp_path,
        [
            f"{records[0].public_id},{contributor.username},1.2.1,,",
            f"{records[1].public_id},nobody-here,1.2.1,,",
            f"{records[2].public_id},{contributor.username},9.9.9,,",
            f"A9001,{contributor.username},1.2.1,,",
            f"{records[3].public_id},{contributor.username},1.2.1,,perhaps",
        ],
    )
    err = StringIO()
    with pytest.raises(CommandError, match="Nothing imported: 4 error"):
        call_command(
            "campaign_import_codings", str(campaign.pk), str(path), stdout=StringIO(), stderr=err
        )
    messages = err.getvalue()
    assert "row 3" in messages and "no user “nobody-here”" in messages
    assert "row 4" in messages and "9.9.9 not in" in messages
    assert "row 5" in messages and "A9001 is not in the campaign" in messages
    assert "row 6" in messages and "unsure" in messages
    assert not Coding.objects.filter(campaign=campaign).exists()


def test_import_codings_joins_codes_for_a_multi_valued_taxonomy(
    make_campaign, contributor, tmp_path
):
    from tests.factories import TaxonomyFactory, TaxonomyNodeFactory

    taxonomy = TaxonomyFactory(multi_valued=True)
    for code in ("M1", "M2", "M3"):
        TaxonomyNodeFactory(taxonomy=taxonomy, code=code)
    campaign = make_campaign(coders=[contributor], taxonomy=taxonomy)
    record = nist_records()[0].public_id
    path = _codings_file(
        tmp_path,
        [f"{record},{contributor.username},M1; M3,Both,", f"{record},{contributor.username},M2,,"],
    )
    run("campaign_import_codings", str(campaign.pk), str(path))
    coding = Coding.objects.get(campaign=campaign)
    assert sorted(coding.nodes.values_list("code", flat=True)) == ["M1", "M2", "M3"]
    assert coding.reasoning == "Both"


def test_import_codings_names_a_missing_column(campaign, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("record,who,code\nA0001,x,1\n")
    with pytest.raises(CommandError):
        call_command(
            "campaign_import_codings",
            str(campaign.pk),
            str(path),
            stdout=StringIO(),
            stderr=(err := StringIO()),
        )
    assert "no column “coder”" in err.getvalue()


def test_campaign_agreement_prints_one_json_object(campaign, contributor, other_contributor, node):
    pytest.importorskip("review.campaigns.agreement")
    records = nist_records()
    pairs = [("1.2.1", "1.2.1"), ("1.2.3", "1.2.3"), ("1.2.1", "1.2.3"), ("1.2.4", "1.2.4")]
    for record, (a, b) in zip(records, pairs, strict=False):
        for coder, code in ((contributor, a), (other_contributor, b)):
            services.coding_submit(
                campaign=campaign, mitigation=record, coder=coder, nodes=[node(code)]
            )
    services.coding_submit(
        campaign=campaign, mitigation=records[5], coder=contributor, nodes=[node("1.2.1")]
    )
    data = json.loads(run("campaign_agreement", str(campaign.pk), "--json"))
    assert data["records"] == 10
    assert data["coded_records"] == 4
    assert data["coders"] == 2
    assert data["observed_agreement"] == pytest.approx(0.75)
    # Cohen's kappa by hand: p_o = 3/4; marginals a: 1.2.1×2, 1.2.3, 1.2.4; b: 1.2.1, 1.2.3×2,
    # 1.2.4; p_e = (2·1 + 1·2 + 1·1) / 16 = 5/16; kappa = (12/16 − 5/16) / (11/16) = 7/11.
    assert data["cohen_kappa"] == pytest.approx(7 / 11)
    assert data["fleiss_kappa"] is not None
    assert data["krippendorff_alpha"] is not None


def test_campaign_agreement_of_an_unknown_campaign():
    with pytest.raises(CommandError, match="No campaign"):
        run("campaign_agreement", "999999", "--json")


def test_the_demo_has_a_small_open_blind_campaign_on_the_draft_taxonomy():
    campaign = Campaign.objects.get(name=DEMO_CAMPAIGN)
    assert campaign.state == CampaignState.OPEN
    assert campaign.taxonomy.slug == "airm-draft"
    assert campaign.records.count() == 10
    assert sorted(campaign.coders.values_list("username", flat=True)) == [
        "demo-contributor",
        "demo-contributor2",
    ]


def test_loading_the_demo_again_adds_no_second_campaign():
    from catalog.reference_data import load_reference_data

    report = load_reference_data(with_demo=True)
    assert Campaign.objects.filter(name=DEMO_CAMPAIGN).count() == 1
    assert "demo campaigns" not in report.created
