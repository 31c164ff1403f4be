"""Invariants that span rows, enforced by the database itself (PostgreSQL and SQLite).

- A classification's node belongs to the classification's taxonomy.
- A single-valued taxonomy places a mitigation at one node at most.
- A merged record points at an active record, and a record that others are merged into stays
  active until they are re-pointed.
- PostgreSQL only: the full-text search vector (name weighted A, section B, definition C) is
  kept by a trigger and indexed with GIN.

The SQL is static: nothing in it comes from input.
"""

from django.db import migrations

POSTGRES_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION catalog_classification_check() RETURNS trigger AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM catalog_taxonomynode n
                       WHERE n.id = NEW.node_id AND n.taxonomy_id = NEW.taxonomy_id) THEN
            RAISE EXCEPTION 'catalog_classification_node_in_taxonomy: node % is not in taxonomy %',
                NEW.node_id, NEW.taxonomy_id USING ERRCODE = '23514';
        END IF;
        IF EXISTS (SELECT 1 FROM catalog_taxonomy t WHERE t.id = NEW.taxonomy_id AND NOT t.multi_valued)
           AND EXISTS (SELECT 1 FROM catalog_classification c
                       WHERE c.mitigation_id = NEW.mitigation_id AND c.taxonomy_id = NEW.taxonomy_id
                         AND c.id <> NEW.id) THEN
            RAISE EXCEPTION 'catalog_classification_single_valued: mitigation % already has a node of taxonomy %',
                NEW.mitigation_id, NEW.taxonomy_id USING ERRCODE = '23505';
        END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER catalog_classification_check BEFORE INSERT OR UPDATE ON catalog_classification
    FOR EACH ROW EXECUTE FUNCTION catalog_classification_check();
    """,
    """
    CREATE OR REPLACE FUNCTION catalog_mitigation_check() RETURNS trigger AS $$
    BEGIN
        IF NEW.merged_into_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM catalog_mitigation m WHERE m.id = NEW.merged_into_id AND m.status = 'active') THEN
            RAISE EXCEPTION 'catalog_mitigation_merged_into_active: target % is not active', NEW.merged_into_id
                USING ERRCODE = '23514';
        END IF;
        IF TG_OP = 'UPDATE' AND NEW.status <> 'active' AND EXISTS (
            SELECT 1 FROM catalog_mitigation m WHERE m.merged_into_id = NEW.id) THEN
            RAISE EXCEPTION 'catalog_mitigation_merge_target_stays_active: records are merged into %', NEW.id
                USING ERRCODE = '23514';
        END IF;
        NEW.search_vector :=
            setweight(to_tsvector('english', coalesce(NEW.name, '')), 'A') ||
            setweight(to_tsvector('english', coalesce(NEW.section_path, '')), 'B') ||
            setweight(to_tsvector('english', coalesce(NEW.definition, '')), 'C');
        RETURN NEW;
    END $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER catalog_mitigation_check BEFORE INSERT OR UPDATE ON catalog_mitigation
    FOR EACH ROW EXECUTE FUNCTION catalog_mitigation_check();
    """,
    "CREATE INDEX catalog_mit_search_gin ON catalog_mitigation USING gin (search_vector);",
]

POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS catalog_mit_search_gin;",
    "DROP TRIGGER IF EXISTS catalog_mitigation_check ON catalog_mitigation;",
    "DROP FUNCTION IF EXISTS catalog_mitigation_check();",
    "DROP TRIGGER IF EXISTS catalog_classification_check ON catalog_classification;",
    "DROP FUNCTION IF EXISTS catalog_classification_check();",
]

_SQLITE_CLASSIFICATION_CHECKS = """
    SELECT RAISE(ABORT, 'catalog_classification_node_in_taxonomy: the node is not in the taxonomy')
    WHERE NOT EXISTS (SELECT 1 FROM catalog_taxonomynode n
                      WHERE n.id = NEW.node_id AND n.taxonomy_id = NEW.taxonomy_id);
    SELECT RAISE(ABORT, 'catalog_classification_single_valued: the taxonomy allows one node per mitigation')
    WHERE EXISTS (SELECT 1 FROM catalog_taxonomy t WHERE t.id = NEW.taxonomy_id AND NOT t.multi_valued)
      AND EXISTS (SELECT 1 FROM catalog_classification c
                  WHERE c.mitigation_id = NEW.mitigation_id AND c.taxonomy_id = NEW.taxonomy_id
                    AND c.id <> NEW.id);
"""

_SQLITE_MERGE_TARGET_CHECK = """
    SELECT RAISE(ABORT, 'catalog_mitigation_merged_into_active: the merge target is not active')
    WHERE NEW.merged_into_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM catalog_mitigation m WHERE m.id = NEW.merged_into_id AND m.status = 'active');
"""

SQLITE_FORWARD = [
    f"""CREATE TRIGGER catalog_classification_check_insert BEFORE INSERT ON catalog_classification
    BEGIN {_SQLITE_CLASSIFICATION_CHECKS} END;""",
    f"""CREATE TRIGGER catalog_classification_check_update BEFORE UPDATE ON catalog_classification
    BEGIN {_SQLITE_CLASSIFICATION_CHECKS} END;""",
    f"""CREATE TRIGGER catalog_mitigation_check_insert BEFORE INSERT ON catalog_mitigation
    BEGIN {_SQLITE_MERGE_TARGET_CHECK} END;""",
    f"""CREATE TRIGGER catalog_mitigation_check_update BEFORE UPDATE ON catalog_mitigation
    BEGIN {_SQLITE_MERGE_TARGET_CHECK}
    SELECT RAISE(ABORT, 'catalog_mitigation_merge_target_stays_active: records are merged into it')
    WHERE NEW.status <> 'active' AND EXISTS (
        SELECT 1 FROM catalog_mitigation m WHERE m.merged_into_id = NEW.id);
    END;""",
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS catalog_classification_check_insert;",
    "DROP TRIGGER IF EXISTS catalog_classification_check_update;",
    "DROP TRIGGER IF EXISTS catalog_mitigation_check_insert;",
    "DROP TRIGGER IF EXISTS catalog_mitigation_check_update;",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
    ]
