"""The django-import-export resource writes through the services, so with full history."""

import pytest
import tablib

from catalog.models import Classification, Mitigation
from catalog.resources import MitigationResource

pytestmark = pytest.mark.django_db

HEADERS = ["ID", "Name", "Definition", "Source", "Section", "airm-preliminary"]


def test_import_data_creates_and_updates_with_history_and_classification(curator):
    existing = Mitigation.objects.get(name="Robustness certificates")
    dataset = tablib.Dataset(headers=HEADERS)
    dataset.append(["A0761", "Canary prompts", "Seed known prompts.", "NIST2024", "", "3.5"])
    dataset.append(
        [
            existing.public_id,
            "Certified robustness",
            existing.definition,
            "Gipiškis2024",
            existing.section_path,
            "3.1 Testing & Auditing",
        ]
    )

    result = MitigationResource(actor=curator, reason="Spreadsheet from the workshop").import_data(
        dataset, raise_errors=True
    )

    assert (result.totals["new"], result.totals["update"]) == (1, 1)
    created = Mitigation.objects.get(number=761)
    assert created.classifications.get().node.code == "3.5"
    (row,) = created.history.all()
    assert (row.history_user, row.history_change_reason) == (
        curator,
        "Spreadsheet from the workshop",
    )
    existing.refresh_from_db()
    assert existing.name == "Certified robustness"
    assert existing.history.latest().history_user == curator
    moved = Classification.objects.get(mitigation=existing, taxonomy__slug="airm-preliminary")
    assert moved.node.code == "3.1"


def test_a_dry_run_writes_nothing_and_an_unknown_node_is_an_error(curator):
    before = (Mitigation.objects.count(), Mitigation.history.count())
    dataset = tablib.Dataset(headers=HEADERS)
    dataset.append(["A0762", "Odd one", "", "NIST2024", "", "9.9"])

    result = MitigationResource(actor=curator).import_data(dataset, dry_run=True)

    assert result.has_validation_errors() or result.has_errors()
    assert (Mitigation.objects.count(), Mitigation.history.count()) == before


def test_the_public_id_widget_reads_mits_form_and_writes_ours():
    from catalog.resources import PublicIdWidget

    widget = PublicIdWidget()
    assert widget.clean("A0983_Gipiškis2024") == 983
    assert widget.render(983) == "A0983"
    with pytest.raises(ValueError, match="not a public ID"):
        widget.clean("B1")
