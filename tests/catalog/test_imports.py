"""The import pipeline: per-row plans, writes with history, round trips, re-imports, reverts."""

import pytest
from django.core.exceptions import ValidationError

from catalog import services
from catalog.imports.batches import import_batch_revert
from catalog.imports.pipeline import run
from catalog.models import (
    Classification,
    ImportBatch,
    ImportKind,
    Mitigation,
    RowAction,
    SourceDocument,
    Taxonomy,
    TaxonomyNode,
)
from tests.factories import MitigationFactory, TaxonomyFactory, TaxonomyNodeFactory, place
from tests.html_checks import html_problems
from tests.spreadsheets import (
    CATALOG_BASE,
    MIT_DOCUMENT_HEADER,
    MIT_MITIGATION_HEADER,
    catalog_state,
    export_to,
    history_total,
    import_one,
    write_csv,
    write_json,
    write_xlsx,
)

pytestmark = pytest.mark.django_db

FORMULA_LIKE = [
    '=HYPERLINK("http://evil.example","click")',
    "+44 20 7946 0000 hotline for incidents",
    "-based filtering of prompts",
    "@SUM(A1:A9)",
    "\tindented on purpose",
    "\rstarts with a carriage return",
    "'=already quoted",
    "literal _x000D_ in the text",
]


@pytest.fixture
def nist():
    return SourceDocument.objects.get(short_ref="NIST2024")


@pytest.fixture
def prelim():
    taxonomy = Taxonomy.objects.get(slug="airm-preliminary")
    return {node.code: node for node in taxonomy.nodes.all()}


@pytest.fixture
def formula_records(nist, prelim):
    return [
        MitigationFactory(
            name=value,
            definition=f"Line one\nline two {value}",
            section_path=value,
            source=nist,
            placements=place(prelim["3.1"], reasoning=value),
        )
        for value in FORMULA_LIKE
    ]


def mit_rows(*rows):
    return [MIT_MITIGATION_HEADER, *rows]


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_export_then_import_changes_nothing_and_writes_no_history(tmp_path, fmt, formula_records):
    path = export_to(tmp_path / f"catalog.{fmt}")
    state, history = catalog_state(), history_total()

    report, batch = import_one(path)

    assert report.ok, report.problems
    assert report.counts[RowAction.UNCHANGED] == Mitigation.objects.count()
    assert report.counts[RowAction.CHANGED] == report.counts[RowAction.NEW] == 0
    assert catalog_state() == state
    assert history_total() == history
    assert batch.status == ImportBatch.Status.APPLIED


def test_taxonomy_columns_are_read_by_name_or_by_slug(tmp_path, admin):
    target = Mitigation.objects.get(name="Robustness certificates")
    rows = [
        [
            *CATALOG_BASE,
            "AI Risk Mitigation Taxonomy (preliminary)",
            "lifecycle",
            "Actor reasoning",
            "actor",
        ],
        [
            target.public_id,
            target.name,
            target.definition,
            target.source.short_ref,
            target.section_path,
            "2.3",
            "deploy",
            "The lab runs it.",
            "developer",
        ],
    ]
    report, _ = import_one(write_csv(tmp_path / "mixed.csv", rows), actor=admin)
    assert report.ok, report.problems
    assert report.counts[RowAction.CHANGED] == 1
    placed = {c.taxonomy.slug: (c.node.code, c.reasoning) for c in target.classifications.all()}
    assert placed["airm-preliminary"][0] == "2.3"
    assert placed["lifecycle"][0] == "deploy"
    assert placed["actor"] == ("developer", "The lab runs it.")


def test_a_misspelt_taxonomy_name_is_named_as_a_problem(tmp_path):
    rows = [
        [*CATALOG_BASE, "AI lifecycel stage"],
        ["A9001", "Adversarial training", "", "Gipiškis2024", "", "deploy"],
    ]
    report, batch = import_one(write_csv(tmp_path / "typo.csv", rows))
    assert batch is None
    assert any("Did you mean “lifecycle”?" in problem for problem in report.problems)


