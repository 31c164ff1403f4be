"""django-import-export resources for the catalog, whose saves go through :mod:`catalog.services`.

The admin and the command line do not import through these: they use :mod:`catalog.imports`,
which plans a whole file in a few queries per chunk, previews it page by page and applies it
in bulk (see that package for why). These resources are for code that speaks
django-import-export's API (``resource.import_data(dataset)``), and the benchmark measures them
with the library's default settings as the baseline. Either way every record they write gets
its history row with actor, reason and ref, because the save path is a service.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import tablib
from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets
from import_export.formats import base_formats
from import_export.results import Result

from . import services
from .imports.layouts import MIT_TAXONOMY, detect
from .imports.pipeline import FALSE_WORDS, TRUE_WORDS
from .imports.readers import FileProblem, first_upper, open_table
from .models import (
    DocType,
    ImportKind,
    Mitigation,
    SourceDocument,
    Taxonomy,
    TaxonomyNode,
    format_public_id,
    parse_public_id,
)
from .spreadsheet import undo_inert


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


# --------------------------------------------------------------------------- sources and nodes
#
# The admin imports source documents and taxonomy nodes through django-import-export's own
# flow (upload → dry-run preview of every row → confirm), which suits these small tables. The
# file is read by the importer's bounded readers (:class:`BoundedSpreadsheet`: size, rows,
# columns, zip bombs, JSON depth, the type told by the content, apostrophes of inert cells
# removed), its columns found by the import layouts (any case or spacing, MIT's names too), and
# every row is saved through the services, so it gets its history row. Row numbers are the
# spreadsheet's own (the header is row 1), and errors name the column by its heading.

ROW_COLUMN = "Row"  # the spreadsheet's row number, carried alongside the values


class BoundedSpreadsheet(base_formats.Format):
    """CSV, TSV, XLSX or JSON, told by the content and read within the import limits, as a
    dataset of the resource's columns (plus :data:`ROW_COLUMN`)."""

    kind = ""  # an ImportKind
    headings: dict[str, str] = {}  # layout field → the resource's column name

    def __init__(self, encoding=None):
        self.encoding = encoding

    def get_title(self):
        return "CSV, TSV, XLSX or JSON (told by its content)"

    def get_extension(self):
        return "csv"

    def can_import(self):
        return True

    def create_dataset(self, in_stream):
        data = in_stream if isinstance(in_stream, bytes) else str(in_stream).encode("utf-8")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "upload"
            path.write_bytes(data)
            del data
            table = open_table(path, file_name="upload")
            mapping = detect(table, kind=self.kind)
            if mapping.problems:
                raise FileProblem(" ".join(mapping.problems))
            fields = [name for name in self.headings if name in mapping.fields]
            dataset = tablib.Dataset(headers=[ROW_COLUMN, *(self.headings[f] for f in fields)])
            inert = mapping.layout.inert and table.is_sheet()
            for number, cells in table.rows():
                if cells.nul_columns:
                    where = table.column_label(cells.nul_columns[0])
                    raise FileProblem(
                        f"{first_upper(table.row_label(number))}, {where}: the cell holds a NUL "
                        "character, which cannot be stored. Remove it."
                    )
                values = []
                for name in fields:
                    index = mapping.fields[name]
                    value = cells[index] if index < len(cells) else ""
                    if not isinstance(value, str):
                        value = json.dumps(value, ensure_ascii=False)
                    values.append(undo_inert(value) if inert else value)
                dataset.append([number, *values])
        return dataset


class SpreadsheetResult(Result):
    """A result whose rows are numbered as in the spreadsheet and whose field errors are named
    by their column's heading."""

    headings: dict[str, str] = {}

    def _number(self, number, row):
        return row.get(ROW_COLUMN) or number

    def append_invalid_row(self, number, row, validation_error):
        if hasattr(validation_error, "error_dict"):
            validation_error = ValidationError(
                {
                    self.headings.get(name, name): errors
                    for name, errors in validation_error.error_dict.items()
                }
            )
        super().append_invalid_row(self._number(number, row), row, validation_error)

    def append_error_row(self, number, row, errors):
        super().append_error_row(self._number(number, row), row, errors)


class TextWidget(widgets.CharWidget):
    """Text as it is (the importer keeps spaces; empty is empty, never None)."""

    def clean(self, value, row=None, **kwargs):
        return "" if value is None else str(value)


class WholeNumberWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value).strip()
        if not text:
            return None
        if not text.isdigit():
            raise ValueError(f"“{text}” is not a whole number.")
        return int(text)

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class DocTypeWidget(widgets.Widget):
    """A document type by its label (``Preprint``) or its stored value (``preprint``)."""

    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value).strip()
        by_name = {t.label.casefold(): t.value for t in DocType} | {
            t.value: t.value for t in DocType
        }
        if text.casefold() not in by_name:
            labels = ", ".join(t.label for t in DocType)
            raise ValueError(f"“{text}” is not a document type; use one of {labels}.")
        return by_name[text.casefold()]

    def render(self, value, obj=None, **kwargs):
        return DocType(value).label if value in DocType.values else (value or "")


class YesNoWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value).strip().casefold()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        raise ValueError(f"“{text}” is not yes or no.")

    def render(self, value, obj=None, **kwargs):
        return "yes" if value else "no"


