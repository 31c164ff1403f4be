import json

from django.core.management.base import BaseCommand, CommandError

from review.campaigns import selectors
from review.campaigns.models import Campaign


class Command(BaseCommand):
    help = (
        "Print a campaign's inter-rater agreement at the deepest level of its taxonomy: "
        "observed agreement, Cohen's kappa (two coders), Fleiss' kappa, Krippendorff's alpha."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign_id", type=int)
        parser.add_argument("--json", action="store_true", help="One JSON object.")

    def handle(self, *args, campaign_id, **options):
        campaign = Campaign.objects.select_related("taxonomy").filter(pk=campaign_id).first()
        if campaign is None:
            raise CommandError(f"No campaign {campaign_id}.")
        summary = selectors.agreement_summary(campaign)
        if options["json"]:
            self.stdout.write(json.dumps(summary, default=_plain, sort_keys=False))
            return
        for key in (
            "records",
            "coded_records",
            "coders",
            "observed_agreement",
            "cohen_kappa",
            "fleiss_kappa",
            "krippendorff_alpha",
        ):
            value = summary.get(key)
            if isinstance(value, float):
                value = f"{value:.4f}"
            elif isinstance(value, list | tuple):
                value = ", ".join(map(str, value))
            self.stdout.write(f"{key}: {value}")


def _plain(value):
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str)
    return str(value)