def test_a_formula_like_value_really_changed_in_the_file_is_seen_as_a_change(
    tmp_path, formula_records
):
    path = export_to(tmp_path / "catalog.csv", Mitigation.objects.filter(pk=formula_records[0].pk))
    text = path.read_text(encoding="utf-8-sig").replace("'=HYPERLINK(", "'=LINK(")
    path.write_text(text, encoding="utf-8-sig")

    report, _ = import_one(path)

    formula_records[0].refresh_from_db()
    assert report.counts[RowAction.CHANGED] == 1
    assert formula_records[0].name == '=LINK("http://evil.example","click")'


def test_importing_the_same_file_twice_changes_nothing_the_second_time(tmp_path, admin):
    path = write_csv(
        tmp_path / "mit.csv",
        mit_rows(
            [
                "A0701_NIST2024",
                "Red-team the release",
                "People attack it first.",
                "NIST2024",
                "3.1 Testing & Auditing",
            ],
            ["A0702_NIST2024", "Log the prompts", "", "NIST2024", "3.5 Post-deployment Monitoring"],
        ),
    )
    first, _ = import_one(path, actor=admin)
    state, history = catalog_state(), history_total()

    second, batch = import_one(path, actor=admin)

    assert first.counts[RowAction.NEW] == 2
    assert second.counts[RowAction.UNCHANGED] == 2
    assert catalog_state() == state
    assert history_total() == history
    assert (batch.rows_new, batch.rows_changed) == (0, 0)


# --------------------------------------------------------------------------- what gets written


def test_new_records_get_their_public_id_classification_and_one_history_row_each(tmp_path, admin):
    path = write_csv(
        tmp_path / "new.csv",
        mit_rows(
            [
                "A0983_Gipiškis2024",
                "Stress-test refusals",
                "",
                "Gipiškis2024",
                "3.1 Testing & Auditing",
            ],
            [
                "A0984_Gipiškis2024",
                "Unclassifiable idea",
                "Hard to place.",
                "Gipiškis2024",
                "X.X Control not otherwise categorized",
            ],
        ),
    )

    report, batch = import_one(path, actor=admin)

    assert report.ok
    first = Mitigation.objects.get(number=983)
    assert (first.public_id, first.definition, first.source.short_ref) == (
        "A0983",
        "",
        "Gipiškis2024",
    )
    assert first.classifications.get().node.code == "3.1"
    assert Mitigation.objects.get(number=984).classifications.get().node.is_catch_all
    for model, pk_filter in (
        (Mitigation, {"number__in": [983, 984]}),
        (Classification, {"mitigation__number__in": [983, 984]}),
    ):
        ids = model.objects.filter(**pk_filter).values_list("pk", flat=True)
        rows = list(model.history.filter(id__in=ids))
        assert len(rows) == 2
        assert {
            (r.history_type, r.history_user, r.history_change_reason, r.history_ref) for r in rows
        } == {("+", admin, f"Import of new.csv (batch {batch.pk})", f"import-batch:{batch.pk}")}


def test_a_changed_row_reports_old_and_new_values_and_writes_one_history_row(
    tmp_path, admin, prelim
):
    target = Mitigation.objects.get(name="Adversarial training")
    before = target.history.count()
    path = write_csv(
        tmp_path / "edit.csv",
        mit_rows(
            [
                target.public_id,
                "Adversarial training, revised",
                target.definition,
                "Gipiškis2024",
                "3.1 Testing & Auditing",
            ]
        ),
    )
    plans = []

    _report, _ = run(path, file_name="edit.csv", on_chunk=plans.extend)

    (plan,) = plans
    assert plan.action == RowAction.CHANGED
    assert ("Action Name", "Adversarial training", "Adversarial training, revised") in plan.changes
    assert (
        "MitigationCode",
        "2.3 Model Safety Engineering",
        "3.1 Testing & Auditing",
    ) in plan.changes
    assert target.history.count() == before  # a preview writes nothing

    import_one(path, actor=admin)

    target.refresh_from_db()
    assert target.name == "Adversarial training, revised"
    assert target.history.count() == before + 1
    moved = target.classifications.get(taxonomy__slug="airm-preliminary")
    assert moved.node == prelim["3.1"]
    assert moved.history.latest().history_type == "~"  # the classification moved; not re-created
    assert target.classifications.filter(taxonomy__slug="airm-draft").exists()  # untouched


