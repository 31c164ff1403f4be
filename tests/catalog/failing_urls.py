"""The site's addresses plus one that fails, to see the 500 page (tests only)."""

from django.urls import path

from airm_site.urls import urlpatterns as site_urlpatterns


def fail(request):
    raise RuntimeError("A deliberate failure to show the 500 page.")


urlpatterns = [path("fail/", fail), *site_urlpatterns]
