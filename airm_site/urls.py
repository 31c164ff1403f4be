from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "AIRM Curator administration"
admin.site.site_title = "AIRM Curator admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("review/", include("review.urls")),
    path("api/v1/", include("catalog.api.urls")),
    path("api/", RedirectView.as_view(url="/api/v1/", permanent=False)),
    path("", include("catalog.urls")),
]

# JSON errors under /api/, the usual pages elsewhere.
handler404 = "catalog.views.page_not_found"
handler500 = "catalog.views.server_error"
