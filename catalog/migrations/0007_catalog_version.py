"""The catalog version: one row, bumped by every write (see catalog/version.py)."""

import secrets

from django.db import migrations, models
from django.utils import timezone


def create_row(apps, schema_editor):
    CatalogVersion = apps.get_model("catalog", "CatalogVersion")
    CatalogVersion.objects.using(schema_editor.connection.alias).create(
        pk=1, number=0, token=secrets.token_hex(8), changed_at=timezone.now()
    )


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0006_classification_check_uses_mitigation_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="CatalogVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveBigIntegerField(default=0)),
                ("token", models.CharField(max_length=32)),
                ("changed_at", models.DateTimeField()),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("id", 1)), name="catalog_version_single_row"
                    )
                ],
            },
        ),
        migrations.RunPython(create_row, migrations.RunPython.noop),
    ]
