"""Campaign fixtures: a small campaign on the draft taxonomy, built through the services."""

from __future__ import annotations

import pytest

from catalog.models import Mitigation, Taxonomy, TaxonomyNode
from review.campaigns import services

QUERY = "source=NIST2024"


@pytest.fixture
def draft_taxonomy(db):
    return Taxonomy.objects.get(slug="airm-draft")


@pytest.fixture
def node(draft_taxonomy):
    def get(code):
        return TaxonomyNode.objects.get(taxonomy=draft_taxonomy, code=code)

    return get


@pytest.fixture
def make_campaign(curator, draft_taxonomy):
    def make(*, coders=(), open=True, **kwargs):
        kwargs.setdefault("name", "Recode NIST")
        kwargs.setdefault("taxonomy", draft_taxonomy)
        kwargs.setdefault("query", QUERY)
        campaign = services.campaign_create(coders=coders, actor=curator, **kwargs)
        if open:
            services.campaign_open(campaign=campaign, actor=curator)
            campaign.refresh_from_db()
        return campaign

    return make


@pytest.fixture
def campaign(make_campaign, contributor, other_contributor):
    """Open, two coders (the two contributors), two coders per record, ten NIST records."""
    return make_campaign(coders=[contributor, other_contributor])


def nist_records():
    return list(Mitigation.objects.filter(source__short_ref="NIST2024").order_by("number"))
