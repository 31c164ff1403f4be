from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.http import require_safe
from django.views.generic import RedirectView

from .health import healthz

admin.site.site_header = "AIRM Curator administration"
admin.site.site_title = "AIRM Curator admin"


@require_safe
def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (the admin's, a PDF's)."""
    return redirect(static("img/favicon.svg"), permanent=True)


urlpatterns = [
    path("favicon.ico", favicon),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("review/", include("review.urls")),
    path("campaigns/", include("review.campaigns.urls")),
    path("api/v1/", include("catalog.api.urls")),
    path("releases/", include("catalog.releases.urls")),
    path("api/", RedirectView.as_view(url="/api/v1/", permanent=False)),
    path("", include("catalog.urls")),
]

# JSON errors under /api/, the usual pages elsewhere.
handler404 = "catalog.views.page_not_found"
handler500 = "catalog.views.server_error"
