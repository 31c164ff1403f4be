"""Roles are permissions; people are deactivated, not deleted; the review rules' groups stay;
how a person is named."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.template import Context, Template
from django.urls import reverse

from catalog import roles, services
from catalog.models import Mitigation
from review import permissions, workflow
from review.notifications import curators_to_notify
from tests.review.conftest import new_proposal

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    """Staff without any permission: let into the admin, nothing more."""
    return django_user_model.objects.create_user(
        "stan-staff", email="stan@example.org", password="x", is_staff=True
    )


@pytest.fixture
def record():
    return Mitigation.objects.get(number=9001)


# --------------------------------------------------------------------------- permissions


def test_curators_hold_the_decide_permission_through_their_group(curator):
    curators = Group.objects.get(name=roles.CURATORS_GROUP)

    assert curators.permissions.filter(codename="decide_proposal").exists()
    assert curator.has_perm(roles.DECIDE_PERMISSION)
    assert roles.is_curator(curator)


def test_staff_without_the_permissions_is_neither_curator_nor_admin_of_the_rules(
    staff, contributor
):
    draft = new_proposal(contributor, submit=False)

    assert not roles.is_curator(staff)
    assert not roles.can_oversee(staff)
    assert not permissions.can_view(staff, draft)
    assert not permissions.can_see_queue(staff)


def test_a_permission_given_to_one_person_makes_them_a_curator(staff):
    staff.user_permissions.add(roles.permission_object(roles.DECIDE_PERMISSION))

    assert roles.is_curator(staff)
    assert staff in curators_to_notify(None)


def test_the_oversee_permission_shows_drafts_and_releases_claims(
    staff, contributor, curator, other_curator
):
    staff.user_permissions.add(roles.permission_object(roles.OVERSEE_PERMISSION))
    draft = new_proposal(contributor, submit=False)
    claimed = new_proposal(contributor)
    workflow.proposal_claim(proposal=claimed, actor=curator)
    claimed.refresh_from_db()

    assert permissions.can_view(staff, draft)
    assert permissions.can_release(staff, claimed)
    assert not permissions.can_release(other_curator, claimed)


def test_superusers_hold_every_review_permission(admin):
    assert roles.is_curator(admin) and roles.can_oversee(admin)


def test_a_deactivated_curator_decides_nothing(curator):
    curator.is_active = False
    curator.save()

    assert not roles.is_curator(curator)


def test_the_rules_ask_one_query(curator, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert roles.is_curator(curator)


def test_grant_curator_keeps_the_permission_on_the_group(django_user_model):
    from review.accounts import curator_grant

    Group.objects.get(name=roles.CURATORS_GROUP).permissions.clear()
    person = django_user_model.objects.create_user("new-curator")

    curator_grant(user=person)

    assert roles.is_curator(person)


# --------------------------------------------------------------------------- people


def test_someone_who_made_history_cannot_be_deleted(record, admin):
    services.mitigation_update(mitigation=record, data={"name": "Renamed"}, actor=admin, reason="x")

    refused = pytest.raises(roles.AttributionProtected, match="Deactivate them instead")
    with refused, transaction.atomic():
        admin.delete()

    assert Mitigation.history.filter(history_user=admin).exists()


def test_someone_who_never_changed_anything_can_be_deleted(django_user_model):
    person = django_user_model.objects.create_user("mistaken-signup")

    person.delete()

    assert not django_user_model.objects.filter(username="mistaken-signup").exists()


def test_the_admin_offers_deactivation_not_deletion(client_for, admin, record, contributor):
    services.mitigation_update(
        mitigation=record, data={"name": "Renamed"}, actor=contributor, reason="x"
    )
    client = client_for(admin)
    changelist = client.get(reverse("admin:auth_user_changelist"))
    assert 'value="deactivate"' in changelist.text
    assert 'value="delete_selected"' not in changelist.text
    page = client.get(reverse("admin:auth_user_change", args=[contributor.pk]))
    assert "can be deactivated, not deleted" in page.text
    assert reverse("admin:auth_user_delete", args=[contributor.pk]) not in page.text

    refused = client.post(reverse("admin:auth_user_delete", args=[contributor.pk]), {"post": "yes"})
    assert refused.status_code == 403

    response = client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "deactivate", "_selected_action": [contributor.pk]},
        follow=True,
    )
    contributor.refresh_from_db()
    assert not contributor.is_active
    assert "Deactivated 1 person." in response.text
    assert LogEntry.objects.filter(
        object_id=str(contributor.pk), change_message__contains="Deactivated"
    ).exists()
    history = client.get(record.get_absolute_url())
    assert "Cora" in history.text  # their name stays on the change they made


def test_a_deactivated_person_is_signed_out_and_cannot_sign_in(client_for, contributor):
    client = client_for(contributor)
    contributor.is_active = False
    contributor.save()

    assert client.get(reverse("review:mine")).status_code == 302  # sent to sign in
    assert not client.login(username=contributor.username, password="correct-horse-battery-staple")


def test_an_admin_cannot_deactivate_themselves(client_for, admin):
    client_for(admin).post(
        reverse("admin:auth_user_changelist"),
        {"action": "deactivate", "_selected_action": [admin.pk]},
    )

    admin.refresh_from_db()
    assert admin.is_active


# --------------------------------------------------------------------------- groups


def test_the_curators_group_cannot_be_deleted_in_the_orm(curator):
    refused = pytest.raises(roles.AttributionProtected, match="would lock them out")
    with refused, transaction.atomic():
        Group.objects.get(name=roles.CURATORS_GROUP).delete()
    with pytest.raises(roles.AttributionProtected), transaction.atomic():
        Group.objects.filter(name=roles.CURATORS_GROUP).delete()

    assert roles.is_curator(curator)


def test_any_group_holding_a_review_permission_is_protected():
    reviewers = Group.objects.create(name="Senior reviewers")
    reviewers.permissions.add(roles.permission_object(roles.OVERSEE_PERMISSION))

    with pytest.raises(roles.AttributionProtected), transaction.atomic():
        reviewers.delete()


def test_other_groups_can_be_deleted():
    Group.objects.create(name="Newsletter").delete()

    assert not Group.objects.filter(name="Newsletter").exists()


def test_the_admin_refuses_to_delete_the_curators_group_and_records_the_attempt(
    client_for, admin, curator
):
    group = Group.objects.get(name=roles.CURATORS_GROUP)
    client = client_for(admin)
    page = client.get(reverse("admin:auth_group_change", args=[group.pk]))
    assert reverse("admin:auth_group_delete", args=[group.pk]) not in page.text

    response = client.post(
        reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"}, follow=True
    )

    assert "cannot be deleted: the review rules depend on it" in response.text
    assert Group.objects.filter(pk=group.pk).exists()
    assert LogEntry.objects.filter(
        object_id=str(group.pk), change_message__startswith="Refused to delete"
    ).exists()
    changelist = client.get(reverse("admin:auth_group_changelist"))
    assert 'value="delete_selected"' not in changelist.text


def test_the_curators_group_keeps_its_permission_and_name_in_the_admin(client_for, admin):
    group = Group.objects.get(name=roles.CURATORS_GROUP)

    response = client_for(admin).post(
        reverse("admin:auth_group_change", args=[group.pk]),
        {"name": "Renamed", "permissions": []},
    )

    assert response.status_code == 200
    assert "keeps “Can review and decide others&#x27; proposals (curators)”" in response.text
    group.refresh_from_db()
    assert group.name == roles.CURATORS_GROUP
    assert group.permissions.filter(codename="decide_proposal").exists()


def test_the_permissions_are_listed_for_groups_in_the_admin(client_for, admin):
    page = client_for(admin).get(reverse("admin:auth_group_add"))

    for permission in Permission.objects.filter(
        codename__in=["decide_proposal", "oversee_proposals"]
    ):
        assert f'value="{permission.pk}"' in page.text


# --------------------------------------------------------------------------- names


def test_a_person_is_named_by_their_display_name_else_their_username(contributor):
    contributor.first_name, contributor.last_name = "", ""
    assert roles.display_name(contributor) == contributor.get_username()
    contributor.first_name = "Cora"
    assert roles.display_name(contributor) == "Cora"


def test_no_one_is_the_system_unless_told_otherwise():
    assert roles.display_name(None) == "the system"
    assert roles.display_name(None, "system") == "system"


def test_the_template_filter_names_people_the_same_way(contributor):
    contributor.first_name = "Cora"
    template = Template(
        "{% load people %}{{ who|display_name }} / {{ nobody|display_name }} / "
        '{{ nobody|display_name:"system" }}'
    )
    rendered = template.render(Context({"who": contributor, "nobody": None}))
    assert rendered == "Cora / the system / system"


def test_curators_are_the_group_and_superusers(persona):
    name, user = persona
    assert roles.is_curator(user) == (name in {"curator", "other_curator", "admin"})
