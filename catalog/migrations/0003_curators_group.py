from django.db import migrations

CURATORS_GROUP = "Curators"


def create_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.get_or_create(name=CURATORS_GROUP)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_database_invariants"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
