"""Every write of a campaign, and nothing else: its life (create, edit, open, close), the
codings (submit, skip), and the decisions (adjudicate, accept agreed records), which apply
the final codes to the catalog through :mod:`catalog.services`.

Each function checks the person (``permissions``), then the state (a wrong state is a
:class:`WrongState`, not a 403), and writes in one transaction. Bad input is a
:class:`~django.core.exceptions.ValidationError` naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.http import QueryDict
from django.utils import timezone

from catalog import limits
from catalog import services as catalog_services
from catalog.filters import MitigationFilterSet
from catalog.models import Mitigation, Taxonomy, TaxonomyNode
from catalog.roles import display_name

from . import permissions
from .models import (
    CODERS_GROUP,
    MAX_CODERS_PER_RECORD,
    QUERY_MAX,
    REASONING_MAX,
    Campaign,
    CampaignRecord,
    CampaignState,
    Coding,
    RecordState,
)

EDITABLE_FIELDS = (
    "name",
    "instructions",
    "taxonomy",
    "query",
    "coders_per_record",
    "coders_group",
    "blind",
    "show_suggestions",
)


class CampaignError(Exception):
    """Something that cannot happen; the message says why, for the person who tried."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotAllowed(CampaignError):
    """The person may not do this (a 403)."""


class WrongState(CampaignError):
    """The campaign or record is not in a state that allows this (someone else was faster)."""


def _allowed(verdict) -> None:
    if not verdict:
        raise NotAllowed(verdict.reason)


def _may_manage(actor) -> None:
    """``actor`` None is the operator at the command line (``manage.py campaign_*``)."""
    if actor is not None:
        _allowed(permissions.can_manage_campaigns(actor))


# --------------------------------------------------------------------------- scope


def scope_mitigations(query: str) -> QuerySet[Mitigation]:
    """The records a saved ``/mitigations/`` query string selects, through the list's own
    FilterSet; a :class:`ValidationError` on ``query`` names what is wrong."""
    query = (query or "").strip().lstrip("?")
    if len(query) > QUERY_MAX:
        raise ValidationError({"query": f"Keep the scope under {QUERY_MAX:,} characters."})
    filterset = MitigationFilterSet(QueryDict(query))
    if not filterset.is_valid():
        raise ValidationError({"query": "; ".join(filterset.error_messages())})
    return filterset.filtered().order_by("number")


def default_coders_group() -> Group:
    """The *Coders* group: its members code in every campaign that names it."""
    return Group.objects.get_or_create(name=CODERS_GROUP)[0]


# --------------------------------------------------------------------------- the campaign


def _validate(campaign: Campaign) -> None:
    campaign.query = (campaign.query or "").strip().lstrip("?")
    campaign.full_clean(exclude=["created_by"])
    scope_mitigations(campaign.query)
    if not 1 <= campaign.coders_per_record <= MAX_CODERS_PER_RECORD:
        raise ValidationError(
            {"coders_per_record": f"Between 1 and {MAX_CODERS_PER_RECORD} coders per record."}
        )


def campaign_create(
    *,
    name: str,
    taxonomy: Taxonomy,
    actor,
    query: str = "",
    instructions: str = "",
    coders_per_record: int = 2,
    coders: Iterable = (),
    coders_group: Group | None = None,
    blind: bool = False,
    show_suggestions: bool = True,
) -> Campaign:
    """A campaign in draft; without coders or a group, the *Coders* group codes."""
    _may_manage(actor)
    coders = list(coders)
    with transaction.atomic():
        if not coders and coders_group is None:
            coders_group = default_coders_group()
        campaign = Campaign(
            name=(name or "").strip(),
            instructions=instructions or "",
            taxonomy=taxonomy,
            query=query or "",
            coders_per_record=coders_per_record,
            coders_group=coders_group,
            blind=blind,
            show_suggestions=show_suggestions,
            created_by=actor,
        )
        _validate(campaign)
        campaign.save()
        campaign.coders.set(coders)
        return campaign


def campaign_update(*, campaign: Campaign, data: dict, coders=None, actor) -> Campaign:
    """Change a campaign's settings. Its target, scope and coders per record are fixed once
    it opened (the records and their codes depend on them); the rest may change any time."""
    _may_manage(actor)
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be changed here." for name in unknown})
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        fixed = {"taxonomy", "query", "coders_per_record"}
        if campaign.state != CampaignState.DRAFT:
            for name in fixed & set(data):
                value = data[name]
                current = getattr(campaign, name)
                if (value.pk if hasattr(value, "pk") else value) != (
                    current.pk if hasattr(current, "pk") else current
                ):
                    raise WrongState(
                        f"The campaign is {campaign.get_state_display().lower()}: its "
                        "taxonomy, scope and coders per record no longer change."
                    )
        for name, value in data.items():
            setattr(campaign, name, value)
        _validate(campaign)
        campaign.save()
        if coders is not None:
            campaign.coders.set(coders)
        return campaign


