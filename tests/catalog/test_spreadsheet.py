"""Formula safety and the row layout shared by every export and the importer."""

import pytest

from catalog import spreadsheet
from catalog.models import Mitigation, Taxonomy

DANGEROUS = ["=1+1", "+44 20 7946 0000", "-based controls", "@SUM(A1)", "\tindent", "\rreturn"]
HARMLESS = ["Adversarial training", "", "'quoted", "A=B", " =leading space", "''"]


@pytest.mark.parametrize("value", DANGEROUS)
def test_values_a_spreadsheet_would_run_are_prefixed_with_an_apostrophe(value):
    assert spreadsheet.make_inert(value) == "'" + value


@pytest.mark.parametrize("value", HARMLESS)
def test_other_values_are_written_as_they_are(value):
    assert spreadsheet.make_inert(value) == value


@pytest.mark.parametrize("value", DANGEROUS + HARMLESS + ["'=x", "''=x", "'-", "'"])
def test_undo_inert_restores_every_value_exactly(value):
    assert spreadsheet.undo_inert(spreadsheet.make_inert(value)) == value


def test_an_apostrophe_before_a_trigger_is_itself_escaped():
    assert spreadsheet.make_inert("'=x") == "''=x"
    assert spreadsheet.undo_inert("''=x") == "'=x"


def test_non_strings_pass_through():
    assert spreadsheet.make_inert(None) is None
    assert spreadsheet.undo_inert(3) == 3


@pytest.mark.django_db
def test_a_row_has_the_base_columns_then_two_per_taxonomy():
    taxonomies = list(Taxonomy.objects.all())
    header = spreadsheet.header(taxonomies)
    assert header[:8] == list(spreadsheet.BASE_COLUMNS)
    assert header[8:10] == ["airm-preliminary", "airm-preliminary reasoning"]
    mitigation = Mitigation.objects.get(name="Adversarial training")
    row = dict(zip(header, spreadsheet.mitigation_row(mitigation, taxonomies), strict=True))
    assert row["ID"] == mitigation.public_id
    assert row["Source"] == "Gipiškis2024"
    assert row["airm-preliminary"] == "2.3 Model Safety Engineering"
    assert row["airm-draft"] == "1.1.2 Learning Objectives"
    assert row["Status"] == "active"


@pytest.mark.parametrize(
    "value", ["\rreturn", "a\r\nb", "_x000D_ typed out", "_x005F_x000D_", "\x01bell", "plain"]
)
def test_ooxml_escapes_read_back_exactly(value):
    escaped = spreadsheet.ooxml_escape(value)
    assert "\r" not in escaped and "\x01" not in escaped
    assert spreadsheet.ooxml_unescape(escaped) == value
