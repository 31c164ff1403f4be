"""The list's URL state: the query string of ``/mitigations/`` and links that change it.

The whole state of the list lives in its address, so any view can be shared or bookmarked;
:class:`ListState` keeps the known parameters and builds the links that toggle one value,
drop a filter or pick a year, always back to page 1.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import QueryDict
from django.urls import reverse

from ..models import SourceDocument, TaxonomyNode
from .filterset import YEAR_PARAMS, taxonomy_param


def list_url(params: list[tuple[str, str]] | None = None) -> str:
    base = reverse("catalog:mitigation-list")
    return f"{base}?{urlencode(params)}" if params else base


def mitigation_list_url(*nodes: TaxonomyNode, source: SourceDocument | None = None) -> str:
    """The list filtered to ``nodes`` (each with its ``taxonomy`` loaded) and ``source``."""
    params = [(taxonomy_param(node.taxonomy), node.code) for node in nodes]
    if source is not None:
        params.append(("source", source.short_ref))
    return list_url(params)


class ListState:
    """The list's query string, and links that change one part of it (back to page 1)."""

    def __init__(self, params: QueryDict, known: set[str]):
        self.base = reverse("catalog:mitigation-list")
        self.params = QueryDict(mutable=True)
        for key in params:
            if key in known and key != "page":
                values = [value for value in params.getlist(key) if value != ""]
                if values:
                    self.params.setlist(key, values)

    def has(self, key: str) -> bool:
        return key in self.params

    def _lists(self) -> dict[str, list[str]]:
        # A page builds a link per facet option (a hundred or more): plain dicts of lists,
        # not QueryDict.copy(), which deep-copies.
        return {key: list(values) for key, values in self.params.lists()}

    def _url(self, lists: dict[str, list[str]]) -> str:
        # What QueryDict.urlencode() gives for the same keys and values, in the same order.
        encoded = urlencode([(key, value) for key, values in lists.items() for value in values])
        return f"{self.base}?{encoded}" if encoded else self.base

    @property
    def query(self) -> str:
        return self.params.urlencode()

    def url(self) -> str:
        return self._url(self._lists())

    def toggle(
        self, key: str, value: str, default: list[str] | None = None, keep_one: bool = False
    ) -> str:
        """A link that adds ``value`` to ``key`` or takes it away.

        With ``keep_one``, the last remaining value cannot be taken away: the link is empty.
        """
        params = self._lists()
        current = params.get(key) or list(default or [])
        if value in current:
            if keep_one and current == [value]:
                return ""
            current.remove(value)
        else:
            current.append(value)
        if current and current != (default or []):
            params[key] = current
        else:
            params.pop(key, None)
        return self._url(params)

    def year(self, year: int, *, only: bool) -> str:
        params = self._lists()
        for key in YEAR_PARAMS:
            params.pop(key, None)
        if only:
            params["year_min"] = [str(year)]
            params["year_max"] = [str(year)]
        return self._url(params)

    def without(self, *keys: str) -> str:
        params = self._lists()
        for key in keys:
            params.pop(key, None)
        return self._url(params)

    def hidden_inputs(self, *, exclude: tuple[str, ...]) -> list[tuple[str, str]]:
        """The state as (name, value) pairs for hidden form inputs, minus the form's own fields."""
        return [
            (key, value)
            for key in self.params
            if key not in exclude
            for value in self.params.getlist(key)
        ]
