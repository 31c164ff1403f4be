"""The coverage chart: where the source frameworks cluster and where the gaps are.

A matrix of a taxonomy's categories (rows) against source documents or the nodes of a
vocabulary such as lifecycle stage or actor (columns). Each cell holds the number of active
mitigations as text, a colour from a five-step scale (with a legend), and a link to that
filtered list. Rendered on the server as an HTML table, so it prints and reads aloud as one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from urllib.parse import urlencode

from . import selectors
from .filters import list_url, taxonomy_param
from .models import SourceDocument, Taxonomy, TaxonomyNode

SOURCE_COLUMNS = "source"
STEPS = 5
DEFAULT_ROWS = "airm-preliminary"


class CoverageError(ValueError):
    """A parameter of the chart cannot be used; the message names it."""


@dataclass
class Column:
    key: int
    label: str
    title: str
    param: tuple[str, str]
    url: str = ""
    total: int = 0
    total_url: str = ""


@dataclass
class Cell:
    count: int
    step: int
    url: str
    description: str


@dataclass
class Row:
    node: TaxonomyNode
    cells: list[Cell]
    total: int
    total_url: str
    is_group: bool = False


@dataclass
class LegendStep:
    step: int
    low: int
    high: int

    @property
    def label(self) -> str:
        if self.step == 0:
            return "0"
        return str(self.low) if self.low == self.high else f"{self.low}–{self.high}"


@dataclass
class Option:
    value: str
    label: str
    selected: bool
    query: str


@dataclass
class Chart:
    rows_taxonomy: Taxonomy
    columns_label: str
    depth: int
    columns: list[Column]
    rows: list[Row]
    highest: int
    legend: list[LegendStep]
    total: int
    row_options: list[Option] = field(default_factory=list)
    column_options: list[Option] = field(default_factory=list)
    depth_options: list[Option] = field(default_factory=list)


def step_for(count: int, highest: int) -> int:
    """0 for an empty cell, else 1..STEPS in proportion to the highest count."""
    if count <= 0 or highest <= 0:
        return 0
    return max(1, min(STEPS, math.ceil(STEPS * count / highest)))


def legend_for(highest: int) -> list[LegendStep]:
    steps = [LegendStep(0, 0, 0)]
    for step in range(1, STEPS + 1):
        low = math.floor(highest * (step - 1) / STEPS) + 1
        high = math.floor(highest * step / STEPS)
        if highest and low <= high:
            steps.append(LegendStep(step, low, high))
    return steps


def _query(rows: str, by: str, depth: int) -> str:
    return urlencode({"rows": rows, "by": by, "depth": depth})


def coverage_chart(*, rows: str | None, by: str | None, depth: str | None) -> Chart:
    """The chart for the query parameters ``rows`` (a taxonomy slug), ``by`` (``source`` or a
    vocabulary slug) and ``depth`` (how many levels of the row taxonomy to show).

    Raises :class:`CoverageError` naming the parameter that cannot be used. By source:
    taxonomies, nodes, sources, the column totals and the cells, the last two from the
    tallies (:mod:`catalog.tallies`; each a probe that they are up to date and a sum over a
    few rows); the row and catalog totals are sums of those. By a vocabulary the cells are
    counted from the rows. A fixed number of queries whatever the size of the catalog.
    """
    taxonomies = selectors.taxonomy_list_with_nodes()
    by_slug = {taxonomy.slug: taxonomy for taxonomy in taxonomies}
    row_choices = [t for t in taxonomies if t.kind == Taxonomy.Kind.TAXONOMY]
    column_choices = [t for t in taxonomies if t.kind == Taxonomy.Kind.VOCABULARY]

    rows = rows or (
        DEFAULT_ROWS if DEFAULT_ROWS in by_slug else (row_choices[0].slug if row_choices else "")
    )
    rows_taxonomy = by_slug.get(rows)
    if rows_taxonomy is None or rows_taxonomy.kind != Taxonomy.Kind.TAXONOMY:
        names = ", ".join(t.slug for t in row_choices)
        raise CoverageError(f"rows: “{rows}” is not a taxonomy to chart; choose one of {names}.")
    by = by or SOURCE_COLUMNS
    columns_taxonomy = None
    if by != SOURCE_COLUMNS:
        columns_taxonomy = by_slug.get(by)
        if columns_taxonomy is None or columns_taxonomy.kind != Taxonomy.Kind.VOCABULARY:
            names = ", ".join([SOURCE_COLUMNS, *(t.slug for t in column_choices)])
            raise CoverageError(f"by: “{by}” cannot be columns; choose one of {names}.")
    deepest = max((node.depth for node in rows_taxonomy.node_list), default=0) + 1
    try:
        depth_value = int(depth) if depth else 1
    except ValueError:
        depth_value = 0
    if not 1 <= depth_value <= deepest:
        raise CoverageError(f"depth: “{depth}” is not a level; choose 1 to {deepest}.")

    row_param = taxonomy_param(rows_taxonomy)
    if columns_taxonomy is None:
        sources: list[SourceDocument] = list(selectors.source_list())
        columns = [
            Column(
                key=source.pk,
                label=source.short_ref,
                title=source.title,
                param=("source", source.short_ref),
                url=source.get_absolute_url(),
            )
            for source in sources
        ]
        column_totals = selectors.mitigation_counts_active_by_source()
        columns_label = "Source document"
    else:
        column_param = taxonomy_param(columns_taxonomy)
        columns = [
            Column(
                key=node.pk,
                label=node.name,
                title=node.definition,
                param=(column_param, node.code),
            )
            for node in columns_taxonomy.node_list
        ]
        column_totals = selectors.node_subtree_counts(
            columns_taxonomy, columns_taxonomy.node_list, selectors.with_status()
        )
        columns_label = columns_taxonomy.name
    for column in columns:
        column.total = column_totals.get(column.key, 0)
        column.total_url = list_url([column.param])
        column.url = column.url or column.total_url

    counts = selectors.coverage_counts(rows_taxonomy, columns_taxonomy)
    if columns_taxonomy is None:
        # Every record has one source, and a cell counts each record once however many nodes
        # of the row's subtree it sits at: a row's total is the sum of its cells, and the
        # catalog's the sum of the columns' (two whole-catalog counts fewer).
        row_totals: dict[int, int] = {}
        for (node_id, _key), count in counts.items():
            row_totals[node_id] = row_totals.get(node_id, 0) + count
        total = sum(column_totals.values())
    else:
        row_totals = selectors.node_subtree_counts(
            rows_taxonomy, rows_taxonomy.node_list, selectors.with_status()
        )
        total = selectors.mitigation_count_active()
    shown = [node for node in rows_taxonomy.node_list if node.depth < depth_value]
    highest = max(
        (counts.get((node.pk, column.key), 0) for node in shown for column in columns), default=0
    )
    chart_rows = []
    for node in shown:
        cells = []
        for column in columns:
            count = counts.get((node.pk, column.key), 0)
            cells.append(
                Cell(
                    count=count,
                    step=step_for(count, highest),
                    url=list_url([(row_param, node.code), column.param]),
                    description=f"{node.label} × {column.label}",
                )
            )
        chart_rows.append(
            Row(
                node=node,
                cells=cells,
                total=row_totals.get(node.pk, 0),
                total_url=list_url([(row_param, node.code)]),
                is_group=depth_value > 1 and node.depth < depth_value - 1,
            )
        )

    chart = Chart(
        rows_taxonomy=rows_taxonomy,
        columns_label=columns_label,
        depth=depth_value,
        columns=columns,
        rows=chart_rows,
        highest=highest,
        legend=legend_for(highest),
        total=total,
    )
    chart.row_options = [
        Option(t.slug, t.name, t is rows_taxonomy, _query(t.slug, by, 1)) for t in row_choices
    ]
    chart.column_options = [
        Option(
            SOURCE_COLUMNS,
            "Source document",
            by == SOURCE_COLUMNS,
            _query(rows, "source", depth_value),
        )
    ] + [
        Option(t.slug, t.name, t is columns_taxonomy, _query(rows, t.slug, depth_value))
        for t in column_choices
    ]
    chart.depth_options = [
        Option(str(level), _depth_label(level), level == depth_value, _query(rows, by, level))
        for level in range(1, deepest + 1)
    ]
    return chart


def _depth_label(level: int) -> str:
    return {1: "Categories", 2: "Subcategories"}.get(level, f"Level {level}")
