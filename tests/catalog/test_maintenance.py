"""Fresh planner statistics after large writes (catalog/maintenance.py): imports and reverts
analyse the tables they changed once they commit, on both databases."""

from __future__ import annotations

import pytest
from django.db import connection

from catalog import maintenance
from catalog.imports.batches import import_batch_revert
from catalog.models import Classification, Mitigation
from tests.spreadsheets import CATALOG_BASE, import_one, write_csv

pytestmark = pytest.mark.django_db


def planner_rows(table: str) -> int | None:
    """The row count the planner believes ``table`` has (None: never analysed)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
            (rows,) = cursor.fetchone()
            return None if rows < 0 else int(rows)
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return None
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s", [table])
        found = cursor.fetchone()
        return int(found[0].split()[0]) if found else None


def csv_of(tmp_path, count: int):
    rows = [["", f"Imported record {n}", "", "NIST2024", "Testing"] for n in range(count)]
    return write_csv(tmp_path / "many.csv", [CATALOG_BASE, *rows])


def test_an_import_analyses_the_tables_it_changed(
    tmp_path, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report, _ = import_one(csv_of(tmp_path, 40), actor=admin)
    assert report.ok
    assert planner_rows(Mitigation._meta.db_table) == Mitigation.objects.count()
    assert planner_rows(Classification._meta.db_table) == Classification.objects.count()


def test_a_revert_analyses_the_tables_it_changed(
    tmp_path, admin, django_capture_on_commit_callbacks
):
    _, batch = import_one(csv_of(tmp_path, 40), actor=admin)
    with django_capture_on_commit_callbacks(execute=True):
        import_batch_revert(batch=batch, actor=admin, reason="Wrong file")
    assert planner_rows(Mitigation._meta.db_table) == Mitigation.objects.count()


def test_a_dry_run_analyses_nothing(tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        import_one(csv_of(tmp_path, 3), dry_run=True)
    assert callbacks == []


def test_the_helper_analyses_every_curated_table_by_default():
    analysed = maintenance.analyze()
    assert Mitigation._meta.db_table in analysed
    assert Mitigation.history.model._meta.db_table in analysed
    assert planner_rows(Mitigation._meta.db_table) == Mitigation.objects.count()


def test_the_helper_takes_table_names_and_skips_unknown_ones():
    assert maintenance.analyze(["catalog_source", "no_such_table"]) == []
    assert maintenance.analyze(["catalog_sourcedocument", "no_such_table"]) == [
        "catalog_sourcedocument"
    ]


def test_records_and_classifications_bring_the_tallies_tables_along():
    tally_tables = [model._meta.db_table for model in maintenance.tally_models()]
    assert maintenance.analyze(["catalog_mitigation"]) == ["catalog_mitigation", *tally_tables]
    assert maintenance.analyze(["catalog_classification"])[1:] == tally_tables


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="VACUUM is PostgreSQL's")
def test_outside_a_transaction_postgresql_also_vacuums():
    from tests.factories import MitigationFactory

    MitigationFactory.create_batch(3)
    table = Mitigation._meta.db_table
    assert maintenance.analyze([table])[0] == table
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT last_vacuum IS NOT NULL, last_analyze IS NOT NULL, n_dead_tup"
            " FROM pg_stat_user_tables WHERE relname = %s",
            [table],
        )
        vacuumed, analysed, _ = cursor.fetchone()
    assert vacuumed and analysed
    assert planner_rows(table) == Mitigation.objects.count()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="VACUUM is PostgreSQL's")
def test_inside_a_transaction_it_only_analyses():
    # The test runs inside a transaction, where VACUUM is refused: a plain ANALYZE, no error.
    assert connection.in_atomic_block
    assert maintenance.analyze(["catalog_mitigation"])[0] == "catalog_mitigation"
    assert planner_rows("catalog_mitigation") == Mitigation.objects.count()
