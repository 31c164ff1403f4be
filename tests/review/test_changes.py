"""The kinds of proposal (review.changes.KINDS): each is declared whole."""

from __future__ import annotations

import typing

import pytest
from django.core.exceptions import ValidationError
from django.template.loader import get_template

from review import changes, forms, workflow
from review.models import Proposal, ProposalKind


def test_every_kind_of_proposal_has_its_spec():
    assert set(changes.KINDS) == set(ProposalKind.values)
    for kind, spec in changes.KINDS.items():
        assert spec.kind == kind


@pytest.mark.parametrize("kind", ProposalKind.values)
def test_every_kind_has_a_form_and_a_form_page(kind):
    form_class = forms.form_for(kind)
    assert hasattr(form_class, "to_changes")
    assert get_template(f"review/proposal_form_{kind}.html")


@pytest.mark.parametrize("kind", ProposalKind.values)
def test_every_kind_validates_and_applies_in_its_own_way(kind):
    spec = type(changes.KINDS[kind])
    assert spec.validate is not changes.KindSpec.validate
    assert spec.apply is not changes.KindSpec.apply


def test_an_unknown_kind_is_refused_naming_the_kind():
    with pytest.raises(ValidationError, match="Unknown kind of proposal: rename"):
        changes.validate(kind="rename", mitigation=None, taxonomy=None, changes={})


@pytest.mark.parametrize("kind", ProposalKind.values)
def test_every_kind_declares_the_shape_of_its_changes(kind):
    spec = changes.KINDS[kind]
    assert spec.changes_type in typing.get_args(changes.ProposalChanges)
    assert all(isinstance(key, str) for key in spec.change_keys())


def test_an_edit_proposes_exactly_the_record_fields():
    assert changes.KINDS[ProposalKind.EDIT].change_keys() == set(changes.EDITABLE_FIELDS)


@pytest.mark.django_db
def test_a_key_outside_the_kinds_shape_is_refused_naming_it(contributor, record, other_record):
    with pytest.raises(ValidationError) as error:
        workflow.proposal_create(
            kind=ProposalKind.MERGE,
            author=contributor,
            mitigation=record,
            changes={"into": other_record.pk, "status": "merged"},
            rationale="Duplicates.",
        )
    assert error.value.message_dict == {"status": ["This field cannot be proposed."]}
    assert not Proposal.objects.exists()
