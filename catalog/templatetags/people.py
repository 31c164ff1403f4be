"""How people are named on pages: ``{% load people %}{{ proposal.author|display_name }}``."""

from django import template

from catalog import roles

register = template.Library()


@register.filter
def display_name(user, default: str = "the system") -> str:
    """:func:`catalog.roles.display_name`: ``{{ row.history_user|display_name:"system" }}``."""
    return roles.display_name(user or None, default)