def test_rows_without_an_id_take_numbers_above_any_in_the_catalog_or_the_file(tmp_path, admin):
    path = write_csv(
        tmp_path / "ids.csv",
        [
            CATALOG_BASE,
            ["", "First without ID", "", "NIST2024", ""],
            ["A99990", "With ID", "", "NIST2024", ""],
            ["", "Second without ID", "", "NIST2024", ""],
        ],
    )

    import_one(path, actor=admin)

    names = ["First without ID", "With ID", "Second without ID"]
    numbers = dict(Mitigation.objects.filter(name__in=names).values_list("name", "number"))
    assert numbers == {"First without ID": 99991, "With ID": 99990, "Second without ID": 99992}


def test_a_missing_column_leaves_that_field_alone_but_an_empty_cell_clears_it(tmp_path, admin):
    target = Mitigation.objects.get(name="Robustness certificates")
    section = target.section_path
    path = write_csv(
        tmp_path / "partial.csv",
        [
            ["ID", "Name", "Definition", "Source"],
            [target.public_id, target.name, "", target.source.short_ref],
        ],
    )

    import_one(path, actor=admin)

    target.refresh_from_db()
    assert (target.definition, target.section_path) == ("", section)


def test_the_reasoning_is_kept_when_the_file_has_no_reasoning_column_and_the_node_stays(
    tmp_path, admin
):
    target = Mitigation.objects.get(name="Adversarial training")
    reasoning = target.classifications.get(taxonomy__slug="airm-preliminary").reasoning
    assert reasoning
    path = write_csv(
        tmp_path / "same-node.csv",
        [
            ["ID", "Name", "Source", "airm-preliminary"],
            [target.public_id, target.name, "Gipiškis2024", "2.3"],
        ],
    )

    report, _ = import_one(path, actor=admin)

    assert report.counts[RowAction.UNCHANGED] == 1
    assert target.classifications.get(taxonomy__slug="airm-preliminary").reasoning == reasoning


def test_an_empty_node_cell_removes_the_classification_with_history(tmp_path, admin):
    target = Mitigation.objects.get(name="Adversarial training")
    path = write_csv(
        tmp_path / "unclassify.csv",
        [
            ["ID", "Name", "Source", "lifecycle"],
            [target.public_id, target.name, "Gipiškis2024", ""],
        ],
    )
    row = target.classifications.get(taxonomy__slug="lifecycle")

    import_one(path, actor=admin)

    assert not target.classifications.filter(taxonomy__slug="lifecycle").exists()
    deleted = Classification.history.get(id=row.pk, history_type="-")
    assert deleted.history_user == admin and deleted.history_ref.startswith("import-batch:")


def test_a_multi_valued_taxonomy_round_trips_with_one_reasoning_per_node(tmp_path, nist):
    tags = TaxonomyFactory(slug="tags", multi_valued=True)
    a, b, c = (TaxonomyNodeFactory(taxonomy=tags, code=code, name=f"Tag {code}") for code in "abc")
    record = MitigationFactory(source=nist)
    services.mitigation_reclassify(
        mitigation=record,
        taxonomy=tags,
        placements=[
            services.Placement(a, "first"),
            services.Placement(b, ""),
            services.Placement(c, "third"),
        ],
        actor=None,
        reason="Test data",
    )
    path = export_to(tmp_path / "tags.csv", Mitigation.objects.filter(pk=record.pk))
    history = history_total()

    report, _ = import_one(path)

    assert report.counts[RowAction.UNCHANGED] == 1
    assert history_total() == history


# --------------------------------------------------------------------------- refusals


def test_a_status_change_is_refused_and_a_merged_record_cannot_be_edited(tmp_path, nist):
    kept, merged, retired = MitigationFactory.create_batch(3, source=nist)
    services.mitigation_merge(mitigation=merged, into=kept, actor=None, reason="Same")
    services.mitigation_retire(mitigation=retired, actor=None, reason="Gone")
    path = export_to(
        tmp_path / "status.csv", Mitigation.objects.filter(pk__in=[merged.pk, retired.pk])
    )
    text = path.read_text(encoding="utf-8-sig")
    text = text.replace(f"{merged.name},", "Edited name,").replace(",retired,", ",active,")
    path.write_text(text, encoding="utf-8-sig")
    state = catalog_state()
    plans = []

    report, _ = run(path, file_name="status.csv", on_chunk=plans.extend)

    messages = {plan.key: " ".join(m for _, m in plan.errors) for plan in plans}
    assert f"was merged into {kept.public_id}" in messages[merged.public_id]
    assert "an import does not change a record's status" in messages[retired.public_id]
    assert not report.ok
    import_one(path)
    assert catalog_state() == state


