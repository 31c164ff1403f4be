from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "AIRM Curator administration"
admin.site.site_title = "AIRM Curator admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("review/", include("review.urls")),
    path("", include("catalog.urls")),
]
