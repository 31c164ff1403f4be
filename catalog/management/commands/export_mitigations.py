"""``python manage.py export_mitigations``: the catalog, or a filtered part of it, as a file."""

import sys
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from catalog import exports, filters
from catalog.models import MitigationStatus, SourceDocument, TaxonomyNode


class Command(BaseCommand):
    help = (
        "Export mitigations (all of them, or those the filters select) as CSV, XLSX or JSON, in "
        "the layout the importer reads back: one row per mitigation, every taxonomy's "
        "classification in its own columns, formula-like cells made inert (CSV, XLSX). The "
        "filters are the list page's (catalog/filters.py): --query takes its address or query "
        "string as it is; the other options add to it. Without a status filter every record is "
        "exported, retired and merged ones included."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=sorted(exports.FORMATS), default="csv")
        parser.add_argument(
            "--output", "-o", help="File to write (default: standard output; XLSX needs a file)."
        )
        parser.add_argument(
            "--query",
            default="",
            metavar="QUERY",
            help="The list page's filters, as its address or query string, e.g. "
            "'airm-preliminary=3&lifecycle=deploy&year_min=2024'.",
        )
        parser.add_argument(
            "--taxonomy-node",
            metavar="SLUG:CODE",
            action="append",
            default=[],
            help="Only mitigations classified at this node or below it, e.g. airm-preliminary:3 "
            "(repeatable: nodes of one taxonomy are alternatives, of two both apply).",
        )
        parser.add_argument(
            "--source", metavar="SHORT_REF", help="Only mitigations from this document."
        )
        parser.add_argument(
            "--status", choices=MitigationStatus.values, action="append", default=[]
        )
        parser.add_argument("--search", default="", help="Full-text search, as on the list page.")

    def handle(self, *args, **options):
        fmt = options["format"]
        queryset = self._queryset(options)
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

    def _queryset(self, options):
        query = options["query"]
        params = QueryDict(urlsplit(query).query if "?" in query else query, mutable=True)
        for value in options["taxonomy_node"]:
            node = self._node(value)
            params.appendlist(node.taxonomy.slug, node.code)
        if options["source"]:
            params.appendlist("source", self._source(options["source"]).short_ref)
        for status in options["status"]:
            params.appendlist("status", status)
        if not params.getlist("status"):
            params.setlist("status", MitigationStatus.values)
        if options["search"]:
            params["q"] = options["search"]
        queryset, errors = filters.filtered_for_export(params)
        if errors:
            raise CommandError("; ".join(errors))
        return queryset

    def _node(self, value):
        slug, sep, code = value.partition(":")
        if not sep or not slug or not code:
            raise CommandError("--taxonomy-node takes SLUG:CODE, e.g. airm-preliminary:3.1.")
        node = (
            TaxonomyNode.objects.select_related("taxonomy")
            .filter(taxonomy__slug=slug, code=code)
            .first()
        )
        if node is None:
            raise CommandError(f"No node {code} in a taxonomy {slug}.")
        return node

    def _source(self, value):
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
