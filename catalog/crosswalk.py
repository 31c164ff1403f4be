"""Crosswalks: how the records at each node of one taxonomy are classified in another.

A matrix of the nodes of taxonomy A (rows) against the nodes of taxonomy B (columns); each
cell counts the active mitigations classified at that row's node *or below it* in A and at
that column's node or below it in B, which is exactly what the list ``/mitigations/``
filtered by both nodes shows (its node filters include descendants), so every cell links to
the list of its records. Beside the cells: each row's total in A and how many of those have
no classification in B at all ("not in B", the gaps of a mapping), and the same for columns.
This is how a mapping from one version of a taxonomy to the next (v1 → v2) is documented and
checked.

The counts come from one query (every classification in A or B of an active record) and are
kept in the cache under the catalog version (``catalog.version.cached``), so a page costs the
taxonomies, their nodes and the version while the catalog does not change.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.urls import reverse

from . import selectors
from .coverage import LegendStep, legend_for, step_for
from .filters import list_url, node_label, taxonomy_param
from .models import Classification, Mitigation, Taxonomy, TaxonomyNode
from .version import cached


class CrosswalkNotFound(LookupError):
    """No such taxonomy, or the same one twice: the page does not exist (404)."""


class CrosswalkError(ValueError):
    """A parameter cannot be used; the message names it (400)."""


@dataclass
class Counts:
    """The crosswalk's numbers, by node id: plain data, so the cache can keep it."""

    cells: dict[tuple[int, int], int] = field(default_factory=dict)
    row_totals: dict[int, int] = field(default_factory=dict)
    row_unmatched: dict[int, int] = field(default_factory=dict)
    column_totals: dict[int, int] = field(default_factory=dict)
    column_unmatched: dict[int, int] = field(default_factory=dict)
    in_rows: int = 0  # active records classified in A
    in_columns: int = 0  # … in B
    in_both: int = 0

    @property
    def only_in_rows(self) -> int:
        return self.in_rows - self.in_both

    @property
    def only_in_columns(self) -> int:
        return self.in_columns - self.in_both


def _lineage(nodes: list[TaxonomyNode]) -> dict[int, list[int]]:
    """node id -> the ids of the node and its ancestors."""
    by_path = {node.path: node.pk for node in nodes}
    lineage = {}
    for node in nodes:
        parts = [part for part in node.path.split("/") if part]
        lineage[node.pk] = [
            by_path[path]
            for depth in range(1, len(parts) + 1)
            if (path := "/" + "/".join(parts[:depth]) + "/") in by_path
        ]
    return lineage


def crosswalk_counts(rows: Taxonomy, columns: Taxonomy) -> Counts:
    """The counts for ``rows`` x ``columns`` (each with its ``node_list``), in one query.

    A record counts once per cell however many of its nodes sit in the cell's two subtrees.
    """
    row_lineage = _lineage(rows.node_list)
    column_lineage = _lineage(columns.node_list)
    placements = (
        Classification.objects.filter(
            taxonomy__in=[rows.pk, columns.pk], mitigation__status=Mitigation.Status.ACTIVE
        )
        .order_by()
        .values_list("mitigation_id", "taxonomy_id", "node_id")
    )
    in_rows: dict[int, set[int]] = defaultdict(set)
    in_columns: dict[int, set[int]] = defaultdict(set)
    for mitigation_id, taxonomy_id, node_id in placements:
        if taxonomy_id == rows.pk:
            in_rows[mitigation_id].update(row_lineage.get(node_id, ()))
        else:
            in_columns[mitigation_id].update(column_lineage.get(node_id, ()))

    counts = Counts(in_rows=len(in_rows), in_columns=len(in_columns))
    cells: dict[tuple[int, int], int] = defaultdict(int)
    row_totals: dict[int, int] = defaultdict(int)
    row_unmatched: dict[int, int] = defaultdict(int)
    column_totals: dict[int, int] = defaultdict(int)
    column_unmatched: dict[int, int] = defaultdict(int)
    for mitigation_id, row_nodes in in_rows.items():
        column_nodes = in_columns.get(mitigation_id)
        for row_node in row_nodes:
            row_totals[row_node] += 1
            if not column_nodes:
                row_unmatched[row_node] += 1
                continue
            for column_node in column_nodes:
                cells[row_node, column_node] += 1
        if column_nodes:
            counts.in_both += 1
    for mitigation_id, column_nodes in in_columns.items():
        for column_node in column_nodes:
            column_totals[column_node] += 1
            if mitigation_id not in in_rows:
                column_unmatched[column_node] += 1
    counts.cells = dict(cells)
    counts.row_totals = dict(row_totals)
    counts.row_unmatched = dict(row_unmatched)
    counts.column_totals = dict(column_totals)
    counts.column_unmatched = dict(column_unmatched)
    return counts


