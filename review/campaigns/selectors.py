"""Every read the campaign pages need: the campaigns a person sees, the next record for a
coder, progress, the adjudication queue, and the figures of the report."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Mod

from catalog.history import RefDescription
from catalog.models import Classification, TaxonomyNode
from catalog.roles import display_name, is_curator

from .models import Campaign, CampaignRecord, CampaignState, Coding, RecordState


def campaign_list_for(user) -> QuerySet[Campaign]:
    """Curators see every campaign; a coder the open and closed ones they code in."""
    campaigns = Campaign.objects.select_related("taxonomy").order_by("-created_at", "-id")
    if is_curator(user):
        return campaigns
    return (
        campaigns.exclude(state=CampaignState.DRAFT)
        .filter(Q(coders=user) | Q(coders_group__in=user.groups.all()))
        .distinct()
    )


def campaign_get(pk: int) -> Campaign:
    return Campaign.objects.select_related("taxonomy", "coders_group", "created_by").get(pk=pk)


# --------------------------------------------------------------------------- the queue


def records_open_to(campaign: Campaign, coder) -> QuerySet[CampaignRecord]:
    """Records that still need codes and that ``coder`` has neither coded nor skipped."""
    seen = Coding.objects.filter(campaign=campaign, coder=coder).values("record_id")
    return campaign.records.filter(state=RecordState.CODING, coded__lt=F("needed")).exclude(
        pk__in=seen
    )


def next_record(campaign: Campaign, coder) -> CampaignRecord | None:
    """The record ``coder`` codes next: among those open to them, the one with the fewest
    codes (so the work spreads over the records and no record waits long for its last
    coder while others have none), then in an order of the coder's own (so coders working at
    the same moment start on different records rather than racing for the same slots)."""
    shuffle = Mod(F("id") * 7919 + (coder.pk % 1000) * 104729, 1000003)
    return (
        records_open_to(campaign, coder)
        .select_related("mitigation__source")
        .order_by("coded", shuffle, "id")
        .first()
    )


@dataclass
class Progress:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def campaign_progress(campaign: Campaign) -> dict[str, Any]:
    """Codes given of codes needed, and records by state, in one query."""
    figures = campaign.records.aggregate(
        coded=Sum("coded"),
        needed=Sum("needed"),
        records=Count("id"),
        decided=Count("id", filter=Q(state=RecordState.DECIDED)),
        awaiting=Count("id", filter=Q(state=RecordState.CODED)),
    )
    return {
        "codes": Progress(figures["coded"] or 0, figures["needed"] or 0),
        "decided": Progress(figures["decided"], figures["records"]),
        "records": figures["records"],
        "awaiting": figures["awaiting"],
    }


def coder_progress(campaign: Campaign, coder) -> Progress:
    """What ``coder`` coded, of what they coded plus what is still open to them."""
    mine = Coding.objects.filter(campaign=campaign, coder=coder, skipped=False).count()
    return Progress(mine, mine + records_open_to(campaign, coder).count())


# --------------------------------------------------------------------------- records and codes


def codes_of(record_ids) -> dict[int, list[Coding]]:
    """Each record's codings (skips left out), coder and nodes included, in two queries."""
    codings = (
        Coding.objects.filter(record_id__in=list(record_ids), skipped=False)
        .select_related("coder")
        .prefetch_related("nodes")
        .order_by("record_id", "created_at", "id")
    )
    by_record: dict[int, list[Coding]] = defaultdict(list)
    for coding in codings:
        by_record[coding.record_id].append(coding)
    return by_record


def code_set(coding: Coding) -> frozenset[str]:
    return frozenset(node.code for node in coding.nodes.all())


def agreed_records(
    campaign: Campaign, *, exclude_coder=None
) -> list[tuple[CampaignRecord, list[TaxonomyNode]]]:
    """Coded, undecided records whose coders all gave the same codes, with those codes."""
    records = list(
        campaign.records.filter(state=RecordState.CODED)
        .select_related("mitigation", "campaign__taxonomy")
        .order_by("mitigation__number")
    )
    codings = codes_of(record.pk for record in records)
    agreed = []
    for record in records:
        theirs = codings.get(record.pk, [])
        if not theirs or (exclude_coder and any(c.coder_id == exclude_coder.pk for c in theirs)):
            continue
        sets = {code_set(coding) for coding in theirs}
        if len(sets) == 1:
            agreed.append((record, sorted(theirs[0].nodes.all(), key=lambda n: n.path)))
    return agreed


