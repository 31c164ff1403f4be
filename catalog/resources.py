"""django-import-export resources for the catalog, whose saves go through :mod:`catalog.services`.

The admin and the command line do not import through these: they use :mod:`catalog.imports`,
which plans a whole file in a few queries per chunk, previews it page by page and applies it
in bulk (see that package for why). These resources are for code that speaks
django-import-export's API (``resource.import_data(dataset)``), and the benchmark measures them
with the library's default settings as the baseline. Either way every record they write gets
its history row with actor, reason and ref, because the save path is a service.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from . import services
from .imports.layouts import MIT_TAXONOMY
from .models import Mitigation, SourceDocument, TaxonomyNode, format_public_id, parse_public_id


class PublicIdWidget(widgets.Widget):
    """``A0983`` (or MIT's ``A0983_Gipiškis2024``) in a file, the number 983 in the model."""

    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return None
        number = parse_public_id(str(value))
        if number is None:
            raise ValueError(f"“{value}” is not a public ID like A0983.")
        return number

    def render(self, value, obj=None, **kwargs):
        return format_public_id(value) if value else ""


class MitigationResource(resources.ModelResource):
    """The base columns of the catalog's layout, plus the MIT taxonomy's column."""

    public_id = fields.Field(attribute="number", column_name="ID", widget=PublicIdWidget())
    name = fields.Field(attribute="name", column_name="Name")
    definition = fields.Field(attribute="definition", column_name="Definition")
    source = fields.Field(
        attribute="source",
        column_name="Source",
        widget=widgets.ForeignKeyWidget(SourceDocument, field="short_ref"),
    )
    section = fields.Field(attribute="section_path", column_name="Section")

    class Meta:
        model = Mitigation
        fields = ("public_id", "name", "definition", "source", "section")
        import_id_fields = ("public_id",)

    def __init__(self, *, actor=None, reason: str = "Imported with django-import-export", ref=""):
        super().__init__()
        self.actor = actor
        self.reason = reason
        self.ref = ref
        self._nodes: dict[str, TaxonomyNode] | None = None

    def _placements(self, row) -> list[services.Placement]:
        if self._nodes is None:
            self._nodes = {
                node.code: node for node in TaxonomyNode.objects.filter(taxonomy__slug=MIT_TAXONOMY)
            }
        cell = str(row.get(MIT_TAXONOMY) or "").strip()
        if not cell:
            return []
        node = self._nodes.get(cell.split(None, 1)[0])
        if node is None:
            raise ValidationError({MIT_TAXONOMY: f"No node “{cell}” in {MIT_TAXONOMY}."})
        return [services.Placement(node=node)]

    def before_save_instance(self, instance, row, **kwargs):
        instance._import_placements = self._placements(row)

    def do_instance_save(self, instance, is_create):
        data = {
            "name": instance.name,
            "definition": instance.definition,
            "source": instance.source,
            "section_path": instance.section_path,
        }
        placements = getattr(instance, "_import_placements", [])
        history = {"actor": self.actor, "reason": self.reason, "ref": self.ref}
        if is_create:
            saved = services.mitigation_create(
                number=instance.number, placements=placements, **data, **history
            )
            instance.pk = saved.pk
            return
        saved, _ = services.mitigation_update(mitigation=instance, data=data, **history)
        if placements:
            taxonomy = placements[0].node.taxonomy
            services.mitigation_reclassify(
                mitigation=saved, taxonomy=taxonomy, placements=placements, **history
            )

    def delete_instance(self, instance, row, **kwargs):
        raise ValidationError("Mitigations are never deleted; retire or merge them instead.")