def test_an_error_in_the_last_chunk_leaves_nothing_written(tmp_path, admin):
    rows = [CATALOG_BASE] + [["", f"Bulk row {n}", "Fine.", "NIST2024", ""] for n in range(2100)]
    rows.append(["", "Broken row", "", "Nobody2099", ""])
    path = write_csv(tmp_path / "late-error.csv", rows)
    state, history = catalog_state(), history_total()

    report, batch = import_one(path, actor=admin)

    assert report.counts[RowAction.ERROR] == 1
    assert batch is None
    assert catalog_state() == state
    assert history_total() == history
    assert not ImportBatch.objects.exists()


def test_planning_takes_a_fixed_number_of_queries_whatever_the_number_of_rows(
    tmp_path, admin, django_assert_num_queries
):
    def sheet(count):
        rows = [["ID", "Name", "Source", "airm-preliminary"]]
        rows += [[f"A{8000 + n}", f"Row {n}", "NIST2024", "3.1"] for n in range(count)]
        return write_csv(tmp_path / f"{count}.csv", rows)

    small, large = sheet(5), sheet(500)
    # taxonomies (layout), sources, nodes, taxonomies (importer), next number (2),
    # then per chunk: the existing mitigations, the source names
    with django_assert_num_queries(8):
        run(small, file_name="small.csv")
    with django_assert_num_queries(8):
        run(large, file_name="large.csv")
    import_one(large, actor=admin)
    # once they exist, per chunk also: the taxonomies' nodes and their classifications
    with django_assert_num_queries(10):
        run(small, file_name="small.csv")
    with django_assert_num_queries(10):
        run(large, file_name="large.csv")


# --------------------------------------------------------------------------- documents and nodes


def test_documents_import_in_mits_layout_new_and_changed(tmp_path, admin):
    path = write_csv(
        tmp_path / "docs.csv",
        [
            MIT_DOCUMENT_HEADER,
            [
                "Example2026",
                "99",
                "A made-up framework",
                "Example",
                "2026",
                "What it says.",
                "Why it matters.",
                "https://example.org/f",
                "",
                "Other government document",
            ],
            [
                "NIST2024",
                "16",
                "A new title for NIST",
                "NIST",
                "2024",
                "",
                "",
                "https://example.org/n",
                "",
                "Other non-government document",
            ],
        ],
    )

    report, batch = import_one(path, kind=ImportKind.DOCUMENTS, actor=admin)

    assert (report.counts[RowAction.NEW], report.counts[RowAction.CHANGED]) == (1, 1)
    new = SourceDocument.objects.get(short_ref="Example2026")
    assert (new.document_id, new.year, new.doc_type) == (
        99,
        2026,
        SourceDocument.DocType.GOVERNMENT,
    )
    changed = SourceDocument.objects.get(short_ref="NIST2024")
    assert changed.title == "A new title for NIST"
    assert changed.history.latest().history_change_reason == batch.reason


def test_documents_with_a_bad_type_year_or_taken_document_id_are_refused(tmp_path):
    path = write_csv(
        tmp_path / "docs.csv",
        [
            MIT_DOCUMENT_HEADER,
            ["One2026", "98", "One", "", "twenty", "", "", "", "", "Pamphlet"],
            ["Two2026", "16", "Two", "", "2026", "", "", "", "", "Preprint"],
        ],
    )
    plans = []

    report, _ = run(path, file_name="docs.csv", kind=ImportKind.DOCUMENTS, on_chunk=plans.extend)

    errors = [f"{where}: {message}" for plan in plans for where, message in plan.errors]
    assert 'column E ("Year"): “twenty” is not a whole number.' in errors
    assert any(e.startswith('column J ("Type"): “Pamphlet” is not a document type') for e in errors)
    assert any("Document ID 16 belongs to NIST2024" in e for e in errors)
    assert not report.ok


