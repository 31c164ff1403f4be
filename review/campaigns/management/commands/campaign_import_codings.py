from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from review.campaigns import codings_io
from review.campaigns.models import Campaign


class Command(BaseCommand):
    help = (
        "Import codings made elsewhere (CSV or XLSX: record, coder, code, reasoning, unsure). "
        "All or nothing; --dry-run only shows what it would do."
    )

    def add_arguments(self, parser):
        parser.add_argument("campaign_id", type=int)
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, campaign_id, file, dry_run, **options):
        campaign = Campaign.objects.select_related("taxonomy").filter(pk=campaign_id).first()
        if campaign is None:
            raise CommandError(f"No campaign {campaign_id}.")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No file {file}.")
        result = codings_io.import_codings(
            campaign=campaign, path=path, file_name=path.name, actor=None, dry_run=dry_run
        )
        for notice in result.notices:
            self.stdout.write(notice)
        for row in result.rows:
            for error in row.errors:
                self.stderr.write(f"row {row.row} ({row.record}, {row.coder}): {error}")
        if result.problems or result.error_count:
            for problem in result.problems:
                self.stderr.write(problem)
            raise CommandError(f"Nothing imported: {result.error_count} error(s).")
        if dry_run:
            self.stdout.write(f"Dry run: {result.codings} codings would be recorded.")
        else:
            self.stdout.write(f"Imported {result.codings} codings.")