def campaign_open(*, campaign: Campaign, actor) -> int:
    """Open a draft (or reopen a closed) campaign for coding. The records of its scope are
    fixed as it first opens; reopening adds records that entered the scope since. Returns
    how many records were added."""
    _may_manage(actor)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.state == CampaignState.OPEN:
            raise WrongState("The campaign is open already.")
        if not campaign.coders.exists() and campaign.coders_group_id is None:
            raise ValidationError({"coders": "Name the coders (people or a group) first."})
        known = set(campaign.records.values_list("mitigation_id", flat=True))
        ids = [pk for pk in scope_mitigations(campaign.query).values_list("pk", flat=True)]
        new = [
            CampaignRecord(campaign=campaign, mitigation_id=pk, needed=campaign.coders_per_record)
            for pk in ids
            if pk not in known
        ]
        if not new and not known:
            raise ValidationError({"query": "The scope selects no records."})
        CampaignRecord.objects.bulk_create(new, batch_size=500)
        campaign.state = CampaignState.OPEN
        campaign.opened_at = campaign.opened_at or timezone.now()
        campaign.closed_at = None
        campaign.save(update_fields=["state", "opened_at", "closed_at"])
        return len(new)


def campaign_close(*, campaign: Campaign, actor) -> Campaign:
    """Stop coding; decisions and the report go on."""
    _may_manage(actor)
    with transaction.atomic():
        updated = Campaign.objects.filter(pk=campaign.pk, state=CampaignState.OPEN).update(
            state=CampaignState.CLOSED, closed_at=timezone.now()
        )
        if not updated:
            raise WrongState("Only an open campaign can be closed.")
        campaign.refresh_from_db()
        return campaign


# --------------------------------------------------------------------------- codings


def _record(campaign: Campaign, mitigation: Mitigation) -> CampaignRecord:
    try:
        return CampaignRecord.objects.select_related("mitigation").get(
            campaign=campaign, mitigation=mitigation
        )
    except CampaignRecord.DoesNotExist:
        raise ValidationError(
            {"record": f"{mitigation.public_id} is not in the campaign “{campaign.name}”."}
        ) from None


def check_codes(taxonomy: Taxonomy, nodes: Sequence[TaxonomyNode], *, field="code") -> None:
    """The taxonomy's rule: one node, or one or more for a multi-valued taxonomy."""
    if not nodes:
        raise ValidationError({field: "Pick a node of the taxonomy (or skip the record)."})
    for node in nodes:
        if node.taxonomy_id != taxonomy.pk:
            raise ValidationError({field: f"{node.code} is not a node of {taxonomy.name}."})
    if len({node.pk for node in nodes}) != len(nodes):
        raise ValidationError({field: "The same node is given twice."})
    if not taxonomy.multi_valued and len(nodes) > 1:
        raise ValidationError({field: f"{taxonomy.name} takes one node per record."})


def coding_submit(
    *,
    campaign: Campaign,
    mitigation: Mitigation,
    coder,
    nodes: Sequence[TaxonomyNode],
    reasoning: str = "",
    unsure: bool = False,
    imported: bool = False,
    actor=None,
) -> Coding:
    """Record ``coder``'s codes for a record. ``imported``: codings made elsewhere, recorded
    for ``coder`` by ``actor`` (a curator, or None at the command line), who need not be one
    of the campaign's coders.

    The record's slot is taken by a compare-and-set (``coded < needed``) that the database
    evaluates under the row's lock, and a check constraint backs it: of two coders taking the
    last slot at the same moment, one gets it and the other a :class:`WrongState`.
    """
    if imported:
        _may_manage(actor)
    else:
        _allowed(permissions.can_code(coder, campaign))
    reasoning = (reasoning or "").strip()
    if len(reasoning) > REASONING_MAX:
        message = f"Keep the reasoning under {REASONING_MAX} characters."
        raise ValidationError({"reasoning": message})
    nodes = list(nodes)
    check_codes(campaign.taxonomy, nodes)
    with transaction.atomic():
        if Campaign.objects.filter(pk=campaign.pk).values_list("state", flat=True).get() != (
            CampaignState.OPEN
        ):
            raise WrongState(f"The campaign “{campaign.name}” is not open for coding.")
        record = _record(campaign, mitigation)
        existing = Coding.objects.filter(record=record, coder=coder).first()
        if existing is not None and not existing.skipped:
            raise WrongState(f"{display_name(coder)} has coded {mitigation.public_id} already.")
        taken = CampaignRecord.objects.filter(
            pk=record.pk, state=RecordState.CODING, coded__lt=F("needed")
        ).update(coded=F("coded") + 1)
        if not taken:
            raise WrongState(
                f"{mitigation.public_id} has all the codes it needs already "
                f"({record.needed} coder{'s' if record.needed != 1 else ''})."
            )
        CampaignRecord.objects.filter(pk=record.pk, coded=F("needed")).update(
            state=RecordState.CODED
        )
        try:
            with transaction.atomic():
                if existing is None:
                    coding = Coding.objects.create(
                        campaign=campaign,
                        record=record,
                        coder=coder,
                        reasoning=reasoning,
                        unsure=unsure,
                    )
                else:
                    coding = existing
                    coding.skipped = False
                    coding.reasoning = reasoning
                    coding.unsure = unsure
                    coding.save(update_fields=["skipped", "reasoning", "unsure"])
        except IntegrityError:
            raise WrongState(
                f"{display_name(coder)} has coded {mitigation.public_id} already."
            ) from None
        coding.nodes.set(nodes)
        return coding


