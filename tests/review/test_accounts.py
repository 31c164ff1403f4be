"""People: sign up with a confirmed email, sign in and out, reset a password, settings, roles."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from catalog.roles import is_curator
from review.models import Profile

from .conftest import new_proposal

pytestmark = pytest.mark.django_db

User = get_user_model()


def link_in(message) -> str:
    return re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)


class TestSignUp:
    def test_sign_up_confirms_the_email_by_a_link_before_signing_in(self, client, mailoutbox):
        response = client.post(
            reverse("account_signup"),
            {
                "email": "newcomer@example.org",
                "username": "newcomer",
                "password1": "a-long-and-unusual-passphrase",
                "password2": "a-long-and-unusual-passphrase",
            },
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("account_email_verification_sent")
        assert "_auth_user_id" not in client.session  # not signed in before confirming
        (message,) = mailoutbox
        assert message.to == ["newcomer@example.org"]
        confirm_url = link_in(message)
        page = client.get(confirm_url)
        assert page.status_code == 200  # GET only shows the confirm button
        assert not User.objects.get(username="newcomer").emailaddress_set.get().verified
        client.post(confirm_url)
        assert User.objects.get(username="newcomer").emailaddress_set.get().verified
        response = client.post(
            reverse("account_login"),
            {"login": "newcomer", "password": "a-long-and-unusual-passphrase"},
        )
        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(User.objects.get(username="newcomer").pk)

    def test_an_unconfirmed_account_cannot_sign_in(self, client, django_user_model, mailoutbox):
        django_user_model.objects.create_user(
            "unconfirmed", "unconfirmed@example.org", "a-long-and-unusual-passphrase"
        )
        client.post(
            reverse("account_login"),
            {"login": "unconfirmed", "password": "a-long-and-unusual-passphrase"},
        )
        assert "_auth_user_id" not in client.session
        assert mailoutbox and mailoutbox[0].to == ["unconfirmed@example.org"]

    def test_the_sign_up_page_uses_the_site_layout(self, client):
        response = client.get(reverse("account_signup"))
        assert response.status_code == 200
        assert 'class="site-header"' in response.text
        assert '<label for="id_email">' in response.text


class TestSignInAndOut:
    def test_a_persona_signs_in_with_username_or_email(self, client, contributor):
        from tests.conftest import PASSWORD

        for login in ("cora-contributor", "cora-contributor@example.org"):
            client.post(reverse("account_login"), {"login": login, "password": PASSWORD})
            assert client.session["_auth_user_id"] == str(contributor.pk)
            client.post(reverse("account_logout"))
            assert "_auth_user_id" not in client.session

    def test_the_demo_contributor_can_sign_in(self, client):
        response = client.post(
            reverse("account_login"),
            {"login": "demo-contributor", "password": "demo-contributor-pass"},
        )
        assert response.status_code == 302
        assert "_auth_user_id" in client.session

    def test_signing_out_is_a_post(self, client_for, contributor):
        client = client_for(contributor)
        page = client.get(reverse("catalog:home"))
        assert f'action="{reverse("account_logout")}"' in page.text
        client.get(reverse("account_logout"))  # shows a confirmation page, signs nobody out
        assert "_auth_user_id" in client.session

    def test_password_reset_sends_a_link(self, client, contributor, mailoutbox):
        response = client.post(reverse("account_reset_password"), {"email": contributor.email})
        assert response.status_code == 302
        (message,) = mailoutbox
        assert "/accounts/password/reset/key/" in link_in(message)


class TestSettings:
    def test_a_person_sets_a_display_name_and_email_preferences(self, client_for, contributor):
        client = client_for(contributor)
        response = client.post(
            reverse("review:settings"),
            {"display_name": "  Cora   C. ", "email_on_my_proposals": ""},
        )
        assert response.status_code == 302
        contributor.refresh_from_db()
        assert contributor.get_full_name() == "Cora C."
        assert not Profile.objects.get(user=contributor).email_on_my_proposals
        assert "Cora C." in client.get(reverse("catalog:home")).text

    def test_the_display_name_appears_on_proposals(self, client, client_for, contributor):
        client_for(contributor).post(
            reverse("review:settings"),
            {"display_name": "Dr Cora", "email_on_my_proposals": "on"},
        )
        contributor.refresh_from_db()
        proposal = new_proposal(contributor)
        assert "Proposed by Dr Cora" in client.get(proposal.get_absolute_url()).text


class TestCurators:
    def test_grant_curator_makes_a_user_a_curator(self, contributor, capsys):
        assert not is_curator(contributor)
        call_command("grant_curator", "cora-contributor")
        assert is_curator(contributor)
        assert "is now a curator" in capsys.readouterr().out
        call_command("grant_curator", "cora-contributor")
        assert "already a curator" in capsys.readouterr().out

    def test_grant_curator_names_an_unknown_user(self):
        with pytest.raises(CommandError, match="No user named 'nobody'"):
            call_command("grant_curator", "nobody")

    def test_an_admin_appoints_a_curator_in_the_admin(self, client_for, admin, contributor):
        from django.contrib.auth.models import Group

        from catalog.roles import CURATORS_GROUP

        curators = Group.objects.get(name=CURATORS_GROUP)
        client = client_for(admin)
        page = client.get(reverse("admin:auth_user_change", args=[contributor.pk]))
        assert page.status_code == 200
        form = page.context["adminform"].form
        data = {
            key: value
            for key, value in form.initial.items()
            if value is not None and key not in {"groups", "user_permissions", "password"}
        }
        data.update({"groups": [curators.pk], "last_login_0": "", "last_login_1": ""})
        data["date_joined_0"], data["date_joined_1"] = (
            contributor.date_joined.strftime("%Y-%m-%d"),
            contributor.date_joined.strftime("%H:%M:%S"),
        )
        response = client.post(reverse("admin:auth_user_change", args=[contributor.pk]), data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        assert is_curator(contributor)


class TestAdmin:
    def test_proposals_are_read_only_in_the_admin(self, client_for, admin, contributor):
        proposal = new_proposal(contributor)
        client = client_for(admin)
        page = client.get(reverse("admin:review_proposal_change", args=[proposal.pk]))
        assert page.status_code == 200
        assert "Submitted" in page.text
        assert client.get(reverse("admin:review_proposal_add")).status_code == 403
        delete = client.post(reverse("admin:review_proposal_delete", args=[proposal.pk]))
        assert delete.status_code == 403

    def test_the_proposal_list_in_the_admin(self, client_for, admin, contributor):
        new_proposal(contributor)
        page = client_for(admin).get(reverse("admin:review_proposal_changelist"))
        assert page.status_code == 200
        assert "A9001" in page.text


def test_history_rows_link_back_to_their_proposal(contributor, curator, record):
    from catalog.history import ref_url
    from review import workflow

    proposal = new_proposal(contributor)
    workflow.proposal_approve(proposal=proposal, actor=curator)
    row = record.history.latest()
    assert ref_url(row.history_ref) == reverse("review:proposal-detail", args=[proposal.pk])
    assert ref_url("proposal:not-a-number") is None
