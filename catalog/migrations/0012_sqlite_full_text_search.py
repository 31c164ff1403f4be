"""SQLite only: a full-text index of mitigations (FTS5), the embedded default's search engine.

``catalog_mitigation_fts`` is an external-content FTS5 table over ``catalog_mitigation``'s
name, section path and definition (porter stemming, Unicode case folding without diacritics),
kept in step by three triggers and filled from the existing rows once here. PostgreSQL has its
own (``search_vector``, migration 0002); nothing runs there. A SQLite built without FTS5 keeps
the substring search (``catalog.search.fallback_search``).

A later migration that rebuilds ``catalog_mitigation`` on SQLite (Django copies the table to
alter it) drops its triggers: ``tests/catalog/test_search.py`` checks they are still there.
The SQL is static: nothing in it comes from input.
"""

import django.db.models.deletion
from django.db import migrations, models

import catalog.models

TABLE = "catalog_mitigation_fts"
COLUMNS = "name, section_path, definition"

FORWARD = [
    f"""CREATE VIRTUAL TABLE {TABLE} USING fts5(
        {COLUMNS}, content='catalog_mitigation', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    f"""CREATE TRIGGER {TABLE}_insert AFTER INSERT ON catalog_mitigation BEGIN
        INSERT INTO {TABLE}(rowid, {COLUMNS})
        VALUES (new.id, new.name, new.section_path, new.definition);
    END""",
    f"""CREATE TRIGGER {TABLE}_delete AFTER DELETE ON catalog_mitigation BEGIN
        INSERT INTO {TABLE}({TABLE}, rowid, {COLUMNS})
        VALUES ('delete', old.id, old.name, old.section_path, old.definition);
    END""",
    f"""CREATE TRIGGER {TABLE}_update AFTER UPDATE OF {COLUMNS} ON catalog_mitigation BEGIN
        INSERT INTO {TABLE}({TABLE}, rowid, {COLUMNS})
        VALUES ('delete', old.id, old.name, old.section_path, old.definition);
        INSERT INTO {TABLE}(rowid, {COLUMNS})
        VALUES (new.id, new.name, new.section_path, new.definition);
    END""",
    f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')",
]

BACKWARD = [
    f"DROP TRIGGER IF EXISTS {TABLE}_insert",
    f"DROP TRIGGER IF EXISTS {TABLE}_delete",
    f"DROP TRIGGER IF EXISTS {TABLE}_update",
    f"DROP TABLE IF EXISTS {TABLE}",
]


def _has_fts5(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_compileoption_used('ENABLE_FTS5')")
        return bool(cursor.fetchone()[0])


def _run(statements):
    def run(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "sqlite" or not _has_fts5(connection):
            return
        for statement in statements:
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0011_job_error_length")]

    operations = [
        migrations.RunPython(_run(FORWARD), _run(BACKWARD)),
        # The index as Django sees it (catalog.search joins it): nothing is created.
        migrations.CreateModel(
            name="MitigationSearchIndex",
            fields=[
                (
                    "mitigation",
                    models.OneToOneField(
                        db_column="rowid",
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="search_index",
                        serialize=False,
                        to="catalog.mitigation",
                    ),
                ),
                ("name", catalog.models.FullTextColumn()),
                ("section_path", catalog.models.FullTextColumn()),
                ("definition", catalog.models.FullTextColumn()),
            ],
            options={"db_table": "catalog_mitigation_fts", "managed": False},
        ),
    ]
