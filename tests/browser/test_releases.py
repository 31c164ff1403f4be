"""A curator cuts a data release, then downloads its data package and opens it."""

import json
import zipfile

import pytest
from frictionless import validate
from playwright.sync_api import expect

from catalog.models import Mitigation
from catalog.releases.models import Release

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_a_curator_cuts_a_release_and_opens_its_data_package(person, worker, tmp_path):
    worker()
    page = person("demo-curator")
    page.goto("/releases/")
    expect(page.get_by_text("No release has been published yet.")).to_be_visible()
    page.get_by_role("link", name="Cut a release").click()
    page.get_by_label("Notes").fill("Cut in the browser")
    page.get_by_role("button", name="Cut release").click()

    # The job's page follows the worker, then says the release is published.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Build release")
    release = Release.objects.get()
    expect(page.get_by_text(f"Release {release.version} is published")).to_be_visible(
        timeout=120_000
    )
    page.get_by_role("link", name=f"Release {release.version}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Release {release.version}")
    expect(page.get_by_text("Cut in the browser")).to_be_visible()
    expect(page.get_by_role("button", name="Copy citation")).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("link", name="Data package (zip)").click()
    assert download.value.suggested_filename == f"airm-curator-{release.version}.zip"
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)

    with zipfile.ZipFile(saved) as archive:
        assert "datapackage.json" in archive.namelist()
        descriptor = json.loads(archive.read("datapackage.json"))
        archive.extractall(tmp_path / "package")
    assert descriptor["version"] == release.version
    assert descriptor["licenses"][0]["name"] == "CC-BY-4.0"
    report = validate(tmp_path / "package" / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    mitigations = next(r for r in descriptor["resources"] if r["name"] == "mitigations")
    lines = (tmp_path / "package" / mitigations["path"]).read_text(encoding="utf-8")
    assert lines.count("\nA9") >= Mitigation.objects.count() - 1
