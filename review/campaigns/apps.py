from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "review.campaigns"
    label = "campaigns"
    verbose_name = "Classification campaigns"

    def ready(self):
        from catalog.history import register_ref_describer
        from catalog.reference_data import register_demo_content

        from .demo import load_demo_campaign
        from .selectors import campaign_ref_descriptions

        # Reclassifications applied by an adjudication carry "campaign:<pk>".
        register_ref_describer("campaign", campaign_ref_descriptions)
        register_demo_content(load_demo_campaign)
