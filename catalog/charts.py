"""Small bar charts, drawn on the server: counts people would rather look at than read.

A chart is a list of bars, each with its label and count as text and a link to the list it
counts; ``includes/_bar_chart.html`` draws every bar as a small SVG rectangle whose width is a
percentage of the longest. No JavaScript, no inline style (a Content-Security-Policy can forbid
both), and the text itself carries the numbers, so a screen reader or a printout loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .filters import list_url, mitigation_list_url
from .models import SourceDocument
from .selectors import NodeCount


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    url: str
    percent: str  # the bar's width, a share of the longest bar ("42.5"), as SVG wants it
    code: str = ""
    title: str = ""


@dataclass
class BarChart:
    title: str
    bars: list[Bar] = field(default_factory=list)
    unit: str = "mitigation"

    @property
    def total(self) -> int:
        return sum(bar.count for bar in self.bars)


def _percent(count: int, highest: int) -> str:
    if highest <= 0 or count <= 0:
        return "0"
    return f"{max(100 * count / highest, 0.5):.1f}"


def bar_chart(title: str, items: list[tuple[str, int, str, str, str]]) -> BarChart:
    """A chart of ``items``: (label, count, url, code, title) each, in the order given."""
    highest = max((count for _, count, *_ in items), default=0)
    return BarChart(
        title=title,
        bars=[
            Bar(
                label=label,
                count=count,
                url=url,
                percent=_percent(count, highest),
                code=code,
                title=tooltip,
            )
            for label, count, url, code, tooltip in items
        ],
    )


def category_chart(
    title: str, counts: list[NodeCount], source: SourceDocument | None = None
) -> BarChart:
    """Records per top-level category (``counts`` from ``selectors.top_level_counts``), each
    bar linked to that category's list (within ``source`` if given)."""
    return bar_chart(
        title,
        [
            (
                item.node.name,
                item.count,
                mitigation_list_url(item.node, source=source),
                item.node.code,
                item.node.definition,
            )
            for item in counts
        ],
    )


def year_chart(title: str, counts: list[tuple[int, int]]) -> BarChart:
    """Records per year of their source, each bar linked to that year's list."""
    return bar_chart(
        title,
        [
            (str(year), count, list_url([("year_min", year), ("year_max", year)]), "", "")
            for year, count in counts
        ],
    )
