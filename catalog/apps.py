from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self):
        from . import history  # (importing it connects the history signal receivers)

        history.register_ref_resolver("import-batch", _import_batch_url)
        history.register_ref_resolver("import-batch-revert", _import_batch_url)


def _import_batch_url(key: str) -> str | None:
    from django.urls import reverse

    return reverse("admin:catalog_importbatch_change", args=[key]) if key.isdigit() else None
