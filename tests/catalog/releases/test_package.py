"""A release's downloads (catalog.releases.package): the data package and the workbook."""

import csv
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from catalog import services
from catalog.models import Mitigation
from catalog.releases import package
from catalog.releases import services as releases
from catalog.releases.models import Release

pytestmark = pytest.mark.django_db

FRICTIONLESS = Path(sys.executable).with_name("frictionless")


@pytest.fixture
def release(curator):
    record = Mitigation.objects.get(number=9002)
    services.mitigation_update(
        mitigation=record,
        data={"definition": '=HYPERLINK("x") and a comma, a "quote"\nand a new line'},
        actor=curator,
        reason="Hostile text for the package",
    )
    return releases.cut_release(notes="For the tests", actor=curator)


def unpack(release, tmp_path) -> Path:
    target = tmp_path / "package.zip"
    with target.open("wb") as out:
        package.write_package(release, out, url="http://testserver/releases/x/", citation="Cite")
    folder = tmp_path / "package"
    with zipfile.ZipFile(target) as archive:
        archive.extractall(folder)
    return folder


def test_frictionless_validates_the_package(release, tmp_path):
    folder = unpack(release, tmp_path)
    result = subprocess.run(
        [str(FRICTIONLESS), "validate", "--json", str(folder / "datapackage.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stdout)
    assert report["valid"], json.dumps(report, indent=1)[:4000]
    assert result.returncode == 0


def test_the_package_describes_licence_attribution_citation_and_digests(release, tmp_path):
    folder = unpack(release, tmp_path)
    descriptor = json.loads((folder / "datapackage.json").read_text())
    assert descriptor["licenses"][0]["name"] == "CC-BY-4.0"
    assert "MIT AI Risk Initiative" in descriptor["description"]
    assert descriptor["sources"][0]["path"] == "https://airisk.mit.edu/ai-risk-mitigations"
    assert descriptor["citation"] == "Cite" and descriptor["version"] == release.version
    names = {resource["name"] for resource in descriptor["resources"]}
    assert {"mitigations", "classifications", "documents", "taxonomy_nodes"} <= names
    for resource in descriptor["resources"]:
        content = (folder / resource["path"]).read_bytes()
        assert resource["hash"] == "sha256:" + hashlib.sha256(content).hexdigest()
        assert resource["bytes"] == len(content)
        assert resource["schema"]["fields"] and resource["schema"]["primaryKey"]


def test_the_package_holds_every_record_as_frozen(release, tmp_path, curator):
    services.mitigation_update(
        mitigation=Mitigation.objects.get(number=9001),
        data={"name": "Changed later"},
        actor=curator,
        reason="After the release",
    )
    folder = unpack(release, tmp_path)
    with (folder / "data/mitigations.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == release.counts["total"]
    by_id = {row["id"]: row for row in rows}
    assert by_id["A9001"]["name"] != "Changed later"
    assert by_id["A9059"]["status"] == "merged" and by_id["A9059"]["merged_into"] == "A9001"
    # A formula is made inert, and the value survives the CSV quoting whole.
    assert by_id["A9002"]["definition"].startswith("'=HYPERLINK")
    assert "\n" in by_id["A9002"]["definition"]


def test_the_same_release_renders_the_same_bytes_twice(release):
    first, second = io.BytesIO(), io.BytesIO()
    package.write_package(release, first)
    package.write_package(release, second)
    assert first.getvalue() == second.getvalue()


def test_a_package_that_would_differ_from_its_digests_is_refused(release):
    Release.objects.filter(pk=release.pk).update(
        files={**release.files, "data/documents.csv": {"bytes": 1, "sha256": "0" * 64}}
    )
    release.refresh_from_db()
    with pytest.raises(package.RenderingChanged, match=r"documents\.csv"):
        package.write_package(release, io.BytesIO())


def test_the_workbook_has_every_record_in_the_catalogs_layout(release):
    spool = package.workbook_file(release, citation="Cite")
    workbook = load_workbook(spool, read_only=True)
    assert workbook.sheetnames[:2] == ["About", "Mitigations"]
    sheet = list(workbook["Mitigations"].iter_rows(values_only=True))
    assert sheet[0][:3] == ("ID", "Name", "Definition")
    assert "AI Risk Mitigation Taxonomy (preliminary)" in sheet[0] or len(sheet[0]) > 8
    assert len(sheet) - 1 == release.counts["total"]
    about = dict(workbook["About"].iter_rows(values_only=True))
    assert about["Release"] == release.version and about["Cite as"] == "Cite"
