from django.apps import AppConfig


def _proposal_url(key: str) -> str | None:
    from django.urls import reverse

    return reverse("review:proposal-detail", kwargs={"pk": int(key)}) if key.isdigit() else None


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = "Review"

    def ready(self):
        from catalog.history import register_ref_resolver

        # History rows written by an approval carry "proposal:<pk>"; catalog pages link them here.
        register_ref_resolver("proposal", _proposal_url)
