"""People and their roles: who is a curator, and how a person is named."""

import pytest
from django.template import Context, Template

from catalog.roles import display_name, is_curator

pytestmark = pytest.mark.django_db


def test_a_person_is_named_by_their_display_name_else_their_username(contributor):
    contributor.first_name, contributor.last_name = "", ""
    assert display_name(contributor) == contributor.get_username()
    contributor.first_name = "Cora"
    assert display_name(contributor) == "Cora"


def test_no_one_is_the_system_unless_told_otherwise():
    assert display_name(None) == "the system"
    assert display_name(None, "system") == "system"


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
    assert is_curator(user) == (name in {"curator", "other_curator", "admin"})
