"""``python manage.py export_mitigations``: the catalog, or a filtered part of it, as a file."""

import sys

from django.core.management.base import BaseCommand, CommandError

from catalog import exports, selectors
from catalog.models import MitigationStatus, SourceDocument, TaxonomyNode


class Command(BaseCommand):
    help = (
        "Export mitigations (all of them, or those the filters select) as CSV, XLSX or JSON, in "
        "the layout the importer reads back: one row per mitigation, every taxonomy's "
        "classification in its own columns, formula-like cells made inert (CSV, XLSX)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=sorted(exports.FORMATS), default="csv")
        parser.add_argument(
            "--output", "-o", help="File to write (default: standard output; XLSX needs a file)."
        )
        parser.add_argument(
            "--taxonomy-node",
            metavar="SLUG:CODE",
            help="Only mitigations classified at this node or below it, e.g. airm-preliminary:3.",
        )
        parser.add_argument(
            "--source", metavar="SHORT_REF", help="Only mitigations from this document."
        )
        parser.add_argument("--status", choices=MitigationStatus.values)
        parser.add_argument(
            "--search", default="", help="Only those whose name, definition or section has this."
        )

    def handle(self, *args, **options):
        fmt = options["format"]
        queryset = selectors.mitigation_list_filtered(
            node=self._node(options["taxonomy_node"]),
            source=self._source(options["source"]),
            status=options["status"],
            search=options["search"],
        )
        output = options["output"]
        if output:
            with open(output, "wb") as handle:
                exports.write(queryset, fmt, handle)
            self.stderr.write(f"Wrote {queryset.count():,} mitigations to {output}.")
            return
        if fmt == "xlsx":
            raise CommandError("XLSX is a binary file: give --output FILE.")
        stream = getattr(self.stdout, "_out", sys.stdout)
        exports.write(queryset, fmt, getattr(stream, "buffer", None) or _TextSink(stream))

    def _node(self, value):
        if not value:
            return None
        slug, sep, code = value.partition(":")
        if not sep or not slug or not code:
            raise CommandError("--taxonomy-node takes SLUG:CODE, e.g. airm-preliminary:3.1.")
        node = TaxonomyNode.objects.filter(taxonomy__slug=slug, code=code).first()
        if node is None:
            raise CommandError(f"No node {code} in a taxonomy {slug}.")
        return node

    def _source(self, value):
        if not value:
            return None
        source = SourceDocument.objects.filter(short_ref=value).first()
        if source is None:
            raise CommandError(f"No source document {value}.")
        return source


class _TextSink:
    """Bytes in, text out: for a text-only standard output (e.g. captured in tests)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, data: bytes):
        self.stream.write(data.decode("utf-8"))
