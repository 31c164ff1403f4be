"""Citations (catalog.citations): the formats, and a record's citation on its page and as files."""

import json
from datetime import date

import pytest
from django.utils import timezone

from catalog import citations, services
from catalog.citations import DATASET, ENTRY, Citation
from catalog.models import Mitigation
from tests.factories import MitigationFactory, SourceDocumentFactory
from tests.html_checks import html_problems

CITED = Citation(
    key="airm-A0983",
    kind=ENTRY,
    title="Red teaming {of} 100% of models & more_things #1 ~ $x^2 \\ end",
    authors=("AIRM Curator",),
    issued=date(2025, 11, 3),
    url="https://airm.example.org/mitigations/A0983/",
    identifier="A0983",
    version="2025-11-03",
    container="AIRM Curator",
    accessed=date(2025, 12, 2),
    note="From Gipiškis (2024), Risk sources,\nModel evaluations > Red teaming",
)


class TestFormats:
    def test_plain_text_reads_as_a_reference(self):
        assert citations.plain_text(CITED) == (
            "AIRM Curator (2025). “Red teaming {of} 100% of models & more_things #1 ~ $x^2 \\ end”"
            " [A0983]. From Gipiškis (2024), Risk sources, Model evaluations > Red teaming."
            " Version of 3 November 2025."
            " Retrieved 2 December 2025 from https://airm.example.org/mitigations/A0983/"
        )

    def test_bibtex_escapes_what_latex_would_read_as_markup(self):
        entry = citations.bibtex(CITED)
        assert entry.startswith("@misc{airm-A0983,\n")
        assert entry.rstrip().endswith("}")
        assert (
            r"title = {{Red teaming \{of\} 100\% of models \& more\_things \#1"
            r" \textasciitilde{} \$x\textasciicircum{}2 \textbackslash{} end}}"
        ) in entry
        assert "author = {{AIRM Curator}}" in entry
        assert "url = {https://airm.example.org/mitigations/A0983/}" in entry
        assert "urldate = {2025-12-02}" in entry
        assert "year = {2025}" in entry
        # Line breaks in a value never break the entry.
        assert "Risk sources, Model evaluations > Red teaming" in entry
        assert entry.count("{") == entry.count("}")

    def test_bibtex_keys_hold_only_safe_characters(self):
        entry = citations.bibtex(Citation(**{**CITED.__dict__, "key": "airm release/2025 {x}"}))
        assert entry.startswith("@misc{airm-release-2025-x,")

    def test_ris_is_one_tag_a_line_ending_in_er(self):
        record = citations.ris(CITED)
        lines = record.split("\r\n")
        assert lines[0] == "TY  - DBASE"
        assert lines[-2:] == ["ER  - ", ""]
        assert "TI  - Red teaming {of} 100% of models & more_things #1 ~ $x^2 \\ end" in lines
        assert "UR  - https://airm.example.org/mitigations/A0983/" in lines
        assert "Y2  - 2025/12/02" in lines
        assert "DA  - 2025/11/03" in lines
        assert "N1  - From Gipiškis (2024), Risk sources, Model evaluations > Red teaming" in lines
        assert all(len(line) == 0 or line[2:6] == "  - " for line in lines)

    def test_csl_json_is_a_list_of_one_item(self):
        (item,) = json.loads(citations.csl_json(CITED))
        assert item["id"] == "airm-A0983"
        assert item["type"] == "entry"
        assert item["author"] == [{"literal": "AIRM Curator"}]
        assert item["issued"] == {"date-parts": [[2025, 11, 3]]}
        assert item["accessed"] == {"date-parts": [[2025, 12, 2]]}
        assert item["URL"] == CITED.url
        assert item["container-title"] == "AIRM Curator"
        assert item["number"] == "A0983"

    def test_a_dataset_is_cited_by_its_version(self):
        release = Citation(
            key="airm-release-2025.12.01",
            kind=DATASET,
            title="AIRM Curator: AI risk mitigations",
            authors=("AIRM Curator contributors",),
            issued=date(2025, 12, 1),
            url="https://airm.example.org/releases/2025.12.01/",
            version="2025.12.01",
            doi="10.5281/zenodo.1",
            licence="CC BY 4.0",
        )
        assert "Version 2025.12.01." in citations.plain_text(release)
        assert "https://doi.org/10.5281/zenodo.1." in citations.plain_text(release)
        assert citations.ris(release).startswith("TY  - DATA\r\n")
        (item,) = json.loads(citations.csl_json(release))
        assert (item["type"], item["version"], item["DOI"]) == (
            "dataset",
            "2025.12.01",
            "10.5281/zenodo.1",
        )
        assert "license = {CC BY 4.0}" in citations.bibtex(release)


