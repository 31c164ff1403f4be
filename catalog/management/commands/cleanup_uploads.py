"""``manage.py cleanup_uploads``: expire abandoned previews and delete orphaned upload files.

Run it periodically in production (e.g. hourly from cron or a systemd timer, beside the web
and worker processes); previews also expire whenever someone uploads a new file.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand

from catalog.imports.uploads import ORPHAN_GRACE, uploads_delete_orphans, uploads_expire


class Command(BaseCommand):
    help = (
        "Cancel spreadsheet previews left unconfirmed longer than IMPORT_PREVIEW_HOURS and "
        "delete their files; delete stored files that no upload refers to (older than an hour)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--orphan-minutes",
            type=int,
            default=int(ORPHAN_GRACE.total_seconds() // 60),
            help="Leave files younger than this alone: an upload may be being recorded now.",
        )

    def handle(self, *, orphan_minutes, verbosity, **options):
        expired = uploads_expire()
        orphans = uploads_delete_orphans(older_than=timedelta(minutes=max(orphan_minutes, 0)))
        if verbosity:
            self.stdout.write(f"Expired previews: {expired}; orphaned files deleted: {orphans}.")
