"""``python manage.py import_taxonomy_nodes TAXONOMY FILE [--dry-run] [--user NAME]``."""

from __future__ import annotations

from django.core.management.base import CommandError

from catalog.imports.batches import FileToImport
from catalog.models import ImportKind, Taxonomy

from .import_mitigations import Command as ImportCommand


class Command(ImportCommand):
    help = (
        "Import the nodes of one taxonomy from a spreadsheet (CSV, TSV, XLSX or JSON), e.g. the "
        "download of its page. Rows are matched by code; a parent may come before or after its "
        "children. A Taxonomy column, if the file has one, must name TAXONOMY on every row. "
        "Everything is checked first and written in one transaction (recorded as an import "
        "batch, with history), or nothing is. Exits non-zero on any error."
    )

    def add_arguments(self, parser):
        parser.add_argument("taxonomy", help="The taxonomy's slug, e.g. airm-preliminary.")
        parser.add_argument("file", help="The nodes file.")
        self.add_common_arguments(parser)

    def handle(self, *args, taxonomy, file, dry_run, user, no_progress, **options):
        if not Taxonomy.objects.filter(slug=taxonomy).exists():
            known = ", ".join(Taxonomy.objects.values_list("slug", flat=True)) or "none yet"
            raise CommandError(f"No taxonomy {taxonomy!r} (known: {known}).")
        self.import_files(
            [FileToImport(self._path(file), ImportKind.NODES, taxonomy=taxonomy)],
            actor=self._user(user),
            dry_run=dry_run,
            no_progress=no_progress,
            verbosity=options["verbosity"],
        )
