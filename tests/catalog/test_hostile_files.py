"""Hostile files on every way in: the command line, the admin import and a contributor's upload.

Each case runs on all three paths (the ``way_in`` fixture) and checks what the person sees: the
file is refused (or read, where reading is cheap and correct), the message names the file, row,
cell or limit, and nothing is written. How long each takes and how much memory it needs is
shown by ``bench/hostile.py`` with the report's full sizes; these tests use the same generators
(``tests/hostile.py``) at small sizes against small limits.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from catalog.models import ImportBatch
from review.models import Proposal, ProposalUpload
from tests import hostile
from tests.spreadsheets import catalog_state, history_total

pytestmark = pytest.mark.django_db

WAYS_IN = ("command line", "admin import", "contributor upload")


@dataclass
class Outcome:
    refused: bool
    text: str  # everything the person reads, markup removed


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "private-uploads"


@pytest.fixture
def untouched():
    state, history = catalog_state(), history_total()
    yield
    assert catalog_state() == state
    assert history_total() == history
    assert not Proposal.objects.exists()


@pytest.fixture(params=WAYS_IN)
def way_in(request, client_for):
    """``way_in(path)``: import the file at ``path`` the way the parameter names; what it said."""
    if request.param == "command line":

        def run(path: Path) -> Outcome:
            out, err = io.StringIO(), io.StringIO()
            try:
                call_command(
                    "import_mitigations", str(path), "--dry-run", "--no-progress", stdout=out,
                    stderr=err,
                )  # fmt: skip
            except CommandError as error:
                return Outcome(True, f"{out.getvalue()}\n{err.getvalue()}\n{error}")
            return Outcome(False, out.getvalue() + err.getvalue())

        return run

    if request.param == "admin import":
        client = client_for(request.getfixturevalue("admin"))

        def run(path: Path) -> Outcome:
            response = client.post(
                reverse("admin:catalog_importbatch_upload"),
                {"kind": "mitigations", "file": SimpleUploadedFile(path.name, path.read_bytes())},
            )
            assert response.status_code == 302, response.text[:1000]
            batch = ImportBatch.objects.latest("pk")
            page = client.get(response["Location"])
            return Outcome(batch.status == ImportBatch.Status.FAILED, _text(page))

        return run

    client = client_for(request.getfixturevalue("contributor"))

    def run(path: Path) -> Outcome:
        response = client.post(
            reverse("review:upload"), {"file": SimpleUploadedFile(path.name, path.read_bytes())}
        )
        assert response.status_code == 302, response.text[:1000]
        upload = ProposalUpload.objects.latest("pk")
        page = client.get(response["Location"])
        return Outcome(upload.status == ProposalUpload.Status.FAILED, _text(page))

    return run


def _text(response) -> str:
    return html.unescape(response.content.decode())


# --------------------------------------------------------------------------- declared dimensions


def test_a_declared_dimension_is_not_padded_and_a_far_row_is_read(way_in, tmp_path, untouched):
    """The report's 1.6 KB sheet: ``A1:XFD1048576`` declared, a row at 1,048,576."""
    path = hostile.declared_dimension_sheet(tmp_path / "far.xlsx")
    assert path.stat().st_size < 2_000

    outcome = way_in(path)

    assert not outcome.refused, outcome.text
    assert "1 row: 1 new" in outcome.text or "Summary: 1 row" in outcome.text


def test_a_value_in_the_last_column_is_refused_naming_its_cell(way_in, tmp_path, untouched):
    path = hostile.declared_dimension_sheet(tmp_path / "wide.xlsx", column=16_384)

    outcome = way_in(path)

    assert outcome.refused
    assert (
        "Cell XFD1048576 holds a value beyond column CV: an import reads at most 100 columns "
        "(IMPORT_MAX_COLUMNS)."
    ) in outcome.text


def test_blank_rows_count_toward_the_row_limit(way_in, tmp_path, settings, untouched):
    settings.IMPORT_MAX_ROWS = 50
    path = hostile.blank_rows_sheet(tmp_path / "blank.xlsx", blank=60)

    outcome = way_in(path)

    assert outcome.refused
    assert "The file has more than 50 rows, the most one import takes (IMPORT_MAX_ROWS)" in (
        outcome.text
    )


def test_empty_cells_beyond_the_column_cap_are_ignored(way_in, tmp_path, untouched):
    path = hostile.wide_row_sheet(tmp_path / "formatted.xlsx", empty_cells=2_000)

    outcome = way_in(path)

    assert not outcome.refused, outcome.text


# --------------------------------------------------------------------------- zip bombs


def test_a_sheet_that_unpacks_far_beyond_the_limit_is_refused(
    way_in, tmp_path, settings, untouched
):
    settings.IMPORT_MAX_BYTES = 102_400  # a part may unpack to 500 KB, all parts to 1.5 MB
    # Under the declared limit as a whole: the streamed bytes of the one part refuse it.
    path = hostile.sheet_zip_bomb(tmp_path / "bomb.xlsx", unpacked=1_400_000)
    assert path.stat().st_size < 10_000

    outcome = way_in(path)

    assert outcome.refused
    assert (
        "The workbook's part xl/worksheets/sheet1.xml unpacks to more than 500.0\xa0KB"
        in outcome.text
    )


def test_shared_strings_that_unpack_far_beyond_the_limit_are_refused(
    way_in, tmp_path, settings, untouched
):
    settings.IMPORT_MAX_BYTES = 102_400
    path = hostile.shared_strings_bomb(tmp_path / "strings.xlsx", unpacked=1_400_000)

    outcome = way_in(path)

    assert outcome.refused
    assert "The workbook's part xl/sharedStrings.xml unpacks to more than 500.0\xa0KB" in (
        outcome.text
    )