@dataclass
class Cell:
    count: int
    step: int
    url: str
    description: str


@dataclass
class Column:
    node: TaxonomyNode
    label: str
    url: str
    total: int
    unmatched: int


@dataclass
class Row:
    node: TaxonomyNode
    label: str
    cells: list[Cell]
    total: int
    total_url: str
    unmatched: int
    is_group: bool


@dataclass
class Option:
    label: str
    selected: bool
    url: str


@dataclass
class Crosswalk:
    rows_taxonomy: Taxonomy
    columns_taxonomy: Taxonomy
    depth: int
    column_depth: int
    rows: list[Row]
    columns: list[Column]
    highest: int
    legend: list[LegendStep]
    counts: Counts
    depth_options: list[Option] = field(default_factory=list)
    column_depth_options: list[Option] = field(default_factory=list)
    partner_options: list[Option] = field(default_factory=list)
    swap_url: str = ""

    @property
    def query(self) -> str:
        return urlencode({"depth": self.depth, "column_depth": self.column_depth})

    @property
    def csv_url(self) -> str:
        slugs = (self.rows_taxonomy.slug, self.columns_taxonomy.slug)
        return f"{crosswalk_url(*slugs, 'csv')}?{self.query}"

    @property
    def json_url(self) -> str:
        slugs = (self.rows_taxonomy.slug, self.columns_taxonomy.slug)
        return f"{crosswalk_url(*slugs, 'json')}?{self.query}"

    def as_json(self) -> dict:
        """The matrix as shown, for ``crosswalk.json``: nodes by code, counts, list links."""
        return {
            "rows_taxonomy": _taxonomy_json(self.rows_taxonomy),
            "columns_taxonomy": _taxonomy_json(self.columns_taxonomy),
            "depth": self.depth,
            "column_depth": self.column_depth,
            "records_in_rows_taxonomy": self.counts.in_rows,
            "records_in_columns_taxonomy": self.counts.in_columns,
            "records_in_both": self.counts.in_both,
            "records_only_in_rows_taxonomy": self.counts.only_in_rows,
            "records_only_in_columns_taxonomy": self.counts.only_in_columns,
            "columns": [
                {
                    "code": column.node.code,
                    "name": column.node.name,
                    "total": column.total,
                    "not_in_rows_taxonomy": column.unmatched,
                    "url": column.url,
                }
                for column in self.columns
            ],
            "rows": [
                {
                    "code": row.node.code,
                    "name": row.node.name,
                    "total": row.total,
                    "not_in_columns_taxonomy": row.unmatched,
                    "url": row.total_url,
                    "cells": {
                        column.node.code: {"count": cell.count, "url": cell.url}
                        for column, cell in zip(self.columns, row.cells, strict=True)
                        if cell.count
                    },
                }
                for row in self.rows
            ],
        }

    def as_table(self) -> list[list]:
        """The matrix as spreadsheet rows (header, one row per node, the column totals)."""
        rows_name, columns_name = self.rows_taxonomy.name, self.columns_taxonomy.name
        table: list[list] = [
            [
                "Code",
                rows_name,
                *(column.label for column in self.columns),
                "All",
                f"Not in {columns_name}",
            ]
        ]
        for row in self.rows:
            table.append(
                [
                    row.node.code,
                    row.node.name,
                    *(cell.count for cell in row.cells),
                    row.total,
                    row.unmatched,
                ]
            )
        counts = self.counts
        totals = (column.total for column in self.columns)
        table.append(["", "All", *totals, counts.in_rows, counts.only_in_rows])
        unmatched = (column.unmatched for column in self.columns)
        table.append(["", f"Not in {rows_name}", *unmatched, counts.only_in_columns, ""])
        return table


def _taxonomy_json(taxonomy: Taxonomy) -> dict:
    return {"slug": taxonomy.slug, "name": taxonomy.name, "version": taxonomy.version}


def crosswalk_url(rows: str, columns: str, download: str = "") -> str:
    """The page, or with ``download`` ("csv", "json") its download."""
    name = f"taxonomy-crosswalk-{download}" if download else "taxonomy-crosswalk"
    return reverse(f"catalog:{name}", kwargs={"slug": rows, "other": columns})


def _level(value: str | None, name: str, deepest: int) -> int:
    if not value:
        return deepest
    try:
        level = int(value)
    except ValueError:
        level = 0
    if not 1 <= level <= deepest:
        raise CrosswalkError(f"{name}: “{value}” is not a level; choose 1 to {deepest}.")
    return level


def _depth_label(level: int, deepest: int) -> str:
    if level == deepest:
        return "All levels"
    return {1: "Categories", 2: "Subcategories"}.get(level, f"Level {level}")


