from django import template
from django.utils import timezone

from catalog.citations import plain_text

from ..citations import release_citation
from ..selectors import release_list_for_record

register = template.Library()


@register.inclusion_tag("releases/includes/_mitigation_releases_panel.html", takes_context=True)
def mitigation_releases(context, mitigation):
    """The releases that hold ``mitigation``, and the citation of the latest one (one query)."""
    releases = release_list_for_record(mitigation.number)
    if not releases:
        return {"releases": []}
    latest = releases[0]
    request = context.get("request")
    path = latest.get_absolute_url()
    url = request.build_absolute_uri(path) if request else path
    citation = release_citation(latest, url=url, accessed=timezone.localdate())
    return {"releases": releases, "citation_text": plain_text(citation)}
