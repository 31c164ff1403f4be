"""The Django admin for the catalog: every save goes through :mod:`catalog.services`.

Each change form carries a "reason for this change" that lands in the record's history. Nothing
curated can be deleted here: records are retired or merged (through proposals), so the delete
permission is off for every model.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count
from simple_history.admin import SimpleHistoryAdmin

from . import services, table_exports
from .admin_accounts import PersonAdmin, ProtectedGroupAdmin
from .admin_imports import (
    BoundedImportMixin,
    ImportBatchAdmin,
    SpreadsheetExportMixin,
    TableExportMixin,
)
from .models import Classification, Mitigation, SourceDocument, Taxonomy, TaxonomyNode
from .resources import (
    DocumentsSpreadsheet,
    NodesSpreadsheet,
    SourceDocumentResource,
    TaxonomyNodeResource,
)


class ReasonForm(forms.ModelForm):
    change_reason = forms.CharField(
        label="Reason for this change",
        required=False,
        max_length=500,
        help_text="Recorded in the history. Leave empty for “Edited in the admin”.",
    )


class ServiceAdmin(SimpleHistoryAdmin):
    """A ModelAdmin whose saves call a service instead of ``obj.save()``."""

    form = ReasonForm
    history_list_display = ["history_ref"]

    def has_delete_permission(self, request, obj=None):
        return False

    def reason(self, form, change: bool) -> str:
        given = (form.cleaned_data.get("change_reason") or "").strip()
        return given or ("Edited in the admin" if change else "Added in the admin")

    def model_data(self, form, names) -> dict:
        return {name: form.cleaned_data[name] for name in names if name in form.cleaned_data}

    def service_save(self, request, obj, form, change, reason):
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        saved = self.service_save(request, obj, form, change, self.reason(form, change))
        # The admin goes on to log and redirect with ``obj``: give it the saved state.
        for field in obj._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False


# --------------------------------------------------------------------------- taxonomies


class TaxonomyNodeInline(admin.TabularInline):
    model = TaxonomyNode
    fields = ("code", "name", "parent", "is_catch_all")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Taxonomy)
class TaxonomyAdmin(ServiceAdmin):
    list_display = ("name", "slug", "kind", "status", "version", "multi_valued", "node_count")
    list_filter = ("status", "kind", "multi_valued")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [TaxonomyNodeInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(node_total=Count("nodes"))

    @admin.display(description="nodes", ordering="node_total")
    def node_count(self, obj):
        return obj.node_total

    def service_save(self, request, obj, form, change, reason):
        data = self.model_data(form, services.TAXONOMY_FIELDS)
        if not change:
            return services.taxonomy_create(actor=request.user, reason=reason, **data)
        saved, _ = services.taxonomy_update(
            taxonomy=obj, data=data, actor=request.user, reason=reason
        )
        return saved


@admin.register(TaxonomyNode)
class TaxonomyNodeAdmin(BoundedImportMixin, TableExportMixin, ServiceAdmin):
    list_display = ("code", "name", "taxonomy", "parent", "is_catch_all", "order")
    list_display_links = ("code", "name")
    list_filter = ("taxonomy", "is_catch_all")
    search_fields = ("code", "name", "definition")
    list_select_related = ("taxonomy", "parent")
    autocomplete_fields = ("parent",)
    readonly_fields = ("path",)
    resource_classes = [TaxonomyNodeResource]
    import_format = NodesSpreadsheet
    change_list_template = "admin/catalog/taxonomynode/change_list.html"

    def export_table(self, queryset):
        return table_exports.node_table(queryset)

    def get_readonly_fields(self, request, obj=None):
        # A node never moves to another taxonomy: its classifications would be stranded.
        return ("path", "taxonomy") if obj else ("path",)

    def service_save(self, request, obj, form, change, reason):
        data = self.model_data(form, services.NODE_FIELDS)
        if not change:
            return services.taxonomy_node_create(
                taxonomy=form.cleaned_data["taxonomy"], actor=request.user, reason=reason, **data
            )
        saved, _ = services.taxonomy_node_update(
            node=obj, data=data, actor=request.user, reason=reason
        )
        return saved


# --------------------------------------------------------------------------- sources


@admin.register(SourceDocument)
class SourceDocumentAdmin(BoundedImportMixin, TableExportMixin, ServiceAdmin):
    list_display = ("short_ref", "title", "first_author", "year", "doc_type", "mitigation_count")
    list_filter = ("doc_type", "year")
    search_fields = ("short_ref", "title", "authors", "first_author", "doi")
    resource_classes = [SourceDocumentResource]
    import_format = DocumentsSpreadsheet
    change_list_template = "admin/catalog/sourcedocument/change_list.html"

    def export_table(self, queryset):
        return table_exports.source_table(queryset)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(mitigation_total=Count("mitigations"))

    @admin.display(description="mitigations", ordering="mitigation_total")
    def mitigation_count(self, obj):
        return obj.mitigation_total

    def service_save(self, request, obj, form, change, reason):
        data = self.model_data(form, services.SOURCE_FIELDS)
        if not change:
            return services.source_document_create(actor=request.user, reason=reason, **data)
        saved, _ = services.source_document_update(
            source=obj, data=data, actor=request.user, reason=reason
        )
        return saved


# --------------------------------------------------------------------------- mitigations


def _taxonomy_field_name(taxonomy: Taxonomy) -> str:
    return "taxonomy_" + taxonomy.slug.replace("-", "_")


class MitigationAdminForm(ReasonForm):
    """Adds, per taxonomy, a node field and a reasoning field to the mitigation form."""

    taxonomies: list[Taxonomy] = []

    class Meta:
        model = Mitigation
        fields = ("number", "name", "definition", "source", "section_path")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "number" in self.fields:
            self.fields["number"].required = False
            self.fields["number"].help_text = "Leave empty to take the next free number."
        current = {}
        if self.instance.pk:
            for row in self.instance.classifications.select_related("node"):
                current.setdefault(row.taxonomy_id, []).append(row)
        for taxonomy in self.taxonomies:
            name = _taxonomy_field_name(taxonomy)
            rows = current.get(taxonomy.pk, [])
            self.initial.setdefault(
                name,
                [r.node_id for r in rows]
                if taxonomy.multi_valued
                else (rows[0].node_id if rows else None),
            )
            self.initial.setdefault(f"{name}_reasoning", rows[0].reasoning if rows else "")

    def placements_for(self, taxonomy: Taxonomy) -> list[services.Placement]:
        name = _taxonomy_field_name(taxonomy)
        chosen = self.cleaned_data.get(name)
        reasoning = self.cleaned_data.get(f"{name}_reasoning", "")
        if not chosen:
            return []
        nodes = list(chosen) if taxonomy.multi_valued else [chosen]
        return [services.Placement(node=node, reasoning=reasoning) for node in nodes]


def _build_taxonomy_fields(taxonomies) -> dict:
    fields = {}
    for taxonomy in taxonomies:
        name = _taxonomy_field_name(taxonomy)
        nodes = TaxonomyNode.objects.filter(taxonomy=taxonomy).order_by("path")
        field_class = (
            forms.ModelMultipleChoiceField if taxonomy.multi_valued else forms.ModelChoiceField
        )
        fields[name] = field_class(queryset=nodes, required=False, label=taxonomy.name)
        fields[f"{name}_reasoning"] = forms.CharField(
            required=False, max_length=1000, label=f"Reasoning for the {taxonomy.name} node"
        )
    return fields


@admin.register(Mitigation)
class MitigationAdmin(SpreadsheetExportMixin, ServiceAdmin):
    form = MitigationAdminForm
    list_display = ("public_id", "name", "source", "status", "updated_at")
    list_display_links = ("public_id", "name")
    list_filter = ("status", "source__doc_type", "source")
    search_fields = ("name", "definition", "section_path", "source__short_ref")
    list_select_related = ("source",)
    autocomplete_fields = ("source",)
    readonly_fields = ("status", "status_note", "merged_into", "created_at", "updated_at")
    show_full_result_count = False
    object_history_template = "admin/catalog/mitigation/object_history.html"

    @admin.display(description="public ID", ordering="number")
    def public_id(self, obj):
        return obj.public_id

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        by_id = self.model.objects.by_public_id(search_term.strip())
        if by_id.exists():
            queryset = queryset | by_id
        return queryset, may_have_duplicates

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return ("number", *fields) if obj else fields

    def has_change_permission(self, request, obj=None):
        # A merged record is frozen: its content lives on in the record it was merged into.
        if obj is not None and obj.status == Mitigation.Status.MERGED:
            return False
        return super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        taxonomies = list(Taxonomy.objects.all())
        kwargs["form"] = type(
            "MitigationAdminForm",
            (MitigationAdminForm,),
            {"taxonomies": taxonomies, **_build_taxonomy_fields(taxonomies)},
        )
        return super().get_form(request, obj, change=change, **kwargs)

    def service_save(self, request, obj, form, change, reason):
        data = self.model_data(form, services.MITIGATION_FIELDS)
        if not change:
            return services.mitigation_create(
                number=form.cleaned_data.get("number") or None,
                placements=[p for t in form.taxonomies for p in form.placements_for(t)],
                actor=request.user,
                reason=reason,
                **data,
            )
        saved, _ = services.mitigation_update(
            mitigation=obj, data=data, actor=request.user, reason=reason
        )
        for taxonomy in form.taxonomies:
            services.mitigation_reclassify(
                mitigation=saved,
                taxonomy=taxonomy,
                placements=form.placements_for(taxonomy),
                actor=request.user,
                reason=reason,
            )
        return saved

    def history_view(self, request, object_id, extra_context=None):
        classification_history = (
            Classification.history.filter(mitigation_id=object_id)
            .select_related("history_user", "node", "taxonomy")
            .order_by("-history_date", "-history_id")
        )
        return super().history_view(
            request,
            object_id,
            extra_context={
                "classification_history": classification_history,
                **(extra_context or {}),
            },
        )


@admin.register(Classification)
class ClassificationAdmin(SimpleHistoryAdmin):
    """Read-only: classifications change through the mitigation form or a proposal."""

    list_display = ("mitigation", "taxonomy", "node", "reasoning")
    list_filter = ("taxonomy",)
    search_fields = ("reasoning", "node__code", "node__name", "mitigation__name")
    list_select_related = ("mitigation", "taxonomy", "node")
    history_list_display = ["history_ref"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Registered in their own modules: import batches and their pages; people and groups.
__all__ = ["ImportBatchAdmin", "PersonAdmin", "ProtectedGroupAdmin"]