@dataclass
class QueueItem:
    record: CampaignRecord
    codings: list[Coding]
    agreed: bool
    coded_by_viewer: bool


def adjudication_queue(campaign: Campaign, viewer) -> list[QueueItem]:
    """Coded records awaiting a decision, disagreements first, each with every code."""
    records = list(
        campaign.records.filter(state=RecordState.CODED)
        .select_related("mitigation")
        .order_by("mitigation__number")
    )
    codings = codes_of(record.pk for record in records)
    items = []
    for record in records:
        theirs = codings.get(record.pk, [])
        agreed = len({code_set(coding) for coding in theirs}) == 1
        items.append(
            QueueItem(
                record=record,
                codings=theirs,
                agreed=agreed,
                coded_by_viewer=any(c.coder_id == viewer.pk for c in theirs),
            )
        )
    items.sort(key=lambda item: (item.agreed, item.record.mitigation.number))
    return items


def current_classification(mitigation, taxonomy) -> list[Classification]:
    return list(
        Classification.objects.filter(mitigation=mitigation, taxonomy=taxonomy)
        .select_related("node")
        .order_by("node__path")
    )


def other_classifications(mitigation, taxonomy) -> list[Classification]:
    return list(
        Classification.objects.filter(mitigation=mitigation)
        .exclude(taxonomy=taxonomy)
        .select_related("node", "taxonomy")
        .order_by("taxonomy__order", "node__path")
    )


def taxonomy_tree(taxonomy) -> list[TaxonomyNode]:
    """The taxonomy's nodes in tree order (a node's ``depth`` says how far to indent it)."""
    return list(TaxonomyNode.objects.filter(taxonomy=taxonomy).order_by("path"))


# --------------------------------------------------------------------------- agreement


def coding_units(campaign: Campaign) -> tuple[dict, dict, int]:
    """``units`` ({public ID: {username: codes}}) of every record with at least one code,
    ``final`` ({public ID: codes}) of the decided ones, and how many records the campaign has."""
    records = list(campaign.records.select_related("mitigation").prefetch_related("final_nodes"))
    by_pk = {record.pk: record for record in records}
    units: dict[str, dict[str, frozenset[str]]] = {}
    for record_id, codings in codes_of(by_pk).items():
        key = by_pk[record_id].mitigation.public_id
        units[key] = {coding.coder.get_username(): code_set(coding) for coding in codings}
    final = {
        record.mitigation.public_id: frozenset(node.code for node in record.final_nodes.all())
        for record in records
        if record.state == RecordState.DECIDED
    }
    return units, final, len(records)


def level_maps(taxonomy) -> dict[int, dict[str, str]]:
    """For each level of the taxonomy (1 = the top), every code → its ancestor's code at that
    level (a code above that level stands for itself)."""
    paths = list(TaxonomyNode.objects.filter(taxonomy=taxonomy).values_list("code", "path"))
    parts = {code: [p for p in path.strip("/").split("/") if p] for code, path in paths}
    deepest = max((len(chain) for chain in parts.values()), default=1)
    return {
        level: {
            code: (chain[level - 1] if len(chain) >= level else code)
            for code, chain in parts.items()
        }
        for level in range(1, deepest + 1)
    }


def _agreement():
    from . import agreement  # written by the analytics helper

    return agreement


def agreement_summary(campaign: Campaign) -> dict[str, Any]:
    """The figures of ``manage.py campaign_agreement``: at the deepest level."""
    units, final, total = coding_units(campaign)
    complete = {
        key: coders for key, coders in units.items() if len(coders) >= campaign.coders_per_record
    }
    agreement = _agreement()
    report = agreement.compute(
        units, multi_valued=campaign.taxonomy.multi_valued, final=final or None
    ).as_dict()
    return {
        "campaign": campaign.pk,
        "name": campaign.name,
        "taxonomy": campaign.taxonomy.slug,
        "records": total,
        "coded_records": len(complete),
        **report,
    }


@dataclass
class LevelFigures:
    level: int
    report: dict


@dataclass
class CampaignReport:
    levels: list[LevelFigures] = field(default_factory=list)
    per_node: list[dict] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    heat: list[dict] = field(default_factory=list)
    coders: list[dict] = field(default_factory=list)
    units: int = 0
    error: str = ""


