from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self):
        from . import history  # (importing it connects the history signal receivers)

        history.register_ref_resolver("import-batch", _import_batch_url)
        history.register_ref_resolver("import-batch-revert", _import_batch_url)
        history.register_ref_describer("import-batch", _describe_import_batches("import batch"))
        history.register_ref_describer(
            "import-batch-revert", _describe_import_batches("revert of import batch")
        )
        post_migrate.connect(_create_cache_tables, sender=self)

        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.db.models.signals import pre_delete

        from . import roles

        # People who made history and the groups the review rules need are never deleted.
        pre_delete.connect(
            roles.refuse_user_deletion, sender=get_user_model(), dispatch_uid="catalog-users"
        )
        pre_delete.connect(roles.refuse_group_deletion, sender=Group, dispatch_uid="catalog-groups")


def _import_batch_url(key: str) -> str | None:
    from django.urls import reverse

    return reverse("admin:catalog_importbatch_change", args=[key]) if key.isdigit() else None


def _describe_import_batches(label: str):
    """Import batches live in the admin only: a label for everyone, the link for staff."""

    def describe(keys: list[str]) -> dict:
        from .history import RefDescription

        return {
            key: RefDescription(label=f"{label} #{key}", staff_url=_import_batch_url(key))
            for key in keys
            if key.isdigit()
        }

    return describe


def _create_cache_tables(using, verbosity=1, **kwargs):
    """Create the database cache's table wherever ``migrate`` runs (``make run``, ``make
    serve``, the test database), so that the shared cache is there before any request."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=max(verbosity - 1, 0))
