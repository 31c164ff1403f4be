"""Links into the public list: ``{% mitigations_url node source=source %}``."""

from django import template

from catalog import filters

register = template.Library()


@register.simple_tag
def mitigations_url(*nodes, source=None):
    """The list filtered to ``nodes`` (their ``taxonomy`` loaded) and, optionally, ``source``."""
    return filters.mitigation_list_url(*[node for node in nodes if node], source=source)


@register.filter
def elided_pages(page):
    """Page numbers around ``page`` with the first and last, gaps as ``Paginator.ELLIPSIS``."""
    return page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)


@register.filter
def node_label(node):
    """``"3.1 Testing & Auditing"`` for a taxonomy's node; just the name for a vocabulary's
    (whose codes, like ``deploy``, are for URLs, not readers). Needs ``node.taxonomy`` loaded.
    """
    return filters.node_label(node)
