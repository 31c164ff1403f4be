"""Every free-text field has a length limit, enforced in forms, imports and the database."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import IntegrityError, models, transaction
from django.urls import reverse

from catalog import limits
from catalog.limits import MaxLengthConstraint
from catalog.models import Mitigation, SourceDocument, TaxonomyNode
from review import workflow
from review.models import Comment, Proposal, ProposalEvent, ProposalKind
from tests.review.conftest import new_proposal

pytestmark = pytest.mark.django_db


def curated_and_review_models():
    for app in ("catalog", "review"):
        for model in apps.get_app_config(app).get_models():
            # Unmanaged models (SQLite's search index) mirror bounded columns; nothing writes them.
            if not model.__name__.startswith("Historical") and model._meta.managed:
                yield model


def test_every_text_field_has_a_limit_a_validator_and_a_named_database_check():
    unbounded = []
    for model in curated_and_review_models():
        checks = {c.field: c for c in model._meta.constraints if isinstance(c, MaxLengthConstraint)}
        for field in model._meta.get_fields():
            if not isinstance(field, models.TextField):
                continue
            check = checks.get(field.name)
            if (
                field.max_length is None
                or check is None
                or check.limit != field.max_length
                or not check.name.endswith(f"_{field.name}_length")
                or not any(
                    getattr(v, "limit_value", None) == field.max_length for v in field.validators
                )
            ):
                unbounded.append(f"{model.__name__}.{field.name}")
    assert unbounded == []


@pytest.mark.parametrize(
    ("model", "field", "limit"),
    [
        (Mitigation, "definition", limits.DEFINITION),
        (Mitigation, "status_note", limits.NOTE),
        (SourceDocument, "abstract", limits.ABSTRACT),
        (TaxonomyNode, "definition", limits.DEFINITION),
        (Proposal, "rationale", limits.NOTE),
    ],
)
def test_the_database_refuses_text_over_the_limit(model, field, limit, contributor):
    if model is Proposal:
        new_proposal(contributor)
    row = model.objects.order_by("pk").first()
    model.objects.filter(pk=row.pk).update(**{field: "x" * limit})  # at the limit: stored

    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=row.pk).update(**{field: "x" * (limit + 1)})


def test_the_database_refuses_an_overlong_comment_and_event_note(contributor):
    proposal = new_proposal(contributor)
    with pytest.raises(IntegrityError), transaction.atomic():
        Comment.objects.create(
            proposal=proposal, author=contributor, body="c" * (limits.COMMENT + 1)
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        ProposalEvent.objects.create(
            proposal=proposal, action="updated", to_state=proposal.state, revision=1,
            note="n" * (limits.NOTE + 1),
        )  # fmt: skip


def test_validation_names_the_field_and_the_length(record):
    record.definition = "d" * (limits.DEFINITION + 1)

    with pytest.raises(Exception) as refused:
        record.full_clean()

    assert refused.value.message_dict == {
        "definition": ["Ensure this value has at most 10000 characters (it has 10001)."]
    }


@pytest.fixture
def record():
    return Mitigation.objects.get(number=9001)


def test_a_proposal_form_refuses_an_overlong_definition(client_for, contributor, record):
    response = client_for(contributor).post(
        reverse("review:propose-new"),
        {
            "name": "Something new",
            "definition": "d" * (limits.DEFINITION + 1),
            "source": record.source_id,
            "rationale": "Because",
            "intent": "submit",
        },
    )

    assert "Ensure this value has at most 10000 characters (it has 10001)." in response.text
    assert not Proposal.objects.exists()


def test_a_proposal_made_without_the_form_is_refused_too(contributor, record):
    with pytest.raises(Exception) as refused:
        new_proposal(
            contributor,
            kind=ProposalKind.EDIT,
            changes={"definition": "d" * (limits.DEFINITION + 1)},
        )

    assert "definition" in refused.value.message_dict
    assert not Proposal.objects.exists()


def test_an_overlong_decision_note_is_refused_and_nothing_changes(client_for, contributor, curator):
    proposal = new_proposal(contributor)
    response = client_for(curator).post(
        reverse("review:proposal-reject", args=[proposal.pk]),
        {"note": "n" * (limits.NOTE + 1)},
        follow=True,
    )

    assert "Keep the note under 5,000 characters (it has 5,001)." in response.text
    assert Proposal.objects.get(pk=proposal.pk).state == "submitted"


def test_an_overlong_approval_note_is_refused(client_for, contributor, curator):
    proposal = new_proposal(contributor)

    response = client_for(curator).post(
        reverse("review:proposal-approve", args=[proposal.pk]),
        {"note": "n" * (limits.NOTE + 1)},
        follow=True,
    )

    assert "Keep the note under 5,000 characters" in response.text
    assert Proposal.objects.get(pk=proposal.pk).state == "submitted"


def test_an_overlong_comment_is_a_form_error(client_for, contributor):
    proposal = new_proposal(contributor)

    response = client_for(contributor).post(
        reverse("review:proposal-comment", args=[proposal.pk]),
        {"body": "c" * (limits.COMMENT + 1)},
        follow=True,
    )

    assert "Ensure this value has at most 10000 characters" in response.text
    assert not Comment.objects.exists()


def test_the_admin_refuses_an_overlong_definition(client_for, admin, record):
    url = reverse("admin:catalog_mitigation_change", args=[record.pk])
    page = client_for(admin).get(url)
    assert f'maxlength="{limits.DEFINITION}"' in page.text

    response = client_for(admin).post(
        url,
        {
            "number": record.number,
            "name": record.name,
            "definition": "d" * (limits.DEFINITION + 1),
            "source": record.source_id,
            "status": record.status,
        },
    )

    assert response.status_code == 200
    assert "Ensure this value has at most 10000 characters (it has 10001)." in response.text
    assert Mitigation.objects.get(pk=record.pk).definition == record.definition


def test_a_service_refuses_an_overlong_reason(record, admin):
    from catalog import services

    with pytest.raises(Exception) as refused:
        services.mitigation_update(
            mitigation=record, data={"name": "Renamed"}, actor=admin, reason="r" * 2001
        )

    assert refused.value.message_dict == {"reason": ["Keep the reason under 2,000 characters."]}


def test_workflow_notes_are_bounded_in_the_service_too(contributor, curator):
    proposal = new_proposal(contributor)

    with pytest.raises(Exception) as refused:
        workflow.proposal_request_changes(
            proposal=proposal, actor=curator, note="n" * (limits.NOTE + 1)
        )

    assert refused.value.message_dict == {
        "note": ["Keep the note under 5,000 characters (it has 5,001)."]
    }
