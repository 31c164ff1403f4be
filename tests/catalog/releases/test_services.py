"""Cutting releases (catalog.releases.services) and the command that does it."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from catalog import services
from catalog.models import Mitigation
from catalog.releases import services as releases
from catalog.releases.models import Release, ReleaseRecord
from catalog.version import catalog_version

pytestmark = pytest.mark.django_db


def test_a_release_freezes_every_record_with_its_classifications(curator):
    merged = Mitigation.objects.get(number=9059)
    release = releases.cut_release(notes="First", actor=curator)
    assert release.status == Release.Status.PUBLISHED
    assert release.version == f"{timezone.localdate():%Y.%m.%d}"
    assert release.counts["total"] == Mitigation.objects.count()
    assert release.counts["retired"] == 1 and release.counts["merged"] == 1
    stored = ReleaseRecord.objects.get(release=release, number=9059).data
    assert stored["status"] == "merged" and stored["merged_into"] == "A9001"
    assert stored["name"] == merged.name
    first = ReleaseRecord.objects.get(release=release, number=9001).data
    codes = {(slug, code) for slug, code, _ in first["classifications"]}
    assert (
        "airm-preliminary",
        Mitigation.objects.get(number=9001)
        .classifications.filter(taxonomy__slug="airm-preliminary")
        .get()
        .node.code,
    ) in codes
    assert {t["slug"] for t in release.taxonomies} >= {"airm-preliminary", "lifecycle"}
    assert release.documents and all("short_ref" in d for d in release.documents)
    assert set(release.files) == {
        "data/mitigations.csv",
        "data/classifications.csv",
        "data/documents.csv",
        "data/taxonomies.csv",
        "data/taxonomy_nodes.csv",
    }


def test_a_release_is_not_rewritten_by_later_edits(curator):
    release = releases.cut_release(actor=curator)
    record = Mitigation.objects.get(number=9001)
    services.mitigation_update(
        mitigation=record, data={"name": "Renamed after the release"}, actor=curator, reason="t"
    )
    assert ReleaseRecord.objects.get(release=release, number=9001).data["name"] != (
        "Renamed after the release"
    )
    with pytest.raises(ValidationError, match="never rebuilt"):
        releases.release_build(release=release)


def test_a_second_release_on_the_same_day_gets_a_suffix(curator):
    first = releases.cut_release(actor=curator)
    second = releases.cut_release(actor=curator)
    third = releases.cut_release(actor=curator)
    assert second.version == f"{first.version}.2"
    assert third.version == f"{first.version}.3"


def test_publishing_bumps_the_catalog_version(curator):
    before = catalog_version().key
    releases.cut_release(actor=curator)
    assert catalog_version().key != before


@pytest.mark.parametrize(
    "version, message",
    [("v1", "Starts with a digit"), ("1/2", "Starts with a digit"), ("1" * 41, "40")],
)
def test_a_malformed_version_is_refused_naming_it(curator, version, message):
    with pytest.raises(ValidationError) as error:
        releases.cut_release(version=version, actor=curator)
    assert "version" in error.value.message_dict
    assert not Release.objects.exists()


def test_a_taken_version_is_refused(curator):
    releases.cut_release(version="1.0", actor=curator)
    with pytest.raises(ValidationError, match=r"1\.0"):
        releases.cut_release(version="1.0", actor=curator)


def test_only_curators_cut_releases(contributor):
    with pytest.raises(PermissionDenied):
        releases.cut_release(actor=contributor)


def test_overlong_notes_are_refused(curator):
    with pytest.raises(ValidationError) as error:
        releases.cut_release(notes="x" * 5001, actor=curator)
    assert "notes" in error.value.message_dict


def test_make_release_command(capsys):
    call_command("make_release", "--version", "2026.1", "--notes", "From the command")
    release = Release.objects.get(version="2026.1")
    assert release.notes == "From the command" and release.is_published
    assert "Release 2026.1 published" in capsys.readouterr().out
    with pytest.raises(CommandError, match="version"):
        call_command("make_release", "--version", "2026.1")