def test_an_archive_that_understates_its_sizes_is_refused(way_in, tmp_path, untouched):
    path = hostile.lying_sizes_workbook(tmp_path / "liar.xlsx", unpacked=5_000_000)

    outcome = way_in(path)

    assert outcome.refused
    assert "The XLSX workbook cannot be read: it is damaged" in outcome.text


def test_an_archive_that_declares_a_huge_size_is_refused_before_inflating(
    way_in, tmp_path, settings, untouched
):
    settings.IMPORT_MAX_BYTES = 100_000
    settings.IMPORT_MAX_UNPACKED_BYTES = 10_000_000  # the declared size, not the stream, refuses
    path = hostile.sheet_zip_bomb(tmp_path / "declared.xlsx", unpacked=40_000_000)

    outcome = way_in(path)

    assert outcome.refused
    assert "The workbook would unpack to 38.1\xa0MB" in outcome.text


# --------------------------------------------------------------------------- XML


def test_billion_laughs_in_a_sheet_are_refused(way_in, tmp_path, untouched):
    outcome = way_in(hostile.entity_bomb_sheet(tmp_path / "laughs.xlsx"))

    assert outcome.refused
    assert "The workbook contains XML that is refused for safety (DTDForbidden" in outcome.text


def test_billion_laughs_in_the_shared_strings_are_refused(way_in, tmp_path, untouched):
    outcome = way_in(hostile.entity_bomb_shared_strings(tmp_path / "laughs.xlsx"))

    assert outcome.refused
    assert "The workbook contains XML that is refused for safety (DTDForbidden" in outcome.text


def test_an_external_entity_is_refused_and_never_read(way_in, tmp_path, untouched):
    secret = tmp_path / "secret.txt"
    secret.write_text("the-secret-of-the-server")

    outcome = way_in(hostile.external_entity_sheet(tmp_path / "xxe.xlsx", secret.as_uri()))

    assert outcome.refused
    assert "refused for safety" in outcome.text
    assert "the-secret-of-the-server" not in outcome.text


def test_defusedxml_refuses_entities_even_where_document_types_are_allowed():
    """Our reader forbids any DTD; defusedxml's own default (DTDs allowed) still refuses the
    entity declarations both attacks need."""
    from defusedxml import EntitiesForbidden
    from defusedxml.ElementTree import fromstring

    for document in (
        '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
        '<!DOCTYPE x [<!ENTITY s SYSTEM "file:///etc/passwd">]><x>&s;</x>',
    ):
        with pytest.raises(EntitiesForbidden):
            fromstring(document)


# --------------------------------------------------------------------------- NUL characters


@pytest.mark.parametrize(
    "make",
    [hostile.nul_cell_csv, hostile.nul_cell_xlsx, hostile.nul_cell_json],
    ids=lambda make: make.__name__,
)
def test_a_nul_character_in_a_cell_is_an_error_of_that_cell(way_in, make, tmp_path, untouched):
    suffix = {"csv": ".csv", "xlsx": ".xlsx", "json": ".json"}[make.__name__.rsplit("_", 1)[1]]

    outcome = way_in(make(tmp_path / f"nul{suffix}"))

    assert outcome.refused
    where = 'field "Action Name"' if suffix == ".json" else 'column B ("Action Name")'
    assert where in outcome.text
    assert "This cell holds a NUL character (shown as \ufffd), which cannot be stored." in (
        outcome.text
    )


# --------------------------------------------------------------------------- JSON


def test_json_nested_100000_levels_deep_is_refused(way_in, tmp_path, untouched):
    outcome = way_in(hostile.deep_json(tmp_path / "deep.json", depth=100_000))

    assert outcome.refused
    assert "The JSON file nests objects and lists more than 16 levels deep" in outcome.text


def test_json_with_more_values_than_an_import_reads_is_refused(way_in, tmp_path, untouched):
    outcome = way_in(hostile.many_values_json(tmp_path / "many.json", values=3_000_001))

    assert outcome.refused
    assert "The JSON file holds more than 3,000,000 values" in outcome.text


# --------------------------------------------------------------------------- long text


def test_a_15_mb_definition_is_refused_naming_its_cell(way_in, tmp_path, untouched):
    path = hostile.long_definition_csv(tmp_path / "long.csv", length=15 * 1024 * 1024)

    outcome = way_in(path)

    assert outcome.refused
    assert 'column C ("Action Definition")' in outcome.text
    assert "Ensure this value has at most 10000 characters (it has 15728640)." in outcome.text
    assert len(outcome.text) < 200_000  # the page does not serve the 15 MB value again


# --------------------------------------------------------------------------- types


def test_a_pdf_named_csv_is_refused_for_what_it_is(way_in, tmp_path, untouched):
    outcome = way_in(hostile.pdf_named_csv(tmp_path / "list.csv"))

    assert outcome.refused
    assert "The file is a PDF document, not a spreadsheet." in outcome.text


def test_a_workbook_named_csv_is_refused_by_its_content(way_in, tmp_path, untouched):
    path = hostile.declared_dimension_sheet(tmp_path / "book.xlsx")
    renamed = path.rename(tmp_path / "book.csv")

    outcome = way_in(renamed)

    assert outcome.refused
    assert "The file is named .csv but holds an Excel workbook (XLSX)" in outcome.text


def test_json_without_an_extension_is_read_as_json(way_in, tmp_path, untouched):
    path = hostile.nul_cell_json(tmp_path / "records")

    outcome = way_in(path)

    assert 'field "Action Name"' in outcome.text  # read as JSON: its fields are named
