"""A release's downloads: the Frictionless Data Package (a zip) and the workbook (XLSX).

Both are rendered from the release's frozen rows (:mod:`catalog.releases.models`), never from
the live catalog. The package holds ``datapackage.json`` and one CSV per table
(:data:`TABLES`): each described by a Table Schema (fields with types and descriptions,
primary and foreign keys), with its size and SHA-256, under CC BY 4.0 with the attribution to
the MIT AI Risk Initiative, and the release's citation.

The digests are computed once, while the release is built (:func:`digest_tables`), and kept
in ``Release.files``; every later rendering computes them again as it writes and refuses to
hand out a package whose files differ (:class:`RenderingChanged`), so a release's files never
change under its version. Rows stream from the database chunk by chunk into a temporary file:
memory stays flat however large the release.

Text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) carry one apostrophe in front, as in every CSV and XLSX
export of the catalog (:mod:`catalog.spreadsheet`); the package's description says so.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from catalog.spreadsheet import make_inert, ooxml_escape

from .models import Release

LICENCE = {
    "name": "CC-BY-4.0",
    "path": "https://creativecommons.org/licenses/by/4.0/",
    "title": "Creative Commons Attribution 4.0 International",
}
MIT_SOURCE = {
    "title": "MIT AI Risk Initiative: AI Risk Mitigation Database",
    "path": "https://airisk.mit.edu/ai-risk-mitigations",
}
ATTRIBUTION = (
    "Includes and builds on the AI Risk Mitigation Database of the MIT AI Risk Initiative "
    "(https://airisk.mit.edu/ai-risk-mitigations), licensed under CC BY 4.0."
)
INERT_NOTE = (
    "A text value that a spreadsheet would run as a formula (starting with =, +, -, @, a tab "
    "or a carriage return) is written with one apostrophe in front; remove it to read the "
    "value as curated."
)


def _field(name: str, kind: str, description: str, **extra: Any) -> dict:
    return {"name": name, "type": kind, "description": description, **extra}


@dataclass(frozen=True)
class Table:
    """One CSV of the package: its name, Table Schema and rows (from a release)."""

    name: str
    title: str
    description: str
    schema: dict
    rows: Callable[[Release], Iterator[list]]

    @property
    def path(self) -> str:
        return f"data/{self.name}.csv"

    @property
    def header(self) -> list[str]:
        return [field["name"] for field in self.schema["fields"]]


def _record_rows(release: Release) -> Iterator[list]:
    from . import selectors

    for number, data in selectors.release_record_data(release):
        yield mitigation_row(number, data)


def mitigation_row(number: int, data: dict) -> list:
    from catalog.models import format_public_id

    return [
        format_public_id(number),
        data["name"],
        data["definition"],
        data["source"],
        data["section"],
        data["status"],
        data["merged_into"] or "",
        data["status_note"],
        data["updated_at"],
    ]


def classification_rows(number: int, data: dict) -> Iterator[list]:
    from catalog.models import format_public_id

    public_id = format_public_id(number)
    for slug, code, reasoning in data["classifications"]:
        yield [public_id, slug, code, reasoning]


def _classification_rows(release: Release) -> Iterator[list]:
    from . import selectors

    for number, data in selectors.release_record_data(release):
        yield from classification_rows(number, data)


def _document_rows(release: Release) -> Iterator[list]:
    for document in release.documents:
        yield [
            document["short_ref"],
            "" if document["document_id"] is None else document["document_id"],
            document["title"],
            document["first_author"],
            document["authors"],
            "" if document["year"] is None else document["year"],
            document["abstract"],
            document["description"],
            document["url"],
            document["doi"],
            document["type"],
        ]


def _taxonomy_rows(release: Release) -> Iterator[list]:
    for taxonomy in release.taxonomies:
        yield [
            taxonomy["slug"],
            taxonomy["name"],
            taxonomy["version"],
            taxonomy["kind"],
            taxonomy["status"],
            "true" if taxonomy["multi_valued"] else "false",
            taxonomy["description"],
        ]


def _node_rows(release: Release) -> Iterator[list]:
    for taxonomy in release.taxonomies:
        for node in taxonomy["nodes"]:
            yield [
                taxonomy["slug"],
                node["code"],
                node["name"],
                node["parent"] or "",
                node["definition"],
                node["order"],
                "true" if node["catch_all"] else "false",
            ]


ID_PATTERN = "^A[0-9]{4,7}$"

MITIGATIONS = Table(
    name="mitigations",
    title="Mitigations",
    description="Every record of the catalog in this release: active, retired and merged.",
    schema={
        "fields": [
            _field(
                "id",
                "string",
                "The public ID, e.g. A0983; never reused.",
                constraints={"required": True, "unique": True, "pattern": ID_PATTERN},
            ),
            _field("name", "string", "The mitigation's name.", constraints={"required": True}),
            _field("definition", "string", "The source's wording (may be empty)."),
            _field(
                "source",
                "string",
                "The source document's short reference (documents.short_ref).",
                constraints={"required": True},
            ),
            _field("section", "string", "The source's own section path, levels joined by ' > '."),
            _field(
                "status",
                "string",
                "active, retired (kept for links and citations) or merged (see merged_into).",
                constraints={"required": True, "enum": ["active", "retired", "merged"]},
            ),
            _field(
                "merged_into", "string", "For a merged record: the ID of the record it went into."
            ),
            _field("status_note", "string", "Why the record was retired or merged."),
            _field(
                "updated_at", "datetime", "When the record last changed (UTC).", format="default"
            ),
        ],
        "primaryKey": ["id"],
        "foreignKeys": [
            {
                "fields": ["source"],
                "reference": {"resource": "documents", "fields": ["short_ref"]},
            },
            {"fields": ["merged_into"], "reference": {"resource": "", "fields": ["id"]}},
        ],
        "missingValues": [""],
    },
    rows=_record_rows,
)

CLASSIFICATIONS = Table(
    name="classifications",
    title="Classifications",
    description="Each record's place in each taxonomy and vocabulary, one row per node.",
    schema={
        "fields": [
            _field(
                "mitigation_id",
                "string",
                "The record (mitigations.id).",
                constraints={"required": True},
            ),
            _field(
                "taxonomy",
                "string",
                "The taxonomy's slug (taxonomies.slug).",
                constraints={"required": True},
            ),
            _field(
                "code",
                "string",
                "The node's code in that taxonomy (taxonomy_nodes.code).",
                constraints={"required": True},
            ),
            _field("reasoning", "string", "Why the record sits there (one line, may be empty)."),
        ],
        "primaryKey": ["mitigation_id", "taxonomy", "code"],
        "foreignKeys": [
            {
                "fields": ["mitigation_id"],
                "reference": {"resource": "mitigations", "fields": ["id"]},
            },
            {
                "fields": ["taxonomy", "code"],
                "reference": {"resource": "taxonomy_nodes", "fields": ["taxonomy", "code"]},
            },
        ],
        "missingValues": [""],
    },
    rows=_classification_rows,
)

DOCUMENTS = Table(
    name="documents",
    title="Source documents",
    description="The frameworks, laws and papers the mitigations come from.",
    schema={
        "fields": [
            _field(
                "short_ref",
                "string",
                "The citation key used across the catalog, e.g. Gipiškis2024.",
                constraints={"required": True, "unique": True},
            ),
            _field("document_id", "integer", "MIT's document number, where it has one."),
            _field("title", "string", "The document's title.", constraints={"required": True}),
            _field("first_author", "string", "The first author (a person or an organisation)."),
            _field("authors", "string", "All authors."),
            _field("year", "integer", "The year of publication."),
            _field("abstract", "string", "The document's abstract."),
            _field("description", "string", "A curator's description."),
            _field("url", "string", "Where the document is published.", format="uri"),
            _field("doi", "string", "Its DOI, if any."),
            _field(
                "type",
                "string",
                "Preprint, Legislation, Other government document or Other non-government "
                "document.",
            ),
        ],
        "primaryKey": ["short_ref"],
        "missingValues": [""],
    },
    rows=_document_rows,
)

TAXONOMIES = Table(
    name="taxonomies",
    title="Taxonomies and vocabularies",
    description="The classification schemes the records are placed in.",
    schema={
        "fields": [
            _field(
                "slug",
                "string",
                "The taxonomy's identifier.",
                constraints={"required": True, "unique": True},
            ),
            _field("name", "string", "Its name.", constraints={"required": True}),
            _field("version", "string", "Its own version label, if any."),
            _field(
                "kind",
                "string",
                "taxonomy (what a mitigation is) or vocabulary (another dimension).",
                constraints={"enum": ["taxonomy", "vocabulary"]},
            ),
            _field(
                "status",
                "string",
                "draft, published or retired.",
                constraints={"enum": ["draft", "published", "retired"]},
            ),
            _field("multi_valued", "boolean", "Whether a record may sit at several of its nodes."),
            _field("description", "string", "What it classifies."),
        ],
        "primaryKey": ["slug"],
        "missingValues": [""],
    },
    rows=_taxonomy_rows,
)

NODES = Table(
    name="taxonomy_nodes",
    title="Taxonomy nodes",
    description="Every node of every taxonomy, depth first.",
    schema={
        "fields": [
            _field(
                "taxonomy",
                "string",
                "The taxonomy's slug (taxonomies.slug).",
                constraints={"required": True},
            ),
            _field("code", "string", "The node's code, e.g. 3.1.", constraints={"required": True}),
            _field("name", "string", "The node's name.", constraints={"required": True}),
            _field(
                "parent",
                "string",
                "The code of the parent node in the same taxonomy (empty at the top level).",
            ),
            _field("definition", "string", "What belongs there."),
            _field("order", "integer", "Its place among its siblings."),
            _field("catch_all", "boolean", "An 'other' / 'not otherwise categorized' node."),
        ],
        "primaryKey": ["taxonomy", "code"],
        "foreignKeys": [
            {"fields": ["taxonomy"], "reference": {"resource": "taxonomies", "fields": ["slug"]}},
        ],
        "missingValues": [""],
    },
    rows=_node_rows,
)

TABLES: tuple[Table, ...] = (MITIGATIONS, CLASSIFICATIONS, DOCUMENTS, TAXONOMIES, NODES)


# --------------------------------------------------------------------------- CSV and digests


class _Line:
    def write(self, value):
        return value


class CsvDigest:
    """Renders rows as the package's CSV (UTF-8, comma, CRLF, a header) into ``sink`` (a binary
    file, or nothing), counting bytes and hashing them as they go."""

    def __init__(self, header: list[str], sink=None):
        self._writer = csv.writer(_Line())
        self._sink = sink
        self._hash = hashlib.sha256()
        self.bytes = 0
        self.write(header)

    def write(self, row: Iterable) -> None:
        line = self._writer.writerow([make_inert(value) for value in row]).encode("utf-8")
        self._hash.update(line)
        self.bytes += len(line)
        if self._sink is not None:
            self._sink.write(line)

    @property
    def summary(self) -> dict:
        return {"bytes": self.bytes, "sha256": self._hash.hexdigest()}


class RecordDigests:
    """While a release is built: the digests of the two tables drawn from its records, fed
    chunk by chunk with the very rows the snapshot stores (see ``services.release_build``)."""

    def __init__(self):
        self.mitigations = CsvDigest(MITIGATIONS.header)
        self.classifications = CsvDigest(CLASSIFICATIONS.header)

    def feed(self, number: int, data: dict) -> None:
        self.mitigations.write(mitigation_row(number, data))
        for row in classification_rows(number, data):
            self.classifications.write(row)


def digest_small_tables(release: Release) -> dict[str, dict]:
    """The digests of the tables drawn from the release's own JSON (documents, taxonomies)."""
    out = {}
    for table in (DOCUMENTS, TAXONOMIES, NODES):
        digest = CsvDigest(table.header)
        for row in table.rows(release):
            digest.write(row)
        out[table.path] = digest.summary
    return out


