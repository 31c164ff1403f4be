"""What the API's resources look like. Read-only: every field is an output.

Links are absolute URLs: ``self`` (this resource in the API), ``html`` (its public page) and
the resources it leads to. Public IDs are the records' ``id`` (``"A0983"``).
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from catalog import filters
from catalog.feeds import changes_feed_url
from catalog.models import DocType, MitigationStatus, Taxonomy, format_public_id

# --------------------------------------------------------------------------- helpers


def absolute(context: dict, path: str) -> str:
    return context["request"].build_absolute_uri(path)


def api_url(context: dict, name: str, **kwargs) -> str:
    return absolute(context, reverse(f"api:{name}", kwargs=kwargs or None))


def api_list_url(context: dict, params: list[tuple[str, str]]) -> str:
    """The API's mitigation list with ``params`` (the public list's parameters)."""
    html = filters.list_url(params)
    query = html.partition("?")[2]
    base = reverse("api:mitigation-list")
    return absolute(context, f"{base}?{query}" if query else base)


def node_params(node) -> list[tuple[str, str]]:
    return [(filters.taxonomy_param(node.taxonomy), node.code)]


def path_codes(path: str) -> list[str]:
    return [code for code in path.strip("/").split("/") if code]


Link = serializers.URLField


class ErrorItemSerializer(serializers.Serializer):
    parameter = serializers.CharField(help_text="The query or path parameter at fault.")
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status code, repeated.")
    detail = serializers.CharField(help_text="What went wrong, as a sentence to show.")
    errors = ErrorItemSerializer(many=True)


# --------------------------------------------------------------------------- sources


class SourceSummaryLinksSerializer(serializers.Serializer):
    self = Link()
    html = Link()


class SourceSummarySerializer(serializers.Serializer):
    short_ref = serializers.CharField(help_text="The source's short reference, e.g. Gipiškis2024.")
    title = serializers.CharField()
    year = serializers.IntegerField(allow_null=True)
    doc_type = serializers.ChoiceField(choices=DocType.choices)
    links = serializers.SerializerMethodField()

    @extend_schema_field(SourceSummaryLinksSerializer)
    def get_links(self, source) -> dict:
        return {
            "self": api_url(self.context, "source-detail", short_ref=source.short_ref),
            "html": absolute(self.context, source.get_absolute_url()),
        }


class SourceLinksSerializer(serializers.Serializer):
    self = Link()
    html = Link()
    mitigations = Link(help_text="The API's list of this source's active mitigations.")
    feed = Link(help_text="Atom feed of changes to this source's mitigations.")


class SourceSerializer(serializers.Serializer):
    short_ref = serializers.CharField(help_text="The source's short reference, e.g. Gipiškis2024.")
    document_id = serializers.IntegerField(allow_null=True, help_text="MIT's document number.")
    title = serializers.CharField()
    first_author = serializers.CharField(allow_blank=True)
    authors = serializers.CharField(allow_blank=True)
    year = serializers.IntegerField(allow_null=True)
    abstract = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    url = serializers.CharField(allow_blank=True, help_text="Where the document itself is.")
    doi = serializers.CharField(allow_blank=True)
    doc_type = serializers.ChoiceField(choices=DocType.choices)
    active_count = serializers.IntegerField(help_text="Its active mitigations.")
    links = serializers.SerializerMethodField()

    @extend_schema_field(SourceLinksSerializer)
    def get_links(self, source) -> dict:
        params = [("source", source.short_ref)]
        return {
            "self": api_url(self.context, "source-detail", short_ref=source.short_ref),
            "html": absolute(self.context, source.get_absolute_url()),
            "mitigations": api_list_url(self.context, params),
            "feed": absolute(self.context, changes_feed_url(params)),
        }


# --------------------------------------------------------------------------- mitigations


class ClassificationSerializer(serializers.Serializer):
    taxonomy = serializers.CharField(source="taxonomy.slug", help_text="The taxonomy's slug.")
    taxonomy_name = serializers.CharField(source="taxonomy.name")
    code = serializers.CharField(source="node.code")
    name = serializers.CharField(source="node.name")
    path = serializers.SerializerMethodField(
        help_text="The codes from the taxonomy's root down to this node."
    )
    reasoning = serializers.CharField(allow_blank=True)

    def get_path(self, classification) -> list[str]:
        return path_codes(classification.node.path)


class CitationLinksSerializer(serializers.Serializer):
    bibtex = Link()
    ris = Link()
    csl_json = Link()


class MitigationLinksSerializer(serializers.Serializer):
    self = Link()
    html = Link()
    history = Link()
    source = Link()
    merged_into = Link(allow_null=True)
    citation = CitationLinksSerializer()


class MitigationSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id", help_text="The public ID, e.g. A0983.")
    name = serializers.CharField()
    definition = serializers.CharField(allow_blank=True)
    source = SourceSummarySerializer()
    section = serializers.CharField(
        source="section_path",
        allow_blank=True,
        help_text="Where in the source, levels joined by ' > '.",
    )
    status = serializers.ChoiceField(choices=MitigationStatus.choices)
    status_note = serializers.CharField(
        allow_blank=True, help_text="Why the record was retired or merged."
    )
    merged_into = serializers.SerializerMethodField(
        help_text="The public ID of the record that carries this one's content now."
    )
    classifications = ClassificationSerializer(
        many=True, help_text="Its place in every taxonomy and vocabulary that classifies it."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    links = serializers.SerializerMethodField()

    def get_merged_into(self, mitigation) -> str | None:
        number = mitigation.merged_into_number
        return format_public_id(number) if number else None

    @extend_schema_field(MitigationLinksSerializer)
    def get_links(self, mitigation) -> dict:
        public_id = mitigation.public_id
        merged = mitigation.merged_into_number
        citation = {
            name: absolute(
                self.context,
                reverse(
                    "catalog:mitigation-citation",
                    kwargs={"public_id": public_id, "fmt": fmt},
                ),
            )
            for name, fmt in (("bibtex", "bib"), ("ris", "ris"), ("csl_json", "json"))
        }
        return {
            "self": api_url(self.context, "mitigation-detail", id=public_id),
            "html": absolute(self.context, mitigation.get_absolute_url()),
            "history": api_url(self.context, "mitigation-history", id=public_id),
            "source": api_url(self.context, "source-detail", short_ref=mitigation.source.short_ref),
            "merged_into": api_url(self.context, "mitigation-detail", id=format_public_id(merged))
            if merged
            else None,
            "citation": citation,
        }


class MitigationPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many records match, on every page.")
    next = Link(allow_null=True, help_text="The next page, or null on the last one.")
    previous = Link(allow_null=True, help_text="The previous page, or null on the first one.")
    results = MitigationSerializer(many=True)


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField(source="label")
    old = serializers.CharField(allow_null=True, help_text="Null when the value was first set.")
    new = serializers.CharField(allow_null=True, help_text="Null when the value was removed.")


class HistoryEntrySerializer(serializers.Serializer):
    when = serializers.DateTimeField()
    who = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    ref = serializers.CharField(
        allow_blank=True, help_text="What caused it, e.g. proposal:12 or import-batch:3."
    )
    created = serializers.BooleanField(help_text="Whether this change created the record.")
    changes = FieldChangeSerializer(many=True)


class HistorySerializer(serializers.Serializer):
    id = serializers.CharField()
    entries = HistoryEntrySerializer(many=True, help_text="Newest first.")


# --------------------------------------------------------------------------- taxonomies


class TaxonomyLinksSerializer(serializers.Serializer):
    self = Link()
    html = Link()
    nodes = Link()
    tree = Link()


class TaxonomySerializer(serializers.Serializer):
    slug = serializers.SlugField(
        help_text="Also the name of the mitigation list's parameter that filters by it."
    )
    name = serializers.CharField()
    version = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=Taxonomy.Status.choices)
    kind = serializers.ChoiceField(choices=Taxonomy.Kind.choices)
    multi_valued = serializers.BooleanField(
        help_text="Whether a mitigation may sit at several of its nodes."
    )
    parameter = serializers.SerializerMethodField(
        help_text="The mitigation list's query parameter for this taxonomy."
    )
    links = serializers.SerializerMethodField()

    def get_parameter(self, taxonomy) -> str:
        return filters.taxonomy_param(taxonomy)

    @extend_schema_field(TaxonomyLinksSerializer)
    def get_links(self, taxonomy) -> dict:
        return {
            "self": api_url(self.context, "taxonomy-detail", slug=taxonomy.slug),
            "html": absolute(self.context, taxonomy.get_absolute_url()),
            "nodes": api_url(self.context, "taxonomy-nodes", slug=taxonomy.slug),
            "tree": api_url(self.context, "taxonomy-tree", slug=taxonomy.slug),
        }


class NodeLinksSerializer(serializers.Serializer):
    self = Link()
    mitigations = Link(help_text="The API's list of active mitigations at this node or below.")
    html = Link(help_text="The public list of those mitigations.")
    feed = Link(help_text="Atom feed of changes to mitigations at this node or below.")


class NodeSerializer(serializers.Serializer):
    taxonomy = serializers.CharField(source="taxonomy.slug")
    code = serializers.CharField()
    name = serializers.CharField()
    definition = serializers.CharField(allow_blank=True)
    parent = serializers.SerializerMethodField(help_text="The parent's code; null at the top.")
    path = serializers.SerializerMethodField(help_text="The codes from the root to this node.")
    depth = serializers.IntegerField(help_text="0 at the top level.")
    order = serializers.IntegerField()
    catch_all = serializers.BooleanField(source="is_catch_all")
    count = serializers.IntegerField(help_text="Active mitigations at this node or below it.")
    links = serializers.SerializerMethodField()

    def get_parent(self, node) -> str | None:
        codes = path_codes(node.path)
        return codes[-2] if len(codes) > 1 else None

    def get_path(self, node) -> list[str]:
        return path_codes(node.path)

    @extend_schema_field(NodeLinksSerializer)
    def get_links(self, node) -> dict:
        params = node_params(node)
        return {
            "self": api_url(self.context, "taxonomy-node", slug=node.taxonomy.slug, code=node.code),
            "mitigations": api_list_url(self.context, params),
            "html": absolute(self.context, filters.list_url(params)),
            "feed": absolute(self.context, changes_feed_url(params)),
        }


class NodeTreeSerializer(NodeSerializer):
    """A node with its children, each with theirs."""

    def get_fields(self):
        fields = super().get_fields()
        fields["children"] = NodeTreeSerializer(many=True, source="child_nodes")
        return fields


class TaxonomyTreeSerializer(serializers.Serializer):
    taxonomy = TaxonomySerializer()
    roots = NodeTreeSerializer(many=True, help_text="The top-level nodes, each with its subtree.")


class TaxonomyNodesSerializer(serializers.Serializer):
    taxonomy = TaxonomySerializer()
    nodes = NodeSerializer(many=True, help_text="Every node, depth-first in display order.")


# --------------------------------------------------------------------------- coverage


class CoverageColumnSerializer(serializers.Serializer):
    parameter = serializers.CharField(help_text="The list parameter this column filters by.")
    value = serializers.CharField(help_text="Its value: a short reference or a node code.")
    label = serializers.CharField()
    total = serializers.IntegerField(help_text="Active mitigations in this column.")


class CoverageRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    depth = serializers.IntegerField()
    total = serializers.IntegerField(help_text="Active mitigations at this node or below it.")
    counts = serializers.ListField(
        child=serializers.IntegerField(), help_text="One count per column, in column order."
    )


class CoverageSerializer(serializers.Serializer):
    rows_taxonomy = serializers.CharField(help_text="The slug of the taxonomy of the rows.")
    columns = serializers.CharField(help_text="'source', or the slug of a vocabulary.")
    depth = serializers.IntegerField(help_text="How many levels of the rows' taxonomy are shown.")
    total = serializers.IntegerField(help_text="Active mitigations in the catalog.")
    column_list = CoverageColumnSerializer(many=True)
    row_list = CoverageRowSerializer(many=True)


# --------------------------------------------------------------------------- the root

RootSerializer = inline_serializer(
    name="Root",
    fields={
        "name": serializers.CharField(),
        "version": serializers.CharField(),
        "documentation": Link(),
        "schema": Link(),
        "endpoints": serializers.DictField(child=Link()),
    },
)
