from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self):
        from . import history  # (importing it connects the history signal receivers)

        history.register_ref_resolver("import-batch", _import_batch_url)
        history.register_ref_resolver("import-batch-revert", _import_batch_url)

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