# --------------------------------------------------------------------------- the descriptor


def descriptor(release: Release, *, url: str = "", citation: str = "") -> dict:
    """``datapackage.json`` of ``release`` (its files' sizes and digests as built)."""
    published = release.published_at or timezone.now()
    resources = []
    for table in TABLES:
        stored = release.files.get(table.path, {})
        resources.append(
            {
                "name": table.name,
                "path": table.path,
                "title": table.title,
                "description": table.description,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "bytes": stored.get("bytes", 0),
                "hash": f"sha256:{stored.get('sha256', '')}",
                "schema": table.schema,
            }
        )
    package: dict[str, Any] = {
        "profile": "tabular-data-package",
        "name": "airm-curator-mitigations",
        "id": url or f"airm-curator-release-{release.version}",
        "title": f"AIRM Curator: AI risk mitigations, release {release.version}",
        "description": (
            f"A frozen release of the AIRM Curator catalog of AI risk mitigations "
            f"({release.counts.get('total', 0):,} records). {ATTRIBUTION} {INERT_NOTE}"
            + (f"\n\n{release.notes}" if release.notes else "")
        ),
        "version": release.version,
        "created": published.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "licenses": [LICENCE],
        "sources": [MIT_SOURCE],
        "contributors": [
            {"title": "AIRM Curator", "role": "publisher"},
            {"title": "MIT AI Risk Initiative", "role": "author", "path": MIT_SOURCE["path"]},
        ],
        "citation": citation,
        "resources": resources,
    }
    if url:
        package["homepage"] = url
    return package