def crosswalk(
    rows: str, columns: str, *, depth: str | None = None, column_depth: str | None = None
) -> Crosswalk:
    """The crosswalk of taxonomy ``rows`` (slug) against ``columns``, to ``depth`` levels of
    the rows and ``column_depth`` levels of the columns (default: all).

    Raises :class:`CrosswalkNotFound` for an unknown slug or the same taxonomy twice, and
    :class:`CrosswalkError` naming a level parameter that cannot be used. Four queries when
    the counts are in the cache (taxonomies, nodes, version, cache) and one for the picker.
    """
    if rows == columns:
        raise CrosswalkNotFound("A crosswalk needs two different taxonomies.")
    found = {t.slug: t for t in Taxonomy.objects.filter(slug__in=[rows, columns])}
    missing = [slug for slug in (rows, columns) if slug not in found]
    if missing:
        raise CrosswalkNotFound(f"No taxonomy {missing[0]}.")
    rows_taxonomy, columns_taxonomy = selectors.taxonomy_list_with_nodes(
        [found[rows], found[columns]]
    )
    row_deepest = max((node.depth for node in rows_taxonomy.node_list), default=0) + 1
    column_deepest = max((node.depth for node in columns_taxonomy.node_list), default=0) + 1
    depth_value = _level(depth, "depth", row_deepest)
    column_depth_value = _level(column_depth, "column_depth", column_deepest)

    counts = cached(
        "crosswalk",
        lambda: crosswalk_counts(rows_taxonomy, columns_taxonomy),
        parts=(rows_taxonomy.pk, columns_taxonomy.pk),
    )
    row_param = taxonomy_param(rows_taxonomy)
    column_param = taxonomy_param(columns_taxonomy)
    shown_columns = [n for n in columns_taxonomy.node_list if n.depth < column_depth_value]
    columns_list = [
        Column(
            node=node,
            label=node_label(node, columns_taxonomy),
            url=list_url([(column_param, node.code)]),
            total=counts.column_totals.get(node.pk, 0),
            unmatched=counts.column_unmatched.get(node.pk, 0),
        )
        for node in shown_columns
    ]
    shown_rows = [n for n in rows_taxonomy.node_list if n.depth < depth_value]
    highest = max(
        (counts.cells.get((r.pk, c.pk), 0) for r in shown_rows for c in shown_columns), default=0
    )
    table_rows = []
    for node in shown_rows:
        label = node_label(node, rows_taxonomy)
        cells = []
        for column in columns_list:
            count = counts.cells.get((node.pk, column.node.pk), 0)
            cells.append(
                Cell(
                    count=count,
                    step=step_for(count, highest),
                    url=list_url([(row_param, node.code), (column_param, column.node.code)]),
                    description=f"{label} × {column.label}",
                )
            )
        table_rows.append(
            Row(
                node=node,
                label=label,
                cells=cells,
                total=counts.row_totals.get(node.pk, 0),
                total_url=list_url([(row_param, node.code)]),
                unmatched=counts.row_unmatched.get(node.pk, 0),
                is_group=depth_value > 1 and node.depth < depth_value - 1,
            )
        )

    result = Crosswalk(
        rows_taxonomy=rows_taxonomy,
        columns_taxonomy=columns_taxonomy,
        depth=depth_value,
        column_depth=column_depth_value,
        rows=table_rows,
        columns=columns_list,
        highest=highest,
        legend=legend_for(highest),
        counts=counts,
    )
    page = crosswalk_url(rows, columns)
    result.depth_options = [
        Option(
            _depth_label(level, row_deepest),
            level == depth_value,
            f"{page}?{urlencode({'depth': level, 'column_depth': column_depth_value})}",
        )
        for level in range(1, row_deepest + 1)
    ]
    result.column_depth_options = [
        Option(
            _depth_label(level, column_deepest),
            level == column_depth_value,
            f"{page}?{urlencode({'depth': depth_value, 'column_depth': level})}",
        )
        for level in range(1, column_deepest + 1)
    ]
    swapped = urlencode({"depth": column_depth_value, "column_depth": depth_value})
    result.swap_url = f"{crosswalk_url(columns, rows)}?{swapped}"
    result.partner_options = [
        Option(partner.name, partner.pk == columns_taxonomy.pk, crosswalk_url(rows, partner.slug))
        for partner in crosswalk_partners(rows_taxonomy)
    ]
    return result


def crosswalk_partners(taxonomy: Taxonomy) -> list[Taxonomy]:
    """The taxonomies ``taxonomy``'s page offers a crosswalk with (the public ones but itself)."""
    return list(selectors.taxonomy_list_public().exclude(pk=taxonomy.pk))
