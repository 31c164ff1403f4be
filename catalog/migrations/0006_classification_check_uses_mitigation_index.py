"""Keep the classification trigger's lookup on the mitigation's own rows, whatever the statistics.

Migration 0002's trigger checks "one node per single-valued taxonomy" with
``WHERE c.mitigation_id = … AND c.taxonomy_id = …``. On a database whose statistics are still
those of a near-empty table (a fresh install importing its first large spreadsheet),
PostgreSQL caches a plan that walks the taxonomy_id index and filters on mitigation_id: every
insert then reads every classification of that taxonomy, and a 100,000-row import turns
quadratic (hours instead of seconds). Writing ``c.taxonomy_id + 0`` leaves the planner only the
indexes that start with mitigation_id, which hold a handful of rows per mitigation. Same rule,
same messages; PostgreSQL only (SQLite's planner prefers the two-column match anyway).
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION catalog_classification_check() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM catalog_taxonomynode n
                   WHERE n.id = NEW.node_id AND n.taxonomy_id = NEW.taxonomy_id) THEN
        RAISE EXCEPTION 'catalog_classification_node_in_taxonomy: node % is not in taxonomy %',
            NEW.node_id, NEW.taxonomy_id USING ERRCODE = '23514';
    END IF;
    IF EXISTS (SELECT 1 FROM catalog_taxonomy t WHERE t.id = NEW.taxonomy_id AND NOT t.multi_valued)
       AND EXISTS (SELECT 1 FROM catalog_classification c
                   WHERE c.mitigation_id = NEW.mitigation_id AND c.taxonomy_id + 0 = NEW.taxonomy_id
                     AND c.id <> NEW.id) THEN
        RAISE EXCEPTION 'catalog_classification_single_valued: mitigation % already has a node of taxonomy %',
            NEW.mitigation_id, NEW.taxonomy_id USING ERRCODE = '23505';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
"""

PREVIOUS = FUNCTION.replace("c.taxonomy_id + 0 =", "c.taxonomy_id =")


def _run(statement):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_import_batches")]

    operations = [migrations.RunPython(_run(FUNCTION), _run(PREVIOUS))]