# --------------------------------------------------------------------------- the files


class RenderingChanged(Exception):
    """A release's file no longer renders to the bytes it was published with."""


def _zip_info(name: str, release: Release) -> zipfile.ZipInfo:
    moment = timezone.localtime(release.published_at or timezone.now())
    info = zipfile.ZipInfo(name, date_time=moment.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def write_package(release: Release, target, *, url: str = "", citation: str = "") -> None:
    """Write the data package of ``release`` as a zip to the seekable binary file ``target``."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in TABLES:
            with archive.open(_zip_info(table.path, release), "w") as entry:
                digest = CsvDigest(table.header, io.BufferedWriter(_Unclosable(entry)))
                for row in table.rows(release):
                    digest.write(row)
                digest._sink.flush()
            if digest.summary != release.files.get(table.path):
                raise RenderingChanged(
                    f"{table.path} of release {release.version} no longer renders to the file "
                    f"it was published with ({release.files.get(table.path)})."
                )
        archive.writestr(
            _zip_info("datapackage.json", release),
            json.dumps(
                descriptor(release, url=url, citation=citation), ensure_ascii=False, indent=2
            ),
        )


class _Unclosable(io.RawIOBase):
    """A raw stream over a zip entry, so that a buffer batches the small writes of rows."""

    def __init__(self, entry):
        self._entry = entry

    def writable(self):
        return True

    def write(self, data):
        self._entry.write(data)
        return len(data)


def package_file(release: Release, **kwargs) -> tempfile.SpooledTemporaryFile:
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    write_package(release, spool, **kwargs)
    spool.seek(0)
    return spool


# --------------------------------------------------------------------------- the workbook


def _workbook_records(release: Release) -> Iterator[list]:
    """The catalog's own spreadsheet layout (one row per record, two columns per taxonomy),
    so that the workbook reads back through the importer."""
    from catalog.spreadsheet import BASE_COLUMNS, MULTI_VALUE_SEPARATOR, REASONING_SUFFIX

    from . import selectors

    taxonomies = release.taxonomies
    header = list(BASE_COLUMNS)
    for taxonomy in taxonomies:
        header += [taxonomy["name"], taxonomy["name"] + REASONING_SUFFIX]
    yield header
    names = {
        (taxonomy["slug"], node["code"]): node["name"]
        for taxonomy in taxonomies
        for node in taxonomy["nodes"]
    }
    for number, data in selectors.release_record_data(release):
        row = mitigation_row(number, data)[:-1]
        for taxonomy in taxonomies:
            placed = [c for c in data["classifications"] if c[0] == taxonomy["slug"]]
            row.append(
                MULTI_VALUE_SEPARATOR.join(
                    f"{code} {names[slug, code]}" for slug, code, _ in placed
                )
            )
            reasonings = [reasoning for _, _, reasoning in placed]
            row.append(MULTI_VALUE_SEPARATOR.join(reasonings) if any(reasonings) else "")
        yield row


def write_workbook(release: Release, target, *, citation: str = "") -> None:
    """The release as one workbook: About, Mitigations (the catalog's layout), and a sheet per
    other table, each header bold and frozen with an autofilter; every cell text."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from catalog.exports import xlsx_width

    workbook = Workbook(write_only=True)

    def text(sheet, value, *, bold=False):
        cell = WriteOnlyCell(sheet, value=ooxml_escape(make_inert(value)))
        if isinstance(value, str):
            cell.data_type = "s"
        if bold:
            cell.font = Font(bold=True)
        return cell

    def sheet_of(title: str, table: Iterable[list]):
        sheet = workbook.create_sheet(title)
        rows = iter(table)
        header = next(rows)
        for index, heading in enumerate(header, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = xlsx_width(str(heading))
        sheet.freeze_panes = "A2"
        sheet.append([text(sheet, value, bold=True) for value in header])
        count = 1
        for row in rows:
            # Plain values (made inert, so none starts with "="): openpyxl writes them as text
            # cells far faster than one cell object each (see docs/benchmarks.md, exports).
            sheet.append([ooxml_escape(make_inert(value)) for value in row])
            count += 1
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{count}"

    about = workbook.create_sheet("About")
    for line in (
        ["Release", release.version],
        ["Published", (release.published_at or timezone.now()).date().isoformat()],
        ["Records", release.counts.get("total", 0)],
        ["Licence", f"{LICENCE['title']} ({LICENCE['path']})"],
        ["Attribution", ATTRIBUTION],
        ["Cite as", citation],
        ["Notes", release.notes],
        ["Formulas", INERT_NOTE],
    ):
        about.append([text(about, line[0], bold=True), text(about, line[1])])
    sheet_of("Mitigations", _workbook_records(release))
    for table in (CLASSIFICATIONS, DOCUMENTS, TAXONOMIES, NODES):
        sheet_of(table.title[:31], _with_header(table, release))
    workbook.save(target)


def _with_header(table: Table, release: Release) -> Iterator[list]:
    yield table.header
    yield from table.rows(release)


def workbook_file(release: Release, **kwargs):
    spool = tempfile.TemporaryFile()  # noqa: SIM115  (FileResponse closes it when sent)
    write_workbook(release, spool, **kwargs)
    spool.seek(0)
    return spool
