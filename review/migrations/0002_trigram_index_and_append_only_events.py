"""Database support for review.

- PostgreSQL: the pg_trgm extension and a GIN trigram index on the mitigation name, so that
  "similar existing mitigations" (``name % 'typed name'``) is an index scan, not a table scan.
  The index is on a catalog table but lives here, with the only feature that uses it.
- Both databases: the proposal event log refuses UPDATE (it is append-only; deletes are
  refused by the ORM and blocked by PROTECT foreign keys).

The SQL is static: nothing in it comes from input.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

POSTGRES_FORWARD = [
    "CREATE INDEX IF NOT EXISTS review_mitigation_name_trgm "
    "ON catalog_mitigation USING gin (name gin_trgm_ops);",
    """
    CREATE OR REPLACE FUNCTION review_event_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'review_event_append_only: proposal events cannot be changed'
            USING ERRCODE = '23514';
    END $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER review_event_append_only BEFORE UPDATE ON review_proposalevent
    FOR EACH ROW EXECUTE FUNCTION review_event_append_only();
    """,
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS review_event_append_only ON review_proposalevent;",
    "DROP FUNCTION IF EXISTS review_event_append_only();",
    "DROP INDEX IF EXISTS review_mitigation_name_trgm;",
]
SQLITE_FORWARD = [
    """CREATE TRIGGER review_event_append_only BEFORE UPDATE ON review_proposalevent
    BEGIN SELECT RAISE(ABORT, 'review_event_append_only: proposal events cannot be changed'); END;""",
]
SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS review_event_append_only;"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("review", "0001_initial"),
        ("catalog", "0002_database_invariants"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(
            _run({"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
    ]