def campaign_report(campaign: Campaign) -> CampaignReport:
    """Agreement per level and per node, the confusion table, and each coder's figures."""
    result = CampaignReport()
    units, final, _ = coding_units(campaign)
    result.units = len(units)
    try:
        agreement = _agreement()
    except ImportError:
        result.error = "The agreement statistics are not available in this installation."
        return result
    multi = campaign.taxonomy.multi_valued
    maps = level_maps(campaign.taxonomy)
    deepest = None
    for level, ancestor in sorted(maps.items()):
        cut = {
            key: {coder: agreement.at_level(codes, ancestor) for coder, codes in coders.items()}
            for key, coders in units.items()
        }
        cut_final = {key: agreement.at_level(codes, ancestor) for key, codes in final.items()}
        report = agreement.compute(cut, multi_valued=multi, final=cut_final or None).as_dict()
        result.levels.append(LevelFigures(level=level, report=report))
        deepest = report
    if deepest is None:
        return result
    nodes = {node.code: node for node in taxonomy_tree(campaign.taxonomy)}
    for code, figures in sorted((deepest.get("per_node") or {}).items()):
        result.per_node.append({"code": code, "node": nodes.get(code), **figures})
    counts = Counter()
    for code_a, code_b, count in deepest.get("confusion") or []:
        counts[(code_a, code_b)] += count
    codes = sorted(
        {a for a, _ in counts} | {b for _, b in counts},
        key=lambda code: nodes[code].path if code in nodes else code,
    )
    top = max(counts.values(), default=0)
    result.codes = codes
    result.heat = [
        {
            "code": row,
            "cells": [
                {
                    "code": column,
                    "count": counts.get((row, column), 0),
                    "shade": (
                        round(9 * counts.get((row, column), 0) / top)
                        if top and counts.get((row, column), 0)
                        else 0
                    ),
                }
                for column in codes
            ],
        }
        for row in codes
    ]
    per_coder = deepest.get("per_coder") or {}
    activity = {
        row["coder__username"]: row
        for row in Coding.objects.filter(campaign=campaign)
        .order_by()
        .values("coder__username")
        .annotate(
            n_coded=Count("id", filter=Q(skipped=False)),
            n_skipped=Count("id", filter=Q(skipped=True)),
            n_unsure=Count("id", filter=Q(unsure=True, skipped=False)),
            first=Min("created_at"),
            last=Max("created_at"),
        )
    }
    for username in sorted(set(activity) | {str(coder) for coder in per_coder}):
        row = activity.get(username, {})
        span = (row["last"] - row["first"]).total_seconds() if row else 0
        coded = row.get("n_coded", 0)
        result.coders.append(
            {
                "username": username,
                "coded": coded,
                "skipped": row.get("n_skipped", 0),
                "unsure": row.get("n_unsure", 0),
                "first": row.get("first"),
                "last": row.get("last"),
                # Codes per hour between their first and last code (None for a single one).
                "per_hour": round(3600 * (coded - 1) / span, 1) if coded > 1 and span else None,
                "agreement_with_final": (per_coder.get(username) or {}).get("agreement_with_final"),
            }
        )
    return result


# --------------------------------------------------------------------------- history credit


def campaign_ref_descriptions(keys: list[str]) -> dict[str, RefDescription]:
    """``campaign:<pk>`` for readers of a record's history: the campaign's name (its pages
    are for curators and coders, so no public link)."""
    ids = [int(key) for key in keys if key.isdigit()]
    names = dict(Campaign.objects.filter(pk__in=ids).values_list("pk", "name"))
    return {
        str(pk): RefDescription(
            label=f"campaign #{pk} “{name}”",
            staff_url=None,
        )
        for pk, name in names.items()
    }


def codings_for_export(campaign: Campaign):
    """Every coding, one row per record, coder and code (skips as one row without a code)."""
    codings = (
        Coding.objects.filter(campaign=campaign)
        .select_related("record__mitigation", "coder")
        .prefetch_related("nodes")
        .order_by("record__mitigation__number", "coder__username")
    )
    for coding in codings:
        codes = sorted(node.code for node in coding.nodes.all()) or [""]
        for code in codes:
            yield {
                "record": coding.record.mitigation.public_id,
                "coder": coding.coder.get_username(),
                "code": code,
                "reasoning": coding.reasoning,
                "unsure": "yes" if coding.unsure else "",
                "skipped": "yes" if coding.skipped else "",
                "coded_at": coding.created_at.isoformat(),
            }


def display_coders(codings: list[Coding]) -> str:
    return ", ".join(display_name(coding.coder) for coding in codings)
