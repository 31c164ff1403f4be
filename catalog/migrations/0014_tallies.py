"""Tallies of mitigations per (node, source, status), kept by the writes (:mod:`catalog.tallies`).

Four tables (the tallies, what each mitigation adds to them, the changes waiting to be folded,
a fold's working set) and the triggers that note changes: statement-level with transition
tables on PostgreSQL (one insert per statement, whatever its size), row-level on SQLite. The
existing catalog is counted once here. The SQL is static: nothing in it comes from input.

A later migration that rebuilds one of these tables on SQLite (Django copies a table to alter
it) drops its triggers: ``tests/catalog/test_tallies.py`` checks they are all still there.
"""

from django.db import migrations, models

CHANGE = "catalog_tallychange"

# PostgreSQL: (trigger, table, event, transition tables, the SELECT of changed mitigation ids).
_POSTGRES = [
    (
        "catalog_tally_mitigation_inserted",
        "catalog_mitigation",
        "INSERT",
        "NEW TABLE AS new_rows",
        "SELECT id FROM new_rows",
    ),
    (
        "catalog_tally_mitigation_deleted",
        "catalog_mitigation",
        "DELETE",
        "OLD TABLE AS old_rows",
        "SELECT id FROM old_rows",
    ),
    (
        "catalog_tally_mitigation_updated",
        "catalog_mitigation",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "WHERE n.source_id IS DISTINCT FROM o.source_id OR n.status IS DISTINCT FROM o.status",
    ),
    (
        "catalog_tally_classification_inserted",
        "catalog_classification",
        "INSERT",
        "NEW TABLE AS new_rows",
        "SELECT DISTINCT mitigation_id FROM new_rows",
    ),
    (
        "catalog_tally_classification_deleted",
        "catalog_classification",
        "DELETE",
        "OLD TABLE AS old_rows",
        "SELECT DISTINCT mitigation_id FROM old_rows",
    ),
    (
        "catalog_tally_classification_updated",
        "catalog_classification",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "SELECT x.mitigation_id FROM new_rows n JOIN old_rows o ON o.id = n.id, "
        "LATERAL (VALUES (n.mitigation_id), (o.mitigation_id)) x(mitigation_id) "
        "WHERE n.node_id IS DISTINCT FROM o.node_id "
        "OR n.mitigation_id IS DISTINCT FROM o.mitigation_id",
    ),
    (
        "catalog_tally_node_updated",
        "catalog_taxonomynode",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "SELECT DISTINCT c.mitigation_id FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "JOIN catalog_classification c ON c.node_id = n.id "
        "WHERE n.path IS DISTINCT FROM o.path OR n.taxonomy_id IS DISTINCT FROM o.taxonomy_id",
    ),
]


def _postgres_forward():
    for name, table, event, referencing, select in _POSTGRES:
        yield (
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
            f"INSERT INTO {CHANGE} (mitigation_id) {select}; RETURN NULL; "
            "END $$ LANGUAGE plpgsql"
        )
        yield (
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )


def _postgres_backward():
    for name, table, *_ in _POSTGRES:
        yield f"DROP TRIGGER IF EXISTS {name} ON {table}"
        yield f"DROP FUNCTION IF EXISTS {name}()"


# SQLite: (trigger, event and table, condition, the statements' values).
_SQLITE = [
    ("catalog_tally_mitigation_inserted", "INSERT ON catalog_mitigation", "", ["new.id"]),
    ("catalog_tally_mitigation_deleted", "DELETE ON catalog_mitigation", "", ["old.id"]),
    (
        "catalog_tally_mitigation_updated",
        "UPDATE OF source_id, status ON catalog_mitigation",
        "old.source_id IS NOT new.source_id OR old.status IS NOT new.status",
        ["new.id"],
    ),
    (
        "catalog_tally_classification_inserted",
        "INSERT ON catalog_classification",
        "",
        ["new.mitigation_id"],
    ),
    (
        "catalog_tally_classification_deleted",
        "DELETE ON catalog_classification",
        "",
        ["old.mitigation_id"],
    ),
    (
        "catalog_tally_classification_updated",
        "UPDATE OF node_id, mitigation_id ON catalog_classification",
        "old.node_id IS NOT new.node_id OR old.mitigation_id IS NOT new.mitigation_id",
        ["old.mitigation_id", "new.mitigation_id"],
    ),
]


def _sqlite_forward():
    for name, event, condition, values in _SQLITE:
        when = f" WHEN {condition}" if condition else ""
        body = " ".join(f"INSERT INTO {CHANGE} (mitigation_id) VALUES ({v});" for v in values)
        yield f"CREATE TRIGGER {name} AFTER {event}{when} BEGIN {body} END"
    yield (
        "CREATE TRIGGER catalog_tally_node_updated AFTER UPDATE OF path, taxonomy_id "
        "ON catalog_taxonomynode WHEN old.path IS NOT new.path OR old.taxonomy_id IS NOT "
        f"new.taxonomy_id BEGIN INSERT INTO {CHANGE} (mitigation_id) "
        "SELECT mitigation_id FROM catalog_classification WHERE node_id = new.id; END"
    )


def _sqlite_backward():
    for name, *_ in _SQLITE:
        yield f"DROP TRIGGER IF EXISTS {name}"
    yield "DROP TRIGGER IF EXISTS catalog_tally_node_updated"


def forward(apps, schema_editor):
    from catalog import tallies

    vendor = schema_editor.connection.vendor
    statements = {"postgresql": _postgres_forward, "sqlite": _sqlite_forward}[vendor]()
    for statement in statements:
        schema_editor.execute(statement, params=None)
    tallies.rebuild(schema_editor.connection.alias)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": _postgres_backward, "sqlite": _sqlite_backward}[vendor]()
    for statement in statements:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0013_section_siblings_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="TallyChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("mitigation_id", models.BigIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="TallyClaim",
            fields=[
                ("mitigation_id", models.BigIntegerField(primary_key=True, serialize=False)),
            ],
        ),
        migrations.CreateModel(
            name="TallyMember",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("mitigation_id", models.BigIntegerField(db_index=True)),
                ("node_id", models.BigIntegerField()),
                ("source_id", models.BigIntegerField()),
                ("status", models.CharField(max_length=20)),
            ],
        ),
        migrations.CreateModel(
            name="NodeTally",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("node_id", models.BigIntegerField()),
                ("source_id", models.BigIntegerField()),
                ("status", models.CharField(max_length=20)),
                ("total", models.IntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("node_id", "source_id", "status"), name="catalog_nodetally_key"
                    )
                ],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