def test_nodes_import_with_parents_later_in_the_file(tmp_path, admin):
    TaxonomyFactory(slug="where", name="Where it acts")
    path = write_csv(
        tmp_path / "nodes.csv",
        [
            ["Taxonomy", "Code", "Name", "Parent", "Definition", "Order", "Catch-all"],
            ["where", "1.1", "Model", "1", "Inside the weights.", "1", ""],
            ["where", "1", "AI system", "", "The system itself.", "1", "no"],
            ["where", "9", "Other", "", "", "9", "yes"],
        ],
    )

    report, _ = import_one(path, kind=ImportKind.NODES, actor=admin)

    assert report.counts[RowAction.NEW] == 3, report
    child = TaxonomyNode.objects.get(taxonomy__slug="where", code="1.1")
    assert (child.parent.code, child.path) == ("1", "/1/1.1/")
    assert TaxonomyNode.objects.get(taxonomy__slug="where", code="9").is_catch_all


def test_nodes_whose_parents_loop_or_are_unknown_are_refused(tmp_path):
    TaxonomyFactory(slug="loops")
    path = write_csv(
        tmp_path / "nodes.csv",
        [
            ["Taxonomy", "Code", "Name", "Parent"],
            ["loops", "a", "A", "b"],
            ["loops", "b", "B", "a"],
            ["loops", "c", "C", "zz"],
            ["nowhere", "d", "D", ""],
        ],
    )
    plans = []

    run(path, file_name="nodes.csv", kind=ImportKind.NODES, on_chunk=plans.extend)

    messages = {plan.key: [m for _, m in plan.errors] for plan in plans}
    assert messages["loops a"] == ["The parents of loops a form a loop."]
    assert messages["loops c"] == [
        "No node zz in Test taxonomy " + messages["loops c"][0].split("Test taxonomy ")[1]
    ]
    assert messages["nowhere d"][0].startswith("No taxonomy “nowhere”")


# --------------------------------------------------------------------------- JSON and XLSX input


def test_a_json_list_of_rows_and_an_xlsx_sheet_import_like_csv(tmp_path, admin):
    write_json(
        tmp_path / "rows.json",
        [{"ID": "A0801", "Name": "From JSON", "Source": "NIST2024", "airm-preliminary": "4.1"}],
    )
    write_xlsx(
        tmp_path / "rows.xlsx",
        [
            ["ID", "Name", "Source", "airm-preliminary"],
            ["A0802", "From XLSX", "NIST2024", "4.2 Risk Disclosure"],
        ],
    )

    for name in ("rows.json", "rows.xlsx"):
        report, _ = import_one(tmp_path / name, actor=admin)
        assert report.counts[RowAction.NEW] == 1, report.problems

    assert Mitigation.objects.get(number=801).classifications.get().node.code == "4.1"
    assert Mitigation.objects.get(number=802).classifications.get().node.code == "4.2"


def test_an_xlsx_formula_is_imported_as_its_text_never_evaluated(tmp_path, admin):
    write_xlsx(
        tmp_path / "formula.xlsx",
        [["ID", "Name", "Source"], ["A0803", "=1+1", "NIST2024"]],
    )

    import_one(tmp_path / "formula.xlsx", actor=admin)

    assert Mitigation.objects.get(number=803).name == "=1+1"


# --------------------------------------------------------------------------- revert


def test_reverting_a_batch_restores_every_previous_version_and_is_itself_history(
    tmp_path, admin, curator
):
    target = Mitigation.objects.get(name="Adversarial training")
    original = (
        target.name,
        target.classifications.get(taxonomy__slug="airm-preliminary").node.code,
    )
    path = write_csv(
        tmp_path / "batch.csv",
        mit_rows(
            [target.public_id, "Renamed by the import", target.definition, "Gipiškis2024", "3.1"],
            ["A0901_NIST2024", "Created by the import", "", "NIST2024", "3.2"],
        ),
    )
    state = catalog_state()
    _, batch = import_one(path, actor=admin)

    counts = import_batch_revert(batch=batch, actor=curator, reason="Wrong file")

    assert catalog_state() == state
    target.refresh_from_db()
    assert (
        target.name,
        target.classifications.get(taxonomy__slug="airm-preliminary").node.code,
    ) == original
    assert counts == {
        "classifications removed": 1,
        "mitigations removed": 1,
        "mitigations restored": 1,
        "classifications restored": 1,
    }
    latest = target.history.latest()
    assert (latest.history_user, latest.history_ref) == (curator, f"import-batch-revert:{batch.pk}")
    assert latest.history_change_reason.startswith(f"Revert of import batch {batch.pk}")
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.REVERTED
    # the removed record keeps its history, and its number is never handed out again
    assert Mitigation.history.filter(number=901, history_type="-").exists()
    assert services.mitigation_next_number() > 901