class ParentWidget(widgets.Widget):
    """A parent node by its code, in the taxonomy of the same row (empty: a top-level node)."""

    def clean(self, value, row=None, **kwargs):
        code = "" if value is None else str(value).strip()
        if not code:
            return None
        slug = str((row or {}).get("Taxonomy") or "").strip()
        node = TaxonomyNode.objects.filter(taxonomy__slug=slug, code=code).first()
        if node is None:
            raise ValueError(
                f"No node {code} in {slug or 'this taxonomy'} (a parent must come before its "
                "children in the file, or exist already)."
            )
        return node

    def render(self, value, obj=None, **kwargs):
        return value.code if value is not None else ""


class ServiceResource(resources.ModelResource):
    """A resource whose saves are services (with history) and that never deletes. The actor is
    the importing user and the reason names the file, unless given."""

    def __init__(self, *, actor=None, reason: str = "", ref: str = "", **kwargs):
        super().__init__(**kwargs)
        self.actor = actor
        self.reason = reason
        self.ref = ref

    def before_import(self, dataset, **kwargs):
        if self.actor is None and getattr(kwargs.get("user"), "is_authenticated", False):
            self.actor = kwargs["user"]
        if not self.reason:
            name = Path(str(kwargs.get("file_name") or "a spreadsheet")).name[:200]
            self.reason = f"Import of {name} in the admin"
        super().before_import(dataset, **kwargs)

    def get_result_class(self):
        headings = {field.attribute: field.column_name for field in self.fields.values()}
        return type("Result", (SpreadsheetResult,), {"headings": headings})

    def history(self) -> dict:
        return {"actor": self.actor, "reason": self.reason, "ref": self.ref}

    def data_of(self, instance, names) -> dict:
        return {name: getattr(instance, name) for name in names}

    def delete_instance(self, instance, row, **kwargs):
        raise ValidationError("Nothing curated is deleted; retire or merge it instead.")


class SourceDocumentResource(ServiceResource):
    """Source documents, matched by short reference, in the columns of the /sources/ download."""

    short_ref = fields.Field(
        attribute="short_ref", column_name="Short reference", widget=TextWidget()
    )
    document_id = fields.Field(
        attribute="document_id", column_name="Document ID", widget=WholeNumberWidget()
    )
    title = fields.Field(attribute="title", column_name="Title", widget=TextWidget())
    first_author = fields.Field(
        attribute="first_author", column_name="First author", widget=TextWidget()
    )
    authors = fields.Field(attribute="authors", column_name="Authors", widget=TextWidget())
    year = fields.Field(attribute="year", column_name="Year", widget=WholeNumberWidget())
    abstract = fields.Field(attribute="abstract", column_name="Abstract", widget=TextWidget())
    description = fields.Field(
        attribute="description", column_name="Description", widget=TextWidget()
    )
    url = fields.Field(attribute="url", column_name="URL", widget=TextWidget())
    doi = fields.Field(attribute="doi", column_name="DOI", widget=TextWidget())
    doc_type = fields.Field(attribute="doc_type", column_name="Type", widget=DocTypeWidget())

    class Meta:
        model = SourceDocument
        fields = services.SOURCE_FIELDS
        import_id_fields = ("short_ref",)
        skip_unchanged = True
        report_skipped = True

    def do_instance_save(self, instance, is_create):
        data = self.data_of(instance, services.SOURCE_FIELDS)
        if is_create:
            saved = services.source_document_create(**data, **self.history())
            instance.pk = saved.pk
            return
        data.pop("short_ref")
        services.source_document_update(source=instance, data=data, **self.history())


class TaxonomyNodeResource(ServiceResource):
    """Taxonomy nodes, matched by taxonomy and code, in the columns of a taxonomy's download.
    Parents come before their children (as the download orders them)."""

    taxonomy = fields.Field(
        attribute="taxonomy",
        column_name="Taxonomy",
        widget=widgets.ForeignKeyWidget(Taxonomy, field="slug"),
    )
    code = fields.Field(attribute="code", column_name="Code", widget=TextWidget())
    name = fields.Field(attribute="name", column_name="Name", widget=TextWidget())
    parent = fields.Field(attribute="parent", column_name="Parent", widget=ParentWidget())
    definition = fields.Field(attribute="definition", column_name="Definition", widget=TextWidget())
    order = fields.Field(attribute="order", column_name="Order", widget=WholeNumberWidget())
    is_catch_all = fields.Field(
        attribute="is_catch_all", column_name="Catch-all", widget=YesNoWidget()
    )

    class Meta:
        model = TaxonomyNode
        fields = ("taxonomy", "code", "name", "parent", "definition", "order", "is_catch_all")
        import_id_fields = ("taxonomy", "code")
        skip_unchanged = True
        report_skipped = True

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        if field.attribute == "order" and str(row.get(field.column_name) or "").strip() == "":
            row = {**row, field.column_name: "0"}
        super().import_field(field, instance, row, is_m2m=is_m2m, **kwargs)

    def do_instance_save(self, instance, is_create):
        data = self.data_of(instance, [n for n in services.NODE_FIELDS if n != "taxonomy"])
        if is_create:
            saved = services.taxonomy_node_create(
                taxonomy=instance.taxonomy, **data, **self.history()
            )
            instance.pk = saved.pk
            return
        services.taxonomy_node_update(node=instance, data=data, **self.history())


class DocumentsSpreadsheet(BoundedSpreadsheet):
    kind = ImportKind.DOCUMENTS
    headings = {
        field.attribute: field.column_name for field in SourceDocumentResource().fields.values()
    }


class NodesSpreadsheet(BoundedSpreadsheet):
    kind = ImportKind.NODES
    headings = {
        field.attribute: field.column_name for field in TaxonomyNodeResource().fields.values()
    }
