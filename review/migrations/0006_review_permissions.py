"""The review rules as explicit permissions: curators decide proposals, admins oversee them.

The permissions are declared on Proposal (``Meta.permissions``, in the state since 0005);
this migration creates them at once (Django would only after the last migration) and grants
``decide_proposal`` to the *Curators* group, so every curator keeps their rights. ``oversee_proposals`` is held by
superusers (who hold every permission); give it to other admins in the admin if needed.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CURATORS_GROUP = "Curators"


def grant(apps, schema_editor):
    review = apps.get_app_config("review")
    review.models_module = True
    create_permissions(review, apps=apps, verbosity=0)
    review.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    curators, _ = Group.objects.get_or_create(name=CURATORS_GROUP)
    curators.permissions.add(
        Permission.objects.get(content_type__app_label="review", codename="decide_proposal")
    )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(
        content_type__app_label="review", codename__in=["decide_proposal", "oversee_proposals"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("review", "0005_text_length_limits"),
        ("catalog", "0003_curators_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(grant, revoke),
    ]
