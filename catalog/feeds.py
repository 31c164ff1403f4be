"""Atom feeds of what changed in the catalog (Django's syndication framework).

``/feed/`` lists the latest applied changes, newest first, read from the history tables:
new records, edits, reclassifications, retirements, merges and restorations (one entry per
record and unit of work, as on the record's page) and imports (one entry per import batch,
and one when a batch is reverted). It narrows with the public list's own parameters, through
its FilterSet::

    /feed/?airm-preliminary=3.1      records at that node or below (values of one parameter
                                     are alternatives, different parameters narrow), and
                                     reclassifications away from it
    /feed/?source=NIST2024           records from that source document
    /feed/?record=A0983              one record

Other parameters of the list (search, status, year …) are refused with a 400 naming them:
a feed follows a place in the catalog, not a query.

Other parts of the catalog add entries of their own (e.g. data releases) with
:func:`register_entry_source`: a function ``(scope, limit) -> list[Change]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.contrib.syndication.views import Feed
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.http import HttpResponseBadRequest, QueryDict
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from . import filters
from .models import (
    Classification,
    ImportBatch,
    ImportKind,
    Mitigation,
    MitigationStatus,
    format_public_id,
    parse_public_id,
)
from .timeline import FieldChange, history_row_changes

FEED_LENGTH = 50
RECORD_PARAM = "record"
SCOPE_PARAMS = ("source",)  # besides every taxonomy's parameter and ``record``
SAME_UNIT_OF_WORK = timedelta(seconds=2)
IMPORT_REFS = "import-batch"  # import-batch:N and import-batch-revert:N
LONG_VALUE = 300

KINDS = {
    "new": "new record",
    "edit": "edited",
    "reclassification": "reclassified",
    "retirement": "retired",
    "merge": "merged",
    "restore": "restored",
    "removal": "removed",
    "import": "import",
    "import-revert": "import reverted",
}


class FeedParameterError(ValueError):
    """A feed parameter that cannot be used; the message names it."""


@dataclass
class FeedScope:
    """What a feed follows: the whole catalog, a place in it, or one record."""

    base: str  # the site's address, for absolute entry ids
    params: list[tuple[str, str]] = field(default_factory=list)
    label: str = ""
    matching: QuerySet | None = None  # records in the scope now (None: all)
    # Records that left the scope count too: for each taxonomy narrowed by, its chosen
    # subtree's node ids with the records matching every *other* parameter; the same for
    # the sources.
    node_leavers: list[tuple[list[int], QuerySet]] = field(default_factory=list)
    source_leavers: tuple[list[int], QuerySet] | None = None
    record: Mitigation | None = None

    @property
    def is_whole_catalog(self) -> bool:
        return self.matching is None and self.record is None

    @property
    def page_url(self) -> str:
        """The page this feed follows."""
        if self.record is not None:
            return self.record.get_absolute_url()
        if self.params:
            return filters.list_url(self.params)
        return reverse("catalog:home")


@dataclass
class Change:
    """One entry of a feed."""

    kind: str
    when: datetime
    title: str
    link: str  # a path on this site
    guid: str  # absolute and stable
    who: str
    reason: str = ""
    ref: str = ""
    summary: str = ""
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)


EntrySource = Callable[[FeedScope, int], list[Change]]
_entry_sources: list[EntrySource] = []


def register_entry_source(source: EntrySource) -> None:
    """Add entries to every changes feed: ``source(scope, limit)`` returns up to ``limit``
    :class:`Change` entries within ``scope`` (newest first; an empty list where the scope
    does not concern it)."""
    if source not in _entry_sources:
        _entry_sources.append(source)


def changes_feed_url(params: list[tuple[str, str]] | None = None) -> str:
    """The changes feed narrowed by ``params`` (the list's parameters, or ``record``)."""
    base = reverse("catalog:feed-changes")
    return f"{base}?{urlencode(params)}" if params else base


def _node_params(filterset: filters.MitigationFilterSet) -> set[str]:
    return {
        name for name, item in filterset.filters.items() if isinstance(item, filters.NodeFilter)
    }


def feed_params(filterset: filters.MitigationFilterSet, params: QueryDict) -> list[tuple[str, str]]:
    """The part of a list page's query string (``params``, read by ``filterset``) that a
    feed can follow: its nodes and sources."""
    wanted = _node_params(filterset) | set(SCOPE_PARAMS)
    return [
        (key, value) for key in params if key in wanted for value in params.getlist(key) if value
    ]


# --------------------------------------------------------------------------- the scope


def feed_scope(params: QueryDict, *, base: str) -> FeedScope:
    """The scope the query string ``params`` asks for; FeedParameterError if it cannot."""
    scope = FeedScope(base=base.rstrip("/"))
    if RECORD_PARAM in params:
        public_id = params.get(RECORD_PARAM, "")
        number = parse_public_id(public_id)
        record = Mitigation.objects.filter(number=number).first() if number else None
        if record is None:
            raise FeedParameterError(f"{RECORD_PARAM}: no mitigation “{public_id}”.")
        scope.record = record
        scope.params = [(RECORD_PARAM, record.public_id)]
        scope.label = f" to {record.public_id} {record.name}"
        return scope

    if not params:
        return scope
    filterset = filters.MitigationFilterSet(params)
    node_params = _node_params(filterset)
    refused = [
        name
        for name in params
        if name in filterset.filters and name not in node_params and name not in SCOPE_PARAMS
    ]
    if refused:
        raise FeedParameterError(
            f"{refused[0]}: a feed narrows by taxonomy node, source or record only."
        )
    if not any(params.get(name) for name in (*node_params, *SCOPE_PARAMS)):
        return scope
    if not filterset.is_valid():
        raise FeedParameterError(" ".join(filterset.error_messages()))
    values = filterset.cleaned
    labels = []
    for taxonomy in filterset.taxonomies:
        param = filters.taxonomy_param(taxonomy)
        codes = values.get(param) or []
        if codes:
            node_filter = filterset.filters[param]
            others = filterset.filtered(Mitigation.objects.all(), without=("status", param))
            scope.node_leavers.append((node_filter.subtree_ids(codes), others))
            names = ", ".join(filters.node_label(node_filter.by_code[code]) for code in codes)
            labels.append(f"in {names}")
            scope.params += [(param, code) for code in codes]
    refs = values.get("source") or []
    if refs:
        others = filterset.filtered(Mitigation.objects.all(), without=("status", "source"))
        scope.source_leavers = ([filterset.sources_by_ref[ref].pk for ref in refs], others)
        labels.append(f"from {', '.join(refs)}")
        scope.params += [("source", ref) for ref in refs]
    scope.matching = filterset.filtered(Mitigation.objects.all(), without=("status",))
    scope.label = " " + " and ".join(labels)
    return scope


# --------------------------------------------------------------------------- reading


def _who(user) -> str:
    if user is None:
        return "system"
    return user.get_full_name() or user.get_username()


def _previous(history: QuerySet, key: str) -> Subquery:
    """The history id of the row before each row of the same object (by ``key``)."""
    earlier = Q(history_date__lt=OuterRef("history_date")) | Q(
        history_date=OuterRef("history_date"), history_id__lt=OuterRef("history_id")
    )
    return Subquery(
        history.filter(earlier, **{key: OuterRef(key)})
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )


def _mitigation_rows(scope: FeedScope, limit: int) -> list:
    history = Mitigation.history.model.objects
    rows = history.exclude(history_ref__startswith=IMPORT_REFS)
    if scope.record is not None:
        rows = rows.filter(id=scope.record.pk)
    elif scope.matching is not None:
        wanted = Q(id__in=scope.matching.order_by().values("pk"))
        if scope.source_leavers:
            source_ids, others = scope.source_leavers
            # A version of the record from the source, of a record matching the rest.
            wanted |= Q(source_id__in=source_ids, id__in=others.order_by().values("pk"))
        rows = rows.filter(wanted)
    return list(
        rows.annotate(previous_id=_previous(history.all(), "id"))
        .select_related("history_user", "source", "merged_into")
        .order_by("-history_date", "-history_id")[:limit]
    )


def _classification_rows(scope: FeedScope, limit: int) -> list:
    history = Classification.history.model.objects
    rows = history.exclude(history_ref__startswith=IMPORT_REFS)
    if scope.record is not None:
        rows = rows.filter(mitigation_id=scope.record.pk)
    elif scope.matching is not None:
        wanted = Q(mitigation_id__in=scope.matching.order_by().values("pk"))
        for node_ids, others in scope.node_leavers:
            # Every version of a classification that was ever at one of the nodes (so also
            # its move away), of a record matching the rest.
            touched = history.filter(node_id__in=node_ids).values("id")
            wanted |= Q(id__in=touched, mitigation_id__in=others.order_by().values("pk"))
        rows = rows.filter(wanted)
    return list(
        rows.annotate(previous_id=_previous(history.all(), "id"))
        .select_related("history_user", "taxonomy", "node")
        .order_by("-history_date", "-history_id")[:limit]
    )


def _previous_rows(model, rows: list) -> dict[int, object]:
    wanted = {row.previous_id for row in rows if row.previous_id}
    if not wanted:
        return {}
    related = ("source", "merged_into") if model is Mitigation else ("taxonomy", "node")
    found = model.history.model.objects.filter(history_id__in=wanted).select_related(*related)
    return {row.history_id: row for row in found}


@dataclass
class _Unit:
    mitigation_id: int
    context: tuple
    started: datetime
    rows: list = field(default_factory=list)

    def accepts(self, mitigation_id: int, context: tuple, when: datetime) -> bool:
        return (
            mitigation_id == self.mitigation_id
            and context == self.context
            and abs(when - self.started) <= SAME_UNIT_OF_WORK
        )


def _units(mitigation_rows: list, classification_rows: list) -> list[_Unit]:
    """Rows grouped by record and unit of work (same user, reason and reference, moments
    apart), oldest first."""
    tagged = [(row, row.id) for row in mitigation_rows]
    tagged += [(row, row.mitigation_id) for row in classification_rows]
    tagged.sort(key=lambda item: (item[0].history_date, item[0].history_id))
    open_units: dict[int, _Unit] = {}
    units: list[_Unit] = []
    for row, mitigation_id in tagged:
        context = (row.history_user_id, row.history_change_reason or "", row.history_ref or "")
        unit = open_units.get(mitigation_id)
        if unit is None or not unit.accepts(mitigation_id, context, row.history_date):
            unit = _Unit(mitigation_id, context, row.history_date)
            open_units[mitigation_id] = unit
            units.append(unit)
        unit.rows.append(row)
    return units


@dataclass
class _Before:
    """The previous history row of each fetched row (by the previous row's history id)."""

    records: dict[int, object]
    classifications: dict[int, object]

    def of(self, row):
        rows = self.records if isinstance(row, Mitigation.history.model) else self.classifications
        return rows.get(row.previous_id)


def _kind(record_rows: list, before: _Before, changed: bool, reclassified: bool) -> str:
    if any(row.history_type == "+" for row in record_rows):
        return "new"
    if any(row.history_type == "-" for row in record_rows):
        return "removal"
    for row in record_rows:
        previous = before.of(row)
        if previous is not None and previous.status != row.status:
            return {
                MitigationStatus.RETIRED: "retirement",
                MitigationStatus.MERGED: "merge",
                MitigationStatus.ACTIVE: "restore",
            }[row.status]
    if changed or not reclassified:
        return "edit"
    return "reclassification"


def _shorten(change: FieldChange) -> FieldChange:
    def cut(value):
        if value is None or len(value) <= LONG_VALUE:
            return value
        return value[: LONG_VALUE - 1].rstrip() + "…"

    return FieldChange(label=change.label, old=cut(change.old), new=cut(change.new))


def _record_change(unit: _Unit, scope: FeedScope, before: _Before, names: dict) -> Change:
    is_record = Mitigation.history.model
    record_rows = [row for row in unit.rows if isinstance(row, is_record)]
    per_row = [(row, history_row_changes(row, before.of(row))) for row in unit.rows]
    changed = any(changes for row, changes in per_row if isinstance(row, is_record))
    reclassified = any(not isinstance(row, is_record) for row in unit.rows)
    kind = _kind(record_rows, before, changed, reclassified)
    number, name = names[unit.mitigation_id]
    public_id = format_public_id(number)
    first = unit.rows[0]
    link = reverse("catalog:mitigation-detail", kwargs={"public_id": public_id})
    tag = "m" if isinstance(first, is_record) else "c"
    summary = (
        f"{public_id} {name} was added to the catalog."
        if kind == "new"
        else f"{public_id} {name} was {KINDS[kind]}."
    )
    return Change(
        kind=kind,
        when=unit.rows[-1].history_date,
        title=f"{public_id} {name}: {KINDS[kind]}",
        link=link,
        guid=f"{scope.base}{link}#change-{tag}{first.history_id}",
        who=_who(first.history_user),
        reason=first.history_change_reason or "",
        ref=first.history_ref or "",
        summary=summary,
        changes=[_shorten(change) for _, changes in per_row for change in changes],
    )


def record_changes(scope: FeedScope, limit: int) -> list[Change]:
    """The latest changes to records within ``scope``, newest first (six queries).

    Reads a window of the newest history rows of records and of classifications; an entry
    whose rows might reach past the window's end is left out rather than shown incomplete.
    """
    window = limit * 4
    mitigation_rows = _mitigation_rows(scope, window)
    classification_rows = _classification_rows(scope, window * 3)
    cutoffs = []
    if len(mitigation_rows) == window:
        cutoffs.append(mitigation_rows[-1].history_date)
    if len(classification_rows) == window * 3:
        cutoffs.append(classification_rows[-1].history_date)
    before = _Before(
        records=_previous_rows(Mitigation, mitigation_rows),
        classifications=_previous_rows(Classification, classification_rows),
    )
    units = _units(mitigation_rows, classification_rows)
    if cutoffs:
        complete = [unit for unit in units if unit.started > max(cutoffs) + SAME_UNIT_OF_WORK]
        units = complete or units
    units = units[-limit:]
    names = {
        pk: (number, name)
        for pk, number, name in Mitigation.objects.filter(
            pk__in={unit.mitigation_id for unit in units}
        ).values_list("pk", "number", "name")
    }
    for row in mitigation_rows:  # a record removed since: its last known name
        names.setdefault(row.id, (row.number, row.name))
    return [
        _record_change(unit, scope, before, names)
        for unit in reversed(units)
        if unit.mitigation_id in names
    ]


_IMPORT_NOUNS = {
    ImportKind.MITIGATIONS: ("mitigation", "catalog:mitigation-list"),
    ImportKind.DOCUMENTS: ("source document", "catalog:source-list"),
    ImportKind.NODES: ("taxonomy node", "catalog:taxonomy-list"),
}


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def import_changes(scope: FeedScope, limit: int) -> list[Change]:
    """Applied and reverted import batches, one entry each (one or two queries).

    A narrowed feed shows the mitigation imports that touched a record within it.
    """
    if scope.record is None and scope.matching is None:
        batches = ImportBatch.objects.all()
    else:
        touched = Mitigation.history.model.objects.filter(history_ref=OuterRef("ref_text"))
        if scope.record is not None:
            touched = touched.filter(id=scope.record.pk)
        else:
            touched = touched.filter(id__in=scope.matching.order_by().values("pk"))
        batches = (
            ImportBatch.objects.filter(kind=ImportKind.MITIGATIONS)
            .annotate(ref_text=Concat(Value("import-batch:"), Cast("pk", CharField())))
            .filter(Exists(touched))
        )
    batches = list(
        batches.filter(applied_at__isnull=False)
        .select_related("created_by", "reverted_by")
        .order_by("-applied_at", "-pk")[:limit]
    )
    changes = []
    for batch in batches:
        noun, page = _IMPORT_NOUNS.get(batch.kind, ("row", "catalog:home"))
        link = reverse(page)
        counts = f"{_plural(batch.rows_new, 'new ' + noun)}, {batch.rows_changed:,} changed"
        changes.append(
            Change(
                kind="import",
                when=batch.applied_at,
                title=f"Import of {batch.file_name}: {counts}",
                link=link,
                guid=f"{scope.base}{link}#import-{batch.pk}",
                who=_who(batch.created_by),
                reason=batch.reason,
                ref=batch.ref,
                summary=f"{batch.file_name} was imported: {counts}.",
            )
        )
        if batch.reverted_at:
            changes.append(
                Change(
                    kind="import-revert",
                    when=batch.reverted_at,
                    title=f"Import of {batch.file_name} reverted",
                    link=link,
                    guid=f"{scope.base}{link}#import-revert-{batch.pk}",
                    who=_who(batch.reverted_by),
                    reason=batch.note,
                    ref=batch.revert_ref,
                    summary=f"The import of {batch.file_name} (batch {batch.pk}) was undone.",
                )
            )
    return changes


def recent_changes(scope: FeedScope, limit: int = FEED_LENGTH) -> list[Change]:
    """Everything the feed for ``scope`` shows: the newest ``limit`` entries of every source
    (records, imports, and those registered with :func:`register_entry_source`)."""
    entries = record_changes(scope, limit) + import_changes(scope, limit)
    for source in _entry_sources:
        entries += source(scope, limit)
    entries.sort(key=lambda entry: entry.when, reverse=True)
    return entries[:limit]


# --------------------------------------------------------------------------- the feed


class ChangesFeed(Feed):
    """``/feed/``: the catalog's applied changes as Atom (see the module)."""

    feed_type = Atom1Feed
    description_template = "feeds/change_description.html"
    item_guid_is_permalink = False

    def __call__(self, request, *args, **kwargs):
        try:
            return super().__call__(request, *args, **kwargs)
        except FeedParameterError as problem:
            return HttpResponseBadRequest(f"{problem}\n", content_type="text/plain; charset=utf-8")

    def get_object(self, request):
        return feed_scope(request.GET, base=request.build_absolute_uri("/"))

    def title(self, scope: FeedScope) -> str:
        return f"AIRM Curator: changes{scope.label}"

    def subtitle(self, scope: FeedScope) -> str:
        return (
            "New records, edits, reclassifications, retirements, merges and imports, newest first."
        )

    def link(self, scope: FeedScope) -> str:
        return scope.page_url

    def feed_url(self, scope: FeedScope) -> str:
        return changes_feed_url(scope.params)

    def items(self, scope: FeedScope) -> list[Change]:
        return recent_changes(scope)

    def item_title(self, item: Change) -> str:
        return item.title

    def item_link(self, item: Change) -> str:
        return item.link

    def item_guid(self, item: Change) -> str:
        return item.guid

    def item_pubdate(self, item: Change) -> datetime:
        return item.when

    def item_updateddate(self, item: Change) -> datetime:
        return item.when

    def item_author_name(self, item: Change) -> str:
        return item.who

    def item_categories(self, item: Change) -> list[str]:
        return [item.kind_label]
