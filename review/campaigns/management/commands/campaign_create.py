from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalog.models import Taxonomy
from catalog.validation import error_text
from review.campaigns import services


class Command(BaseCommand):
    help = (
        "Create a classification campaign (a draft) and print its id. Without --coders, the "
        "Coders group codes. --open opens it for coding at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--taxonomy", required=True, help="The target taxonomy's slug.")
        parser.add_argument("--query", default="", help="The scope: a /mitigations/ query string.")
        parser.add_argument("--coders-per-record", type=int, default=2)
        parser.add_argument("--coders", default="", help="Usernames, comma-separated.")
        parser.add_argument("--blind", action="store_true")
        parser.add_argument("--no-suggestions", action="store_true")
        parser.add_argument("--instructions", default="")
        parser.add_argument("--open", action="store_true", help="Open it for coding.")

    def handle(self, *args, **options):
        taxonomy = Taxonomy.objects.filter(slug=options["taxonomy"]).first()
        if taxonomy is None:
            raise CommandError(f"--taxonomy: no taxonomy “{options['taxonomy']}”.")
        names = [n.strip() for n in options["coders"].split(",") if n.strip()]
        users = list(get_user_model().objects.filter(username__in=names))
        unknown = sorted(set(names) - {user.username for user in users})
        if unknown:
            raise CommandError(f"--coders: no user {', '.join(unknown)}.")
        try:
            campaign = services.campaign_create(
                name=options["name"],
                taxonomy=taxonomy,
                query=options["query"],
                instructions=options["instructions"],
                coders_per_record=options["coders_per_record"],
                coders=users,
                blind=options["blind"],
                show_suggestions=not options["no_suggestions"],
                actor=None,
            )
            if options["open"]:
                services.campaign_open(campaign=campaign, actor=None)
        except ValidationError as error:
            raise CommandError(error_text(error)) from None
        except services.CampaignError as error:
            raise CommandError(error.message) from None
        self.stdout.write(str(campaign.pk))
