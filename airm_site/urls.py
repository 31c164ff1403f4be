from django.contrib import admin
from django.urls import include, path

from .health import healthz

admin.site.site_header = "AIRM Curator administration"
admin.site.site_title = "AIRM Curator admin"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("review/", include("review.urls")),
    path("", include("catalog.urls")),
]