@pytest.mark.django_db
class TestRecordCitation:
    def test_describes_the_record_at_its_current_version_from_its_source(self):
        mitigation = Mitigation.objects.select_related("source").get(name="Adversarial training")
        cited = citations.mitigation_citation(
            mitigation, url="https://x.example/m/", accessed=date(2026, 1, 2)
        )
        assert cited.title == "Adversarial training"
        assert cited.identifier == mitigation.public_id
        assert cited.issued == timezone.localdate(mitigation.updated_at)
        assert cited.note.startswith("From Gipiškis (2024), Risk sources and risk management")
        assert cited.note.endswith(", Model development")

    def test_a_source_without_author_or_year_is_named_by_its_reference(self):
        source = SourceDocumentFactory(short_ref="Anon", first_author="", year=None)
        mitigation = MitigationFactory(source=source, section_path="")
        cited = citations.mitigation_citation(mitigation, url="u", accessed=None)
        assert cited.note == f"From Anon, {source.title}"
        assert "Retrieved" not in citations.plain_text(cited)


@pytest.mark.django_db
class TestCitationPages:
    @pytest.mark.parametrize(
        ("fmt", "media_type", "start"),
        [
            ("bib", "application/x-bibtex", "@misc{airm-"),
            ("ris", "application/x-research-info-systems", "TY  - DBASE"),
            ("json", "application/vnd.citationstyles.csl+json", "["),
        ],
    )
    def test_every_record_downloads_its_citation_in_each_format(
        self, client, fmt, media_type, start
    ):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        response = client.get(f"/mitigations/{mitigation.public_id}/cite.{fmt}")
        assert response.status_code == 200
        assert response["Content-Type"] == f"{media_type}; charset=utf-8"
        assert response["Content-Disposition"] == (
            f'attachment; filename="{mitigation.public_id}.{fmt}"'
        )
        text = response.content.decode()
        assert text.startswith(start)
        assert f"http://testserver/mitigations/{mitigation.public_id}/" in text

    def test_a_retired_record_is_still_citable(self, client, curator):
        mitigation = Mitigation.objects.get(name="Robustness certificates")
        services.mitigation_retire(mitigation=mitigation, actor=curator, reason="Out of scope")
        assert client.get(f"/mitigations/{mitigation.public_id}/cite.bib").status_code == 200

    def test_another_form_of_the_id_redirects(self, client):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        response = client.get(f"/mitigations/A0{mitigation.number}/cite.ris")
        assert response.status_code == 301
        assert response["Location"] == f"/mitigations/{mitigation.public_id}/cite.ris"

    def test_an_unknown_record_or_format_is_a_404(self, client):
        assert client.get("/mitigations/A0000001/cite.bib").status_code == 404
        mitigation = Mitigation.objects.first()
        assert client.get(f"/mitigations/{mitigation.public_id}/cite.doc").status_code == 404

    def test_the_record_page_shows_every_format_with_copy_buttons_and_downloads(self, client):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        response = client.get(mitigation.get_absolute_url())
        text = response.text
        assert html_problems(text) == []
        for fmt, name in (("bib", "BibTeX"), ("ris", "RIS"), ("json", "CSL-JSON")):
            assert f'id="citation-{fmt}"' in text
            assert f'data-copy="citation-{fmt}"' in text
            assert f'href="/mitigations/{mitigation.public_id}/cite.{fmt}" download' in text
            assert f"Copy {name}" in text
        assert "@misc{airm-" in text
        assert 'data-copy="citation"' in text
        # The copy buttons come alive only with the script (a static file, no inline script).
        assert '<script src="/static/js/citation.js" defer></script>' in text
        assert "<script>" not in text
        assert text.count("hidden>Copy") == 4

    def test_the_plain_text_citation_stays_on_the_page(self, client):
        mitigation = Mitigation.objects.get(name="Adversarial training")
        text = client.get(mitigation.get_absolute_url()).text
        assert (
            f'<p class="citation" id="citation">AIRM Curator ({mitigation.updated_at:%Y}).'
            f" “Adversarial training” [{mitigation.public_id}]. From Gipiškis (2024)"
        ) in text

    def test_citations_on_the_page_are_escaped(self, client):
        mitigation = MitigationFactory(name="<script>alert(1)</script>")
        text = client.get(mitigation.get_absolute_url()).text
        assert "<script>alert(1)</script>" not in text
