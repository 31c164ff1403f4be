"""The column layouts an import understands, and telling from a header which one a file uses.

- ``catalog``: the catalog's own export (:mod:`catalog.spreadsheet`): ID, Name, Definition,
  Source, Section, Status, Merged into, Status note, then ``<slug>`` and ``<slug> reasoning``
  per taxonomy (or its name in place of the slug, as the XLSX export writes them). Its cells
  follow the apostrophe convention, which is undone on reading. The JSON export (``id``,
  ``name``, …, ``classifications``) maps onto the same layout.
- ``mit``: MIT's mitigation export: Action ID, Action Name, Action Definition, Action Source,
  MitigationCode (a node of the ``airm-preliminary`` taxonomy). Read exactly as it is.
- ``documents``: MIT's document export (ShortRef, DocumentID, Title, First author, Year,
  Abstract, Description, URL, DOI, Type), plus an optional Authors column.
- ``nodes``: Taxonomy (slug), Code, Name, Parent (code), Definition, Order, Catch-all. The
  Taxonomy column may be left out when the import names the taxonomy itself
  (``import_taxonomy_nodes TAXONOMY FILE``).

Column names match whatever their case, spacing, ``_`` or ``-``. A column a layout does not
know is ignored (and said so), unless it looks like a misspelling of one the file lacks: then
it is an error, since the data in it would otherwise be silently dropped.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from ..models import ImportKind, Taxonomy
from ..spreadsheet import REASONING_SUFFIX
from .readers import Table, first_upper

MIT_TAXONOMY = "airm-preliminary"


def normalise(name) -> str:
    return re.sub(r"[\s_\-]+", " ", str(name)).strip().casefold()


@dataclass(frozen=True)
class Column:
    label: str
    field: str
    required: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> set[str]:
        return {normalise(self.label), *(normalise(alias) for alias in self.aliases)}


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    kind: str
    columns: tuple[Column, ...]
    inert: bool = True  # cells follow the apostrophe convention of catalog.spreadsheet
    taxonomy_columns: bool = False

    def column(self, field_name: str) -> Column | None:
        return next((c for c in self.columns if c.field == field_name), None)


CATALOG = Layout(
    name="catalog",
    title="AIRM Curator export",
    kind=ImportKind.MITIGATIONS,
    columns=(
        Column("ID", "id", required=True, aliases=("public id",)),
        Column("Name", "name", required=True),
        Column("Definition", "definition"),
        Column("Source", "source", required=True, aliases=("source document",)),
        Column("Section", "section_path", aliases=("section path", "section in source")),
        Column("Status", "status"),
        Column("Merged into", "merged_into"),
        Column("Status note", "status_note"),
        Column("classifications", "classifications"),  # JSON export only
        Column("updated_at", "updated_at"),  # JSON export only; informational, not imported
    ),
    taxonomy_columns=True,
)

MIT = Layout(
    name="mit",
    title="MIT AI Risk Mitigation Database export (mitigations)",
    kind=ImportKind.MITIGATIONS,
    columns=(
        Column("Action ID", "id", required=True),
        Column("Action Name", "name", required=True),
        Column("Action Definition", "definition"),
        Column("Action Source", "source", required=True),
        Column("MitigationCode", "mit_code", aliases=("mitigation code",)),
    ),
    inert=False,
)

DOCUMENTS = Layout(
    name="documents",
    title="Source documents (MIT's layout)",
    kind=ImportKind.DOCUMENTS,
    columns=(
        Column("ShortRef", "short_ref", required=True, aliases=("short ref", "short reference")),
        Column("DocumentID", "document_id", aliases=("document id",)),
        Column("Title", "title", required=True),
        Column("First author", "first_author"),
        Column("Authors", "authors"),
        Column("Year", "year"),
        Column("Abstract", "abstract"),
        Column("Description", "description"),
        Column("URL", "url"),
        Column("DOI", "doi"),
        Column("Type", "doc_type", aliases=("doc type", "document type")),
    ),
)

NODES = Layout(
    name="nodes",
    title="Taxonomy nodes",
    kind=ImportKind.NODES,
    columns=(
        Column("Taxonomy", "taxonomy"),
        Column("Code", "code", required=True),
        Column("Name", "name", required=True),
        Column("Parent", "parent", aliases=("parent code",)),
        Column("Definition", "definition"),
        Column("Order", "order"),
        Column("Catch-all", "is_catch_all", aliases=("catch all", "is catch all")),
    ),
)

LAYOUTS = (CATALOG, MIT, DOCUMENTS, NODES)


@dataclass
class TaxonomyColumns:
    taxonomy: Taxonomy
    node: int | None = None  # column index of the nodes
    reasoning: int | None = None  # column index of the reasoning, if the file has one


@dataclass
class Mapping:
    """Which column of the file holds what, for one layout."""

    layout: Layout
    table: Table
    fields: dict[str, int] = field(default_factory=dict)
    taxonomies: dict[str, TaxonomyColumns] = field(default_factory=dict)
    ignored: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def label(self, field_name: str) -> str:
        """How a message names the column of ``field_name`` (a field or a taxonomy slug)."""
        if field_name in self.fields:
            return self.table.column_label(self.fields[field_name])
        slug, _, rest = field_name.partition(" ")
        columns = self.taxonomies.get(slug)
        if columns is not None:
            index = columns.reasoning if rest and columns.reasoning is not None else columns.node
            if index is not None:
                return self.table.column_label(index)
            if "classifications" in self.fields:
                return self.table.column_label(self.fields["classifications"])
        column = self.layout.column(field_name)
        return f'"{column.label}"' if column else (f'"{field_name}"' if field_name else "")

    def heading(self, field_name: str) -> str:
        """The bare column heading for ``field_name``, as a preview table shows it."""
        if field_name in self.fields:
            return self.table.header[self.fields[field_name]]
        slug, _, rest = field_name.partition(" ")
        columns = self.taxonomies.get(slug)
        if columns is not None:
            index = columns.reasoning if rest else columns.node
            if index is not None:
                return self.table.header[index]
        column = self.layout.column(field_name)
        return column.label if column else field_name


def _score(layout: Layout, names: list[str], slugs: set[str]) -> int:
    known = set().union(*(column.names for column in layout.columns))
    if layout.taxonomy_columns:
        known |= slugs | {f"{slug} {normalise(REASONING_SUFFIX)}" for slug in slugs}
    return sum(1 for name in names if name in known)


def _taxonomies_by_heading() -> dict[str, Taxonomy]:
    """Every taxonomy under the headings that may name its column: its name (as the XLSX
    export writes it, for people) and its slug (as CSV and JSON do); a slug wins a clash."""
    taxonomies = list(Taxonomy.objects.all())
    by_heading = {normalise(t.name): t for t in taxonomies}
    by_heading.update({normalise(t.slug): t for t in taxonomies})
    return by_heading


def detect(table: Table, *, kind: str | None = None) -> Mapping:
    """The layout of ``table`` (among those of ``kind``), with its problems if any."""
    taxonomies = _taxonomies_by_heading()
    names = [normalise(cell) for cell in table.header]
    candidates = [layout for layout in LAYOUTS if kind in (None, layout.kind)]
    scores = {layout.name: _score(layout, names, set(taxonomies)) for layout in candidates}
    layout = max(candidates, key=lambda candidate: scores[candidate.name])
    mapping = Mapping(layout=layout, table=table)
    if not scores[layout.name]:
        expected = "; ".join(
            f"{known.title}: {', '.join(c.label for c in known.columns if c.required)}, …"
            for known in candidates
        )
        mapping.problems.append(
            f"Row 1 is not the header of any layout this import knows ({expected})."
        )
        return mapping

    seen: dict[str, int] = {}
    unknown: list[int] = []
    reasoning_suffix = " " + normalise(REASONING_SUFFIX)
    for index, name in enumerate(names):
        if not name:
            mapping.ignored.append(index)
            continue
        if name in seen:
            mapping.problems.append(
                f"{first_upper(table.column_label(index))} repeats "
                f"{table.column_label(seen[name])}; each column may appear once."
            )
            continue
        seen[name] = index
        column = next((c for c in layout.columns if name in c.names), None)
        if column is not None:
            mapping.fields[column.field] = index
            continue
        if layout.taxonomy_columns:
            if name in taxonomies:
                slug = taxonomies[name].slug
                mapping.taxonomies.setdefault(slug, TaxonomyColumns(taxonomies[name])).node = index
                continue
            if name.endswith(reasoning_suffix) and name[: -len(reasoning_suffix)] in taxonomies:
                taxonomy = taxonomies[name[: -len(reasoning_suffix)]]
                columns = mapping.taxonomies.setdefault(taxonomy.slug, TaxonomyColumns(taxonomy))
                columns.reasoning = index
                continue
        unknown.append(index)

    expected_names = {c.label: c.names for c in layout.columns if c.field not in mapping.fields}
    if layout.taxonomy_columns:
        for taxonomy in set(taxonomies.values()):
            if taxonomy.slug not in mapping.taxonomies:
                expected_names[taxonomy.slug] = {
                    normalise(taxonomy.slug),
                    normalise(taxonomy.name),
                }
                expected_names[taxonomy.slug + REASONING_SUFFIX] = {
                    normalise(taxonomy.slug + REASONING_SUFFIX),
                    normalise(taxonomy.name + REASONING_SUFFIX),
                }
    misspelt: set[str] = set()
    for index in unknown:
        close = difflib.get_close_matches(
            names[index], [n for names_ in expected_names.values() for n in names_], n=1, cutoff=0.8
        )
        if close:
            label = next(label for label, names_ in expected_names.items() if close[0] in names_)
            misspelt.add(label)
            mapping.problems.append(
                f"{first_upper(table.column_label(index))} is not a column of the "
                f"{layout.title} layout. Did you mean “{label}”?"
            )
        else:
            mapping.ignored.append(index)
    for column in layout.columns:
        if column.required and column.field not in mapping.fields and column.label not in misspelt:
            mapping.problems.append(
                f"The column “{column.label}” is missing: the {layout.title} layout needs "
                f"{', '.join(c.label for c in layout.columns if c.required)}."
            )
    for slug, columns in mapping.taxonomies.items():
        if columns.node is None and columns.reasoning is not None:
            mapping.problems.append(
                f"{first_upper(table.column_label(columns.reasoning))} gives reasonings but "
                f"there is no “{slug}” column with the nodes they belong to."
            )
    if layout is MIT:
        mit_taxonomy = taxonomies.get(normalise(MIT_TAXONOMY))
        if mit_taxonomy is None:
            mapping.problems.append(
                f"The MIT taxonomy ({MIT_TAXONOMY}) is not loaded; run "
                "`python manage.py load_reference_data` first."
            )
        elif "mit_code" in mapping.fields:
            mapping.taxonomies[mit_taxonomy.slug] = TaxonomyColumns(
                mit_taxonomy, node=mapping.fields["mit_code"]
            )
    if "classifications" in mapping.fields:
        for taxonomy in taxonomies.values():
            mapping.taxonomies.setdefault(taxonomy.slug, TaxonomyColumns(taxonomy))
    return mapping
