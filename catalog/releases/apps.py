from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    """Citable data releases: frozen snapshots of the catalog, their downloads and diffs."""

    name = "catalog.releases"
    label = "releases"
    verbose_name = "Releases"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from catalog.feeds import register_entry_source

        from .feeds import release_entries

        register_entry_source(release_entries)
