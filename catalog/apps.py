from django.apps import AppConfig


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
