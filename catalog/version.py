"""The catalog's version: which state of the curated data is current, and caching under it.

Every write to the catalog runs inside ``catalog.services._base._unit_of_work``, which calls
:func:`bump` as the last step of its transaction: one single-row table (``CatalogVersion``)
gets a new number, a new random token and the time of the change. Because the row changes in
the same transaction as the data, a reader that sees the new version also sees the new data,
and the version survives a flushed or restarted cache.

Anything computed from the whole catalog (facet counts, the coverage matrix, counts per node
or source, whole page fragments) can be kept in the shared cache under the version with
:func:`cached`: a write changes the version, so the next reader computes afresh and the old
entries are never read again (they expire after ``CATALOG_CACHE_TIMEOUT`` seconds). HTTP
validators come from the same place: :attr:`Version.key` for an ``ETag``,
:attr:`Version.changed_at` for ``Last-Modified``.

Writes that bypass the services (raw SQL, a benchmark's bulk ``COPY``) must call :func:`bump`
themselves; it also folds their changes into the tallies (:mod:`catalog.tallies`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS
from django.db.models import F
from django.utils import timezone

from . import tallies
from .history import current_change_context
from .models import CatalogVersion

ROW_ID = 1
DEFAULT_TIMEOUT = 24 * 60 * 60
_MISSING = object()
_read_version: ContextVar[Version | None] = ContextVar("catalog_read_version", default=None)


@dataclass(frozen=True)
class Version:
    number: int
    token: str
    changed_at: datetime | None

    @property
    def key(self) -> str:
        """Names this state of the catalog as this code shows it: different after every write
        (never reused) and after a deploy that changes the code, templates or static files, so
        neither the shared cache nor a browser's or a CDN's ``ETag`` outlives either."""
        return f"{self.number}-{self.token}-{code_fingerprint()}"


# What the fingerprint reads: everything that shapes a page or an answer.
_CODE_DIRS = ("airm_site", "catalog", "review", "templates", "static")
_CODE_SUFFIXES = {".py", ".html", ".txt", ".xml", ".css", ".js", ".svg", ".json"}


@cache
def code_fingerprint() -> str:
    """A short digest of the project's code, templates and static files, read once per process
    (a few hundred small files): two servers running the same release agree on it, and a deploy
    that changes what a page looks like changes it. ``CODE_FINGERPRINT`` overrides it (e.g. a
    release tag set by the deployment)."""
    given = getattr(settings, "CODE_FINGERPRINT", "")
    if given:
        return str(given)[:40]
    base = Path(settings.BASE_DIR)
    digest = hashlib.blake2b(digest_size=6)
    for folder in _CODE_DIRS:
        for path in sorted((base / folder).rglob("*")):
            if path.suffix in _CODE_SUFFIXES and path.is_file() and "migrations" not in path.parts:
                digest.update(str(path.relative_to(base)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def catalog_version(using: str = DEFAULT_DB_ALIAS) -> Version:
    """The current version (one query). A database without the row (just flushed) is at 0."""
    row = (
        CatalogVersion.objects.using(using)
        .filter(pk=ROW_ID)
        .values_list("number", "token", "changed_at")
        .first()
    )
    if row is None:
        return Version(0, "0", None)
    return Version(*row)


@contextmanager
def reading(version: Version) -> Iterator[Version]:
    """Within the block, :func:`cached` values are those of ``version`` (read once by the
    caller, a public page): a page is computed from one state and costs one version query."""
    token = _read_version.set(version)
    try:
        yield version
    finally:
        _read_version.reset(token)


def bump(using: str = DEFAULT_DB_ALIAS) -> None:
    """Mark the catalog as changed, inside the caller's transaction (services call it), and
    fold the write's changes into the tallies (:func:`catalog.tallies.fold`) once the version
    row is locked, so that folds run one at a time."""
    now = timezone.now()
    token = secrets.token_hex(8)
    updated = (
        CatalogVersion.objects.using(using)
        .filter(pk=ROW_ID)
        .update(number=F("number") + 1, token=token, changed_at=now)
    )
    if not updated:
        CatalogVersion.objects.using(using).bulk_create(
            [CatalogVersion(pk=ROW_ID, number=1, token=token, changed_at=now)],
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=["token", "changed_at"],
        )
    tallies.fold(using)


def _cache():
    return caches[getattr(settings, "CATALOG_CACHE", "default")]


def keep(key: str, value) -> None:
    """Keep ``value`` under ``key`` (from :func:`cache_key`) in the shared cache."""
    _cache().set(key, value, getattr(settings, "CATALOG_CACHE_TIMEOUT", DEFAULT_TIMEOUT))


def kept(key: str):
    """What :func:`keep` kept under ``key``, or None."""
    return _cache().get(key)


def cache_key(version: Version, name: str, parts: tuple = ()) -> str:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()
    return f"catalog:{version.key}:{name}:{digest}"


def cached[T](
    name: str,
    compute: Callable[[], T],
    *,
    parts: tuple = (),
    version: Version | None = None,
    timeout: int | None = None,
) -> T:
    """``compute()``, kept in the shared cache under the current catalog version.

    ``name`` and ``parts`` (anything with a stable ``repr``: strings, numbers, tuples) tell
    one value from another. ``version`` saves the query when the caller has read it already.
    Inside a write (a service's unit of work) the value is computed and not kept: the data
    the write has changed so far is not yet the committed state of any version.
    """
    if current_change_context() is not None:
        return compute()
    version = version or _read_version.get() or catalog_version()
    key = cache_key(version, name, parts)
    cache = _cache()
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        if timeout is None:
            timeout = getattr(settings, "CATALOG_CACHE_TIMEOUT", DEFAULT_TIMEOUT)
        cache.set(key, value, timeout)
    return value
