"""``/releases/feed/``: an Atom feed of new releases; releases also appear in the catalog's
changes feed (``/feed/``, unnarrowed), through :func:`catalog.feeds.register_entry_source`."""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from catalog.feeds import Change, FeedScope
from catalog.roles import display_name

from . import selectors
from .models import Release

FEED_LENGTH = 50


def _summary(release: Release) -> str:
    counts = release.counts
    text = (
        f"{counts.get('total', 0):,} records ({counts.get('active', 0):,} active, "
        f"{counts.get('retired', 0):,} retired, {counts.get('merged', 0):,} merged), "
        f"downloadable as a Frictionless data package and a workbook."
    )
    return f"{text} {release.notes}" if release.notes else text


class ReleasesFeed(Feed):
    feed_type = Atom1Feed
    title = "AIRM Curator: data releases"
    subtitle = "Each new citable release of the catalog, newest first."

    def link(self):
        return reverse("releases:list")

    def feed_url(self):
        return reverse("releases:feed")

    def items(self):
        return selectors.release_list_published().select_related("created_by")[:FEED_LENGTH]

    def item_title(self, item: Release) -> str:
        return f"Release {item.version}"

    def item_description(self, item: Release) -> str:
        return _summary(item)

    def item_link(self, item: Release) -> str:
        return item.get_absolute_url()

    def item_pubdate(self, item: Release):
        return item.published_at

    def item_updateddate(self, item: Release):
        return item.published_at

    def item_author_name(self, item: Release) -> str:
        return display_name(item.created_by)


def release_entries(scope: FeedScope, limit: int) -> list[Change]:
    """New releases, for the whole catalog's changes feed (not a narrowed one)."""
    if scope.params:
        return []
    return [
        Change(
            kind="release",
            when=release.published_at,
            title=f"Release {release.version} published",
            link=release.get_absolute_url(),
            guid=f"{scope.base.rstrip('/')}{release.get_absolute_url()}",
            who=display_name(release.created_by),
            summary=_summary(release),
        )
        for release in selectors.release_list_published().select_related("created_by")[:limit]
    ]
