from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from review.accounts import curator_grant


class Command(BaseCommand):
    help = "Make an existing user a curator (a member of the Curators group)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"{username} is not active; activate the account first.")
        if curator_grant(user=user):
            self.stdout.write(self.style.SUCCESS(f"{username} is now a curator."))
        else:
            self.stdout.write(f"{username} was already a curator.")
