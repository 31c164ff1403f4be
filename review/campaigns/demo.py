"""The demo's campaign (``load_reference_data --with-demo``): the ten NIST demo records, coded
into the draft taxonomy by the two demo contributors, blind, two coders per record."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from catalog.models import Taxonomy

from .models import Campaign

DEMO_CAMPAIGN = "Demo: recode the NIST records into the draft taxonomy"
DEMO_CODERS = ("demo-contributor", "demo-contributor2")
DEMO_CURATOR = "demo-curator"
DEMO_QUERY = "source=NIST2024"


def load_demo_campaign(report) -> None:
    from . import services

    if Campaign.objects.filter(name=DEMO_CAMPAIGN).exists():
        return
    users = get_user_model().objects
    curator = users.filter(username=DEMO_CURATOR).first()
    taxonomy = Taxonomy.objects.filter(slug="airm-draft").first()
    coders = list(users.filter(username__in=DEMO_CODERS))
    if curator is None or taxonomy is None or len(coders) != len(DEMO_CODERS):
        return
    campaign = services.campaign_create(
        name=DEMO_CAMPAIGN,
        taxonomy=taxonomy,
        query=DEMO_QUERY,
        instructions=(
            "Read each record and pick the node of the draft taxonomy where the mitigation "
            "acts. Say why in a line; flag it “unsure” when two nodes fit equally."
        ),
        coders_per_record=2,
        coders=coders,
        blind=True,
        actor=curator,
    )
    services.campaign_open(campaign=campaign, actor=curator)
    report.created["demo campaigns"] += 1