def coding_skip(*, campaign: Campaign, mitigation: Mitigation, coder) -> Coding:
    """Pass on a record: it leaves this coder's queue and stays for the others."""
    _allowed(permissions.can_code(coder, campaign))
    with transaction.atomic():
        if not Campaign.objects.filter(pk=campaign.pk, state=CampaignState.OPEN).exists():
            raise WrongState(f"The campaign “{campaign.name}” is not open for coding.")
        record = _record(campaign, mitigation)
        coding, created = Coding.objects.get_or_create(
            campaign=campaign, record=record, coder=coder, defaults={"skipped": True}
        )
        if not created and not coding.skipped:
            raise WrongState(f"You have coded {mitigation.public_id} already.")
        return coding


# --------------------------------------------------------------------------- decisions


def _reason(campaign: Campaign, coders: list, adjudicator, *, agreed: bool) -> str:
    names = ", ".join(display_name(coder) for coder in coders) or "nobody"
    how = "accepted as agreed" if agreed else "adjudicated"
    reason = (
        f"{campaign.ref} “{campaign.name}”: coded by {names}; {how} by {display_name(adjudicator)}"
    )
    return reason[: limits.REASON]


def record_decide(
    *,
    record: CampaignRecord,
    nodes: Sequence[TaxonomyNode],
    actor,
    note: str = "",
    agreed: bool = False,
) -> CampaignRecord:
    """Make ``nodes`` the record's final codes and its classification in the campaign's
    taxonomy: one reclassification through the catalog's services, whose history names the
    campaign (``campaign:<pk>``), the coders and the adjudicator."""
    _allowed(permissions.can_adjudicate(actor, record))
    campaign = record.campaign
    nodes = list(nodes)
    check_codes(campaign.taxonomy, nodes, field="nodes")
    note = (note or "").strip()
    if len(note) > REASONING_MAX:
        raise ValidationError({"note": f"Keep the note under {REASONING_MAX} characters."})
    with transaction.atomic():
        locked = (
            CampaignRecord.objects.select_for_update(of=("self",))
            .select_related("campaign__taxonomy", "mitigation")
            .get(pk=record.pk)
        )
        if locked.campaign.state == CampaignState.DRAFT:
            raise WrongState("The campaign is a draft.")
        if locked.state == RecordState.DECIDED:
            raise WrongState(f"{locked.mitigation.public_id} was decided already.")
        if locked.state != RecordState.CODED:
            raise WrongState(f"{locked.mitigation.public_id} still needs codes.")
        codings = list(
            locked.codings.filter(skipped=False).select_related("coder").order_by("created_at")
        )
        coders = [coding.coder for coding in codings]
        catalog_services.mitigation_reclassify(
            mitigation=locked.mitigation,
            taxonomy=locked.campaign.taxonomy,
            placements=[catalog_services.Placement(node=node, reasoning=note) for node in nodes],
            actor=actor,
            reason=_reason(locked.campaign, coders, actor, agreed=agreed),
            ref=locked.campaign.ref,
        )
        locked.state = RecordState.DECIDED
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.decision_note = note
        locked.agreed = agreed
        locked.save(update_fields=["state", "decided_by", "decided_at", "decision_note", "agreed"])
        locked.final_nodes.set(nodes)
        return locked


def records_accept_agreed(
    *, campaign: Campaign, actor, records: Iterable[CampaignRecord] | None = None
) -> list[CampaignRecord]:
    """Accept, together, the coded records whose coders all gave the same codes (those
    ``actor`` coded themselves are left for another curator). All or nothing."""
    from .selectors import agreed_records

    _may_manage(actor)
    candidates = agreed_records(campaign, exclude_coder=actor)
    if records is not None:
        wanted = {record.pk for record in records}
        candidates = [(r, nodes) for r, nodes in candidates if r.pk in wanted]
    decided = []
    with transaction.atomic():
        for record, nodes in candidates:
            decided.append(record_decide(record=record, nodes=nodes, actor=actor, agreed=True))
    return decided
