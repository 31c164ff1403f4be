from django.apps import AppConfig


def _proposal_url(key: str) -> str | None:
    from django.urls import reverse

    return reverse("review:proposal-detail", kwargs={"pk": int(key)}) if key.isdigit() else None


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = "Review"

    def ready(self):
        from catalog.history import register_ref_describer, register_ref_resolver

        from .selectors import proposal_ref_descriptions

        # History rows written by an approval carry "proposal:<pk>"; catalog pages link them here
        # and credit the proposer and the approving curators.
        register_ref_resolver("proposal", _proposal_url)
        register_ref_describer("proposal", proposal_ref_descriptions)
