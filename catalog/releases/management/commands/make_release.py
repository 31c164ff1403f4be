"""``manage.py make_release [--version V] [--notes TEXT]``: cut a data release here and now."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalog.validation import error_text

from ...services import cut_release


class Command(BaseCommand):
    help = "Cut a data release: a frozen snapshot of the whole catalog, published at once."

    def create_parser(self, prog_name, subcommand, **kwargs):
        # Django's own --version (which prints Django's) gives way to the release's.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument(
            "--version",
            dest="release_version",
            help="The release's version (default: today's date, e.g. 2026.12.02, or .2 …).",
        )
        parser.add_argument("--notes", default="", help="What this release is, for readers.")

    def handle(self, *args, release_version=None, notes="", **options):
        def progress(done, total=None):
            if options["verbosity"] > 1:
                self.stdout.write(f"  {done:,} of {total or done:,} records")

        try:
            release = cut_release(version=release_version, notes=notes, progress=progress)
        except ValidationError as error:
            raise CommandError(error_text(error, fields=True)) from error
        counts = release.counts
        self.stdout.write(
            self.style.SUCCESS(
                f"Release {release.version} published: {counts['total']:,} records "
                f"({counts['active']:,} active, {counts['retired']:,} retired, "
                f"{counts['merged']:,} merged), {counts['classifications']:,} classifications."
            )
        )
