from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from . import selectors
from .models import parse_public_id


@require_safe
def home(request):
    return render(
        request,
        "catalog/home.html",
        {
            "summaries": selectors.taxonomy_list_top_level_counts(),
            "mitigation_count": selectors.mitigation_count_active(),
        },
    )


@require_safe
def mitigation_detail(request, public_id):
    number = parse_public_id(public_id)
    mitigation = selectors.mitigation_get_for_page(number) if number else None
    if mitigation is None:
        raise Http404(f"No mitigation {public_id}.")
    if public_id != mitigation.public_id:
        # MIT's "A0983_Gipiškis2024" or an unpadded "A983": one canonical address per record.
        return redirect(mitigation, permanent=True)
    classifications = list(mitigation.classifications.all())
    ancestors = selectors.node_ancestors([c.node for c in classifications])
    for classification in classifications:
        classification.breadcrumb = [
            ancestors[(classification.taxonomy_id, code)]
            for code in classification.node.ancestor_codes
            if (classification.taxonomy_id, code) in ancestors
        ]
    return render(
        request,
        "catalog/mitigation_detail.html",
        {
            "mitigation": mitigation,
            "classifications": classifications,
            "panels": settings.CATALOG_MITIGATION_PANELS,
        },
    )
