from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import selectors


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
