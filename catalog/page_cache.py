"""The public pages under HTTP caching: validators, ``304``, and whole answers from the cache.

A public page is a function of the catalog's state (its version, :mod:`catalog.version`), the
address it was asked at (scheme, host, path and query: a record's permalink names the host),
the day (a record's citation says when it was accessed), what the page says about the reader
and, for some pages, state kept outside the catalog (a record's page counts its open
proposals: :func:`dependencies` asks the functions named in a setting).

**Shared answers.** A reader who is not signed in and carries no state of their own (no
session cookie, no messages cookie) sees what every such reader sees. Their answer carries
``ETag`` (the version, the day and the dependencies) and ``Last-Modified`` (the last write, or
the start of the day), ``Cache-Control: public, max-age=CATALOG_PAGE_MAX_AGE`` so a browser or
a CDN may keep it, and ``Vary: Cookie`` so nobody is given a copy made for someone else. A
matching ``If-None-Match`` (or ``If-Modified-Since``) is answered ``304`` after the version
query; otherwise a page rendered before under the same version is sent from the shared cache
(one more query with the database cache, none more with Redis). Only complete ``200`` answers
that set no cookie are kept. A write bumps the version, so nothing kept before it is served
after it.

**Personal answers.** Anyone else (signed in, or with a session that may hold a message) gets
the page made for them, ``Cache-Control: private, no-cache`` and no validators: it is never
shared and never served from a cache. The whole-catalog parts of it (facet counts, the
coverage matrix, counts per node or source) still come from :func:`catalog.version.cached`.

Cached pages and validators are named by the version's key, which includes a fingerprint of the
code, templates and static files (:func:`catalog.version.code_fingerprint`): a deploy that
changes what a page looks like starts new keys by itself.
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from datetime import datetime, time

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date
from django.utils.module_loading import import_string

from . import version as catalog_version

DEFAULT_MAX_AGE = 60


def is_shared(request: HttpRequest) -> bool:
    """May this reader get the answer every anonymous reader gets (and a shared copy)?"""
    if request.method not in ("GET", "HEAD"):
        return False
    cookies = request.COOKIES
    if settings.SESSION_COOKIE_NAME in cookies:
        return False
    if getattr(settings, "MESSAGE_COOKIE_NAME", "messages") in cookies:
        return False
    user = getattr(request, "user", None)
    return user is None or not user.is_authenticated


def dependencies(setting: str | None) -> tuple[str, ...]:
    """The tokens of the state outside the catalog a page shows (one query each at most)."""
    if not setting:
        return ()
    return tuple(str(import_string(path)()) for path in getattr(settings, setting, ()))


def _start_of_day(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return timezone.make_aware(datetime.combine(local.date(), time.min), local.tzinfo)


def _private(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, private=True, no_cache=True)
    patch_vary_headers(response, ("Cookie",))
    return response


def public_page(view=None, *, depends_on: str | None = None):
    """Serve ``view`` (a public GET page) with validators and from the shared cache.

    ``depends_on`` names a setting listing functions (dotted paths, no arguments) whose
    results the page also depends on, each a short token that changes when that state does.
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if not is_shared(request):
                return _private(view(request, *args, **kwargs))
            current = catalog_version.catalog_version()
            now = timezone.now()
            today = timezone.localdate(now)
            extra = dependencies(depends_on)
            parts = (request.build_absolute_uri(), today.isoformat(), extra)
            tag = hashlib.blake2b(repr((current.key, parts)).encode(), digest_size=10)
            etag = f'"{tag.hexdigest()}"'
            changed = max(filter(None, (current.changed_at, _start_of_day(now))))
            last_modified = int(changed.timestamp())
            response = get_conditional_response(request, etag=etag, last_modified=last_modified)
            if response is None:
                key = catalog_version.cache_key(current, "page", parts)
                cache = catalog_version._cache()
                kept = cache.get(key)
                if kept is not None:
                    packed, content_type = kept
                    response = HttpResponse(zlib.decompress(packed), content_type=content_type)
                else:
                    with catalog_version.reading(current):
                        response = view(request, *args, **kwargs)
                    if _keepable(request, response):
                        timeout = getattr(
                            settings, "CATALOG_CACHE_TIMEOUT", catalog_version.DEFAULT_TIMEOUT
                        )
                        # Compressed (fast level): a list page of 88 KB keeps as 15 KB, which
                        # the database cache writes in half the time and Redis holds in a sixth.
                        packed = zlib.compress(response.content, 1)
                        cache.set(key, (packed, response["Content-Type"]), timeout)
            if response.status_code in (200, 304):
                response.headers["ETag"] = etag
                response.headers["Last-Modified"] = http_date(last_modified)
                max_age = getattr(settings, "CATALOG_PAGE_MAX_AGE", DEFAULT_MAX_AGE)
                patch_cache_control(response, public=True, max_age=max_age)
            patch_vary_headers(response, ("Cookie",))
            return response

        return wrapped

    return decorate(view) if view is not None else decorate


def _keepable(request: HttpRequest, response: HttpResponse) -> bool:
    return (
        request.method == "GET"
        and response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and "Content-Type" in response
        and not response.has_header("Cache-Control")
    )
