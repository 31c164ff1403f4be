"""How a release is cited (in every format of :mod:`catalog.citations`)."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from catalog.citations import DATASET, PUBLISHER, Citation

from .models import Release
from .package import ATTRIBUTION, LICENCE


def release_citation(release: Release, *, url: str, accessed: date | None) -> Citation:
    """The dataset at one release: its version, its date, its permanent address."""
    return Citation(
        key=f"airm-release-{release.version}",
        kind=DATASET,
        title=f"AIRM Curator: a catalog of AI risk mitigations, release {release.version}",
        authors=(PUBLISHER,),
        issued=timezone.localdate(release.published_at),
        url=url,
        identifier=release.version,
        version=release.version,
        accessed=accessed,
        note=ATTRIBUTION,
        licence=LICENCE["name"],
    )
