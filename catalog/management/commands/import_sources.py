"""``python manage.py import_sources FILE [--dry-run] [--user NAME]``."""

from __future__ import annotations

from catalog.imports.batches import FileToImport
from catalog.models import ImportKind

from .import_mitigations import Command as ImportCommand


class Command(ImportCommand):
    help = (
        "Import source documents from a spreadsheet (CSV, TSV, XLSX or JSON): the catalog's own "
        "download of /sources/ or MIT's document export. Rows are matched by short reference. "
        "Everything is checked first and written in one transaction (recorded as an import "
        "batch, with history), or nothing is. Exits non-zero on any error."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The source documents file.")
        self.add_common_arguments(parser)

    def handle(self, *args, file, dry_run, user, no_progress, **options):
        self.import_files(
            [FileToImport(self._path(file), ImportKind.DOCUMENTS)],
            actor=self._user(user),
            dry_run=dry_run,
            no_progress=no_progress,
            verbosity=options["verbosity"],
        )
