"""``python manage.py import_mitigations FILE [--documents FILE] [--dry-run] [--user NAME]``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from catalog.imports.batches import FileToImport, import_files
from catalog.models import ImportKind, RowAction

SHOWN_ERRORS = 50
SHOWN_CHANGES = 20


class ProgressBar:
    """One line, redrawn in place: rows done, percentage, rate."""

    WIDTH = 30

    def __init__(self, stream, label: str = ""):
        self.stream = stream
        self.label = label
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        share = done / total if total else 1
        filled = int(self.WIDTH * share)
        rate = done / max(now - self.started, 1e-6)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
            f"{done:,}/{total:,} rows ({share:.0%}, {rate:,.0f} rows/s)"
        )
        self.stream.flush()
        if done >= total:
            self.stream.write("\n")


class Command(BaseCommand):
    help = (
        "Import mitigations from a spreadsheet (CSV, TSV, XLSX or JSON; the catalog's own export "
        "or MIT's), with their source documents first when --documents is given. Everything is "
        "checked first and written in one transaction, or nothing is. Exits non-zero on any error."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="The mitigations file.")
        parser.add_argument(
            "--documents", metavar="FILE", help="A source-documents file, imported first."
        )
        self.add_common_arguments(parser)

    def add_common_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and report; write nothing."
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="Whose import this is: the history records them as the author of every change.",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="No progress bar, even in a terminal."
        )

    def handle(self, *args, file, documents, dry_run, user, no_progress, **options):
        files = []
        if documents:
            files.append(FileToImport(self._path(documents), ImportKind.DOCUMENTS))
        if file:
            files.append(FileToImport(self._path(file), ImportKind.MITIGATIONS))
        if not files:
            raise CommandError("Give a mitigations FILE, --documents FILE, or both.")
        self.import_files(
            files,
            actor=self._user(user),
            dry_run=dry_run,
            no_progress=no_progress,
            verbosity=options["verbosity"],
        )

    def import_files(
        self, files: list[FileToImport], *, actor, dry_run: bool, no_progress: bool, verbosity: int
    ) -> None:
        """Check (and unless ``dry_run`` import) ``files`` in one transaction, printing what
        each row does and every error with its row and column; :class:`CommandError` if any."""
        shown = {"errors": 0, "changes": 0}

        def show(plans):
            for plan in plans:
                if plan.errors and shown["errors"] < SHOWN_ERRORS:
                    for where, message in plan.errors:
                        place = f"{plan.row_label}, {where}" if where else plan.row_label
                        self.stderr.write(f"  {place}: {message}")
                    shown["errors"] += 1
                elif (
                    dry_run
                    and plan.action == RowAction.CHANGED
                    and (verbosity > 1 or shown["changes"] < SHOWN_CHANGES)
                ):
                    fields = ", ".join(column for column, _, _ in plan.changes)
                    self.stdout.write(f"  {plan.row_label} {plan.key}: changes {fields}")
                    shown["changes"] += 1

        stream = getattr(self.stdout, "_out", sys.stdout)
        progress = None
        if not no_progress and stream.isatty():
            progress = ProgressBar(stream, "Importing" if not dry_run else "Checking")
        results = import_files(
            files, actor=actor, dry_run=dry_run, on_chunk=show, progress=progress
        )
        failed = False
        for report, batch in results:
            self.stdout.write(
                f"{report.file_name} ({report.layout_title or 'layout unknown'}): "
                f"{report.summary()}"
            )
            for notice in report.notices:
                self.stdout.write(f"  {notice}")
            for problem in report.problems:
                self.stderr.write(f"  {problem}")
            if shown["errors"] >= SHOWN_ERRORS and report.counts[RowAction.ERROR]:
                self.stderr.write(f"  (the first {SHOWN_ERRORS} rows with errors are listed)")
            failed = failed or not report.ok
            if batch is not None:
                self.stdout.write(f"  recorded as import batch {batch.pk}: “{batch.reason}”")
        if len(results) < len(files):
            failed = True
        if failed:
            raise CommandError("Nothing was imported: correct the errors above and run it again.")
        if dry_run:
            self.stdout.write(self.style.SUCCESS("Dry run: no errors; nothing was written."))
        else:
            self.stdout.write(self.style.SUCCESS("Imported."))

    def _path(self, value: str) -> Path:
        path = Path(value)
        if not path.is_file():
            raise CommandError(f"No file {value}.")
        return path

    def _user(self, username):
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username}.")
        return user
