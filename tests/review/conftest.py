"""Proposals for the review tests, made through the real workflow."""

from __future__ import annotations

import pytest

from catalog.models import Mitigation, Taxonomy, TaxonomyNode
from review import workflow
from review.models import ProposalKind

RECORD = 9001  # A9001 "Adversarial training" in the demo data, classified 2.3 (airm-preliminary)
OTHER_RECORD = 9002  # A9002 "Robustness certificates"


@pytest.fixture
def record():
    return Mitigation.objects.get(number=RECORD)


@pytest.fixture
def other_record():
    return Mitigation.objects.get(number=OTHER_RECORD)


@pytest.fixture
def preliminary():
    return Taxonomy.objects.get(slug="airm-preliminary")


# A source document the demo data does not hold, as a new_source proposal carries it.
NEW_SOURCE = {
    "short_ref": "Example2026",
    "title": "Frontier model safeguards in practice",
    "authors": "Ann Example; Bo Other",
    "year": 2026,
    "url": "https://example.org/safeguards",
    "doi": "10.5555/example.2026",
    "doc_type": "preprint",
    "abstract": "How laboratories put safeguards in place.",
}


def node(code: str, slug: str = "airm-preliminary") -> TaxonomyNode:
    return TaxonomyNode.objects.get(taxonomy__slug=slug, code=code)


def new_proposal(author, *, kind=ProposalKind.EDIT, mitigation=None, submit=True, **kw):
    """A proposal of ``kind`` by ``author`` with sensible changes; submitted unless told."""
    defaults = {
        ProposalKind.EDIT: lambda: {"changes": {"section_path": "Model development > Robustness"}},
        ProposalKind.RECLASSIFY: lambda: {
            "changes": {"placements": [[node("3.1").pk, "It is a kind of testing"]]},
            "taxonomy": Taxonomy.objects.get(slug="airm-preliminary"),
        },
        ProposalKind.RETIRE: lambda: {"changes": {}},
        ProposalKind.MERGE: lambda: {
            "changes": {"into": Mitigation.objects.get(number=OTHER_RECORD).pk}
        },
        ProposalKind.NEW: lambda: {
            "changes": {
                "name": "Independent pre-deployment audits of frontier models",
                "definition": "An outside party audits the model before release.",
                "source": Mitigation.objects.get(number=RECORD).source_id,
                "section_path": "Audits",
                "placements": [[node("3.1").pk, "An audit is testing"]],
            }
        },
        ProposalKind.NEW_SOURCE: lambda: {"changes": dict(NEW_SOURCE)},
    }[kind]()
    args = {**defaults, **kw}
    if kind not in (ProposalKind.NEW, ProposalKind.NEW_SOURCE) and mitigation is None:
        mitigation = Mitigation.objects.get(number=RECORD)
    return workflow.proposal_create(
        kind=kind,
        author=author,
        mitigation=mitigation,
        rationale=args.pop("rationale", "Because the source says so."),
        submit=submit,
        **args,
    )


@pytest.fixture
def make_proposal():
    return new_proposal


@pytest.fixture
def upload_dir(settings, tmp_path):
    """A private upload folder of the test's own (the bulk proposal tests use it)."""
    settings.IMPORT_UPLOAD_DIR = tmp_path / "private-uploads"
    return settings.IMPORT_UPLOAD_DIR