def test_a_record_removed_by_a_revert_still_resolves_as_gone(tmp_path, admin, curator, client):
    path = write_csv(
        tmp_path / "batch.csv",
        mit_rows(["A0902_NIST2024", "Created by mistake", "A short definition", "NIST2024", "3.2"]),
    )
    _, batch = import_one(path, actor=admin)
    assert client.get("/mitigations/A0902/").status_code == 200
    import_batch_revert(batch=batch, actor=curator, reason="Wrong file")

    response = client.get("/mitigations/A0902/")
    assert response.status_code == 410
    assert "Created by mistake" in response.text
    assert "Revert of import batch" in response.text
    assert "never given to another record" in response.text
    assert client.get("/mitigations/A0903/").status_code == 404
    # No way into the admin for the public; the history the README promises is shown.
    assert "/admin/" not in response.text
    assert f"revert of import batch #{batch.pk}" in response.text
    history = response.text[response.text.index('id="history-title"') :]
    assert history.count('class="timeline__entry"') == 2  # created by the import, then removed
    assert f"via import batch #{batch.pk}" in history
    assert "removed" in history and "created" in history
    assert "<ins>Created by mistake</ins>" in history
    assert html_problems(response.text) == []


def test_a_revert_is_refused_when_a_record_changed_again_since(tmp_path, admin):
    target = Mitigation.objects.get(name="Robustness certificates")
    path = write_csv(
        tmp_path / "batch.csv",
        mit_rows([target.public_id, "Renamed once", "", "Gipiškis2024", ""]),
    )
    _, batch = import_one(path, actor=admin)
    services.mitigation_update(
        mitigation=target, data={"name": "Renamed twice"}, actor=admin, reason="Later edit"
    )

    with pytest.raises(ValidationError, match="changed again after"):
        import_batch_revert(batch=batch, actor=admin, reason="Undo")

    target.refresh_from_db()
    assert target.name == "Renamed twice"
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED


def test_reverting_a_documents_batch_removes_new_documents_and_restores_changed_ones(
    tmp_path, admin
):
    nist = SourceDocument.objects.get(short_ref="NIST2024")
    path = write_csv(
        tmp_path / "docs.csv",
        [
            ["ShortRef", "Title", "Type"],
            ["Fresh2026", "A fresh document", "Preprint"],
            ["NIST2024", "Retitled", nist.get_doc_type_display()],
        ],
    )
    _, batch = import_one(path, kind=ImportKind.DOCUMENTS, actor=admin)

    import_batch_revert(batch=batch, actor=admin, reason="Undo")

    assert not SourceDocument.objects.filter(short_ref="Fresh2026").exists()
    nist.refresh_from_db()
    assert nist.title != "Retitled"


def test_an_overlong_reasoning_is_refused_with_its_cell_before_anything_is_written(tmp_path):
    # Classification.reasoning holds 1,000 characters; PostgreSQL would refuse more at write.
    header = [*CATALOG_BASE, "airm-preliminary", "airm-preliminary reasoning"]
    rows = [header, ["", "Long-winded row", "", "NIST2024", "", "3.1", "why " * 251]]
    path = write_csv(tmp_path / "long-reasoning.csv", rows)
    state = catalog_state()

    report, batch = import_one(path)

    assert report.error_groups == {
        (
            'column G ("airm-preliminary reasoning")',
            "Keep each reasoning under 1,000 characters (one line).",
        ): [1, [2]]
    }
    assert batch is None
    assert catalog_state() == state
