"""``/sitemap.xml`` (Django's sitemaps): every record, taxonomy, node and source, and the
main pages. ``/sitemap.xml`` is an index of sections (``/sitemap-records.xml`` …), each paged
at 50,000 addresses as the protocol asks. ``/robots.txt`` points crawlers at it.
"""

from __future__ import annotations

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from . import filters, selectors
from .models import Mitigation, SourceDocument, Taxonomy


class PageSitemap(Sitemap):
    changefreq = "daily"
    priority = 0.8

    def items(self):
        return [
            "catalog:home",
            "catalog:mitigation-list",
            "catalog:taxonomy-list",
            "catalog:source-list",
            "catalog:coverage",
            "api:docs",
        ]

    def location(self, item):
        return reverse(item)


class RecordSitemap(Sitemap):
    """Every record, retired and merged ones too: their pages stay and say where to go."""

    changefreq = "weekly"

    def items(self):
        return Mitigation.objects.order_by("number").only("number", "updated_at")

    def lastmod(self, item):
        return item.updated_at


class TaxonomySitemap(Sitemap):
    changefreq = "monthly"

    def items(self):
        return Taxonomy.objects.order_by("order", "slug").only("slug")


class NodeSitemap(Sitemap):
    """Each node of a public taxonomy, at its page: the list filtered to it."""

    changefreq = "weekly"

    def items(self):
        taxonomies = selectors.taxonomy_list_with_nodes()
        return [node for taxonomy in taxonomies for node in taxonomy.node_list]

    def location(self, item):
        return filters.mitigation_list_url(item)


class SourceSitemap(Sitemap):
    changefreq = "monthly"

    def items(self):
        return SourceDocument.objects.order_by("short_ref").only("short_ref", "updated_at")

    def lastmod(self, item):
        return item.updated_at


SITEMAPS = {
    "pages": PageSitemap,
    "records": RecordSitemap,
    "taxonomies": TaxonomySitemap,
    "nodes": NodeSitemap,
    "sources": SourceSitemap,
}
