"""Every read the review pages need, as tuned querysets or small plain structures."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet

from catalog.models import Classification, Mitigation, SourceDocument

from . import changes as proposal_changes
from .models import (
    IN_REVIEW,
    OPEN,
    QUEUE,
    Comment,
    Proposal,
    ProposalApproval,
    ProposalBatch,
    ProposalEvent,
    ProposalState,
    ProposalUpload,
)


def _with_people() -> QuerySet:
    return Proposal.objects.select_related(
        "author", "mitigation", "source_document", "taxonomy", "claimed_by", "decided_by"
    )


def _with_approval_count(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(
        approval_count=Count("approvals", filter=Q(approvals__revision=F("revision")))
    )


# --------------------------------------------------------------------------- lists


def proposal_list_queue() -> QuerySet:
    """Submitted, undecided proposals, oldest submission first (filters narrow it)."""
    return _with_approval_count(
        _with_people().select_related("batch").filter(state__in=QUEUE)
    ).order_by("submitted_at", "pk")


@dataclass
class QueueCounts:
    submitted: int
    resubmitted: int
    changes_requested: int
    unclaimed: int
    mine: int

    @property
    def awaiting_review(self) -> int:
        return self.submitted + self.resubmitted


def proposal_queue_counts(user) -> QueueCounts:
    """The figures on top of the queue, in one query."""
    counts = Proposal.objects.aggregate(
        submitted=Count("pk", filter=Q(state=ProposalState.SUBMITTED)),
        resubmitted=Count("pk", filter=Q(state=ProposalState.RESUBMITTED)),
        changes_requested=Count("pk", filter=Q(state=ProposalState.CHANGES_REQUESTED)),
        unclaimed=Count("pk", filter=Q(state__in=IN_REVIEW, claimed_by__isnull=True)),
        mine=Count("pk", filter=Q(state__in=IN_REVIEW, claimed_by=user)),
    )
    return QueueCounts(**counts)


def proposal_list_for_author(user) -> QuerySet:
    """A contributor's own proposals, newest first, decided ones with their note."""
    return _with_approval_count(
        _with_people().select_related("batch").filter(author=user)
    ).order_by("-updated_at", "-pk")


def proposal_list_approved_for_mitigation(mitigation: Mitigation) -> QuerySet:
    """The approved proposals that shaped a record, most recent decision first."""
    return (
        Proposal.objects.filter(mitigation=mitigation, state=ProposalState.APPROVED)
        .select_related("author", "decided_by", "taxonomy", "mitigation")
        .order_by("-decided_at", "-pk")
    )


def proposal_count_open_for_mitigation(mitigation: Mitigation) -> int:
    return Proposal.objects.filter(mitigation=mitigation, state__in=QUEUE).count()


@dataclass
class RecordPanel:
    approved: list[Proposal]
    open_count: int


def proposal_panel_for_mitigation(mitigation: Mitigation) -> RecordPanel:
    """What a record's page shows about its proposals, in one query.

    Approved proposals come whole (they are listed); open ones only as ids (they are counted).
    """
    rows = list(
        Proposal.objects.filter(mitigation=mitigation, state__in=(ProposalState.APPROVED, *QUEUE))
        .select_related("author", "decided_by", "taxonomy")
        .order_by("-decided_at", "-pk")
    )
    approved = [p for p in rows if p.state == ProposalState.APPROVED]
    return RecordPanel(approved=approved, open_count=len(rows) - len(approved))


# --------------------------------------------------------------------------- one proposal


def proposal_get_for_page(pk: int) -> Proposal | None:
    """One proposal with its people, events, comments and approvals (a query for each)."""
    return (
        _with_people()
        .select_related("mitigation__merged_into", "mitigation__source", "batch")
        .prefetch_related(
            Prefetch(
                "events",
                queryset=ProposalEvent.objects.select_related("actor").order_by("created_at", "pk"),
            ),
            Prefetch(
                "comments",
                queryset=Comment.objects.select_related("author").order_by("created_at", "pk"),
            ),
            Prefetch(
                "approvals",
                queryset=ProposalApproval.objects.select_related("curator").order_by("created_at"),
            ),
        )
        .filter(pk=pk)
        .first()
    )


def proposal_history_rows(proposal: Proposal) -> list:
    """The catalog history rows an applied proposal wrote (record and classifications)."""
    if proposal.state != ProposalState.APPROVED:
        return []
    ref = f"proposal:{proposal.pk}"
    if proposal.source_document_id:
        return list(SourceDocument.history.filter(history_ref=ref).select_related("history_user"))
    if not proposal.mitigation_id:
        return []
    rows = list(Mitigation.history.filter(history_ref=ref).select_related("history_user"))
    rows += list(
        Classification.history.filter(history_ref=ref).select_related(
            "history_user", "node", "taxonomy"
        )
    )
    return sorted(rows, key=lambda row: (row.history_date, row.history_id))


def proposal_get(pk: int) -> Proposal | None:
    return _with_people().filter(pk=pk).first()


@dataclass
class Overlap:
    proposal: Proposal
    keys: list[str]

    @property
    def labels(self) -> str:
        taxonomy = self.proposal.taxonomy
        taxonomies = {taxonomy.pk: taxonomy} if taxonomy is not None else {}
        return overlap_labels(self.keys, taxonomies)


def proposal_overlaps(proposals: list[Proposal]) -> dict[int, list[Overlap]]:
    """For each open proposal, the other open ones on its record touching the same fields.

    One query whatever the number of proposals: all open proposals on the records concerned.
    """
    mitigation_ids = {p.mitigation_id for p in proposals if p.mitigation_id and p.is_open}
    if not mitigation_ids:
        return {}
    others = list(
        Proposal.objects.filter(mitigation_id__in=mitigation_ids, state__in=OPEN)
        .exclude(state=ProposalState.DRAFT)
        .select_related("author", "mitigation", "taxonomy")
    )
    found: dict[int, list[Overlap]] = {}
    for proposal in proposals:
        if not proposal.is_open or not proposal.mitigation_id:
            continue
        mine = proposal_changes.touched_keys(proposal.kind, proposal.changes, proposal.taxonomy_id)
        for other in others:
            if other.pk == proposal.pk or other.mitigation_id != proposal.mitigation_id:
                continue
            theirs = proposal_changes.touched_keys(other.kind, other.changes, other.taxonomy_id)
            shared = proposal_changes.overlap(mine, theirs)
            if shared:
                found.setdefault(proposal.pk, []).append(Overlap(other, sorted(shared)))
    return found


def overlap_labels(keys: list[str], taxonomies: dict) -> str:
    labels = []
    for key in keys:
        if key == proposal_changes.EVERYTHING:
            labels.append("the whole record")
        else:
            labels.append(proposal_changes.lower_first(proposal_changes.key_label(key, taxonomies)))
    return ", ".join(labels)


# --------------------------------------------------------------------------- batches and uploads


def proposal_batch_get(pk: int) -> ProposalBatch | None:
    """One batch with its author and the upload it came from."""
    return ProposalBatch.objects.select_related("created_by", "upload").filter(pk=pk).first()


def proposal_list_for_batch(batch: ProposalBatch) -> QuerySet:
    """A batch's proposals in the order of the spreadsheet's rows, with approval counts."""
    return _with_approval_count(_with_people().filter(batch=batch)).order_by("batch_row", "pk")


@dataclass
class BatchCounts:
    total: int
    in_review: int
    awaiting_user: int  # in review without the user's approval of the current revision
    changes_requested: int
    approved: int
    rejected: int
    withdrawn: int


def proposal_batch_counts(batch: ProposalBatch, user) -> BatchCounts:
    """How many of a batch's proposals are in each state, in one query."""
    approved_by_user = ProposalApproval.objects.filter(
        proposal=OuterRef("pk"),
        curator_id=getattr(user, "pk", None),
        revision=OuterRef("revision"),
    )
    counts = Proposal.objects.filter(batch=batch).aggregate(
        total=Count("pk"),
        in_review=Count("pk", filter=Q(state__in=IN_REVIEW)),
        awaiting_user=Count("pk", filter=Q(state__in=IN_REVIEW) & ~Exists(approved_by_user)),
        changes_requested=Count("pk", filter=Q(state=ProposalState.CHANGES_REQUESTED)),
        approved=Count("pk", filter=Q(state=ProposalState.APPROVED)),
        rejected=Count("pk", filter=Q(state=ProposalState.REJECTED)),
        withdrawn=Count("pk", filter=Q(state=ProposalState.WITHDRAWN)),
    )
    return BatchCounts(**counts)


def proposal_batch_list_in_review(limit: int = 20) -> list[ProposalBatch]:
    """Batches with proposals awaiting review, oldest first, each with that number."""
    return list(
        ProposalBatch.objects.annotate(
            in_review=Count("proposals", filter=Q(proposals__state__in=IN_REVIEW))
        )
        .filter(in_review__gt=0)
        .select_related("created_by")
        .order_by("created_at", "pk")[:limit]
    )


def proposal_upload_get(pk: int) -> ProposalUpload | None:
    return ProposalUpload.objects.select_related("created_by", "batch").filter(pk=pk).first()


def proposal_upload_list_for_user(user, limit: int = 20) -> list[ProposalUpload]:
    """A person's most recent spreadsheet uploads."""
    return list(
        ProposalUpload.objects.filter(created_by=user)
        .select_related("batch")
        .order_by("-created_at", "-pk")[:limit]
    )


# --------------------------------------------------------------------------- duplicates


@dataclass
class Similar:
    mitigation: Mitigation
    score: float


_WORD = re.compile(r"[\w-]+", re.UNICODE)
_STOPWORDS = {"and", "the", "for", "with", "of", "to", "in", "on", "a", "an", "by", "or", "ai"}


def _stems(text: str) -> set[str]:
    """Words of three letters or more, cut to six so that "training" meets "trainings"."""
    return {w[:6] for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOPWORDS}


def mitigation_list_similar(name: str, *, limit: int = 5, exclude_pk: int | None = None):
    """Existing mitigations whose names look like ``name``, most similar first.

    PostgreSQL: trigram similarity (pg_trgm, served by a GIN trigram index on the name).
    Elsewhere: the records sharing a word stem with ``name``, ranked by the share of stems.
    """
    name = " ".join((name or "").split())[:500]
    if len(name) < 3:
        return []
    base = Mitigation.objects.exclude(status=Mitigation.Status.MERGED).select_related("source")
    if exclude_pk:
        base = base.exclude(pk=exclude_pk)
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import TrigramSimilarity

        rows = (
            base.filter(name__trigram_similar=name)
            .annotate(score=TrigramSimilarity("name", name))
            .order_by("-score", "number")[:limit]
        )
        return [Similar(m, round(m.score, 2)) for m in rows]
    stems = _stems(name)
    if not stems:
        return []
    matching = Q()
    for stem in stems:
        matching |= Q(name__icontains=stem)
    scored = []
    for mitigation in base.filter(matching)[:200]:
        theirs = _stems(mitigation.name)
        shared = stems & theirs
        if not shared:
            continue
        score = len(shared) / len(stems | theirs)
        if score >= 0.3:
            scored.append(Similar(mitigation, round(score, 2)))
    scored.sort(key=lambda s: (-s.score, s.mitigation.number))
    return scored[:limit]


@dataclass
class SimilarSource:
    source: SourceDocument
    reasons: list[str]  # "the same DOI", "the same address", "a similar title (0.8)"


_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://(?:www\.)?", re.IGNORECASE)
SIMILAR_TITLE = 0.6


def normalise_doi(doi: str) -> str:
    """``https://doi.org/10.1/X``, ``doi:10.1/x`` and ``10.1/X`` are one DOI (case-blind)."""
    return _DOI_PREFIX.sub("", (doi or "").strip()).strip().casefold()


def normalise_url(url: str) -> str:
    """An address without its scheme, ``www.``, fragment and trailing slash, case-blind."""
    url = _URL_SCHEME.sub("", (url or "").strip()).split("#", 1)[0]
    return url.rstrip("/").casefold()


def source_list_similar(
    *, title: str = "", url: str = "", doi: str = "", exclude_pk: int | None = None, limit: int = 5
) -> list[SimilarSource]:
    """Source documents that may be the one described: the same DOI, the same address, or a
    title sharing most of its words (the same stems as :func:`mitigation_list_similar`). The
    documents are few (tens to thousands), so one query reads them all."""
    doi, url = normalise_doi(doi), normalise_url(url)
    stems = _stems(" ".join((title or "").split())[:500])
    found = []
    rows = SourceDocument.objects.order_by("short_ref")
    if exclude_pk:
        rows = rows.exclude(pk=exclude_pk)
    for source in rows.only("pk", "short_ref", "title", "url", "doi", "year"):
        reasons = []
        if doi and normalise_doi(source.doi) == doi:
            reasons.append("the same DOI")
        if url and normalise_url(source.url) == url:
            reasons.append("the same address")
        theirs = _stems(source.title)
        if stems and theirs:
            score = len(stems & theirs) / len(stems | theirs)
            if score >= SIMILAR_TITLE:
                reasons.append(f"a similar title ({score:.2f})")
        if reasons:
            found.append(SimilarSource(source, reasons))
    found.sort(key=lambda s: (-len(s.reasons), s.source.short_ref))
    return found[:limit]


def proposal_possible_source_duplicates(proposal: Proposal) -> list[SimilarSource]:
    """For a proposed new source document: the documents it may duplicate, found as the form
    found them when it warned the author, the document the proposal created left out."""
    from .models import ProposalKind

    if proposal.kind != ProposalKind.NEW_SOURCE:
        return []
    changes = proposal.changes
    return source_list_similar(
        title=changes.get("title", ""),
        url=changes.get("url", ""),
        doi=changes.get("doi", ""),
        exclude_pk=proposal.source_document_id,
    )


# --------------------------------------------------------------------------- history credit


def proposal_ref_descriptions(keys: list[str]) -> dict:
    """``proposal:<pk>`` history references as readers see them (catalog.history describes
    references through this): "proposal #12", its public page, who proposed it and which
    curators approved the revision that was applied. Two queries for any number of keys."""
    from catalog.history import RefDescription
    from catalog.roles import display_name

    pks = [int(key) for key in keys if key.isdigit()]
    proposals = (
        Proposal.objects.filter(pk__in=pks)
        .select_related("author")
        .prefetch_related(
            Prefetch(
                "approvals",
                queryset=ProposalApproval.objects.select_related("curator").order_by(
                    "created_at", "pk"
                ),
            )
        )
    )
    described = {}
    for proposal in proposals:
        approvers = [
            display_name(approval.curator)
            for approval in proposal.approvals.all()
            if approval.revision == proposal.revision
        ]
        described[str(proposal.pk)] = RefDescription(
            label=f"proposal #{proposal.pk}",
            # A draft is its author's alone (and never applied); every other proposal is public.
            url=proposal.get_absolute_url() if proposal.state != ProposalState.DRAFT else None,
            proposed_by=display_name(proposal.author),
            approved_by=tuple(approvers),
        )
    return described


# --------------------------------------------------------------------------- deciding one by one


def proposal_next_in_queue(user, *, after: Proposal | None = None) -> Proposal | None:
    """The proposal ``user`` (a curator) would decide next: the oldest one awaiting review
    that they did not write, nobody else has claimed and they have not approved yet at its
    current revision; ``after`` (the one just decided) left out. One query."""
    queryset = (
        Proposal.objects.filter(state__in=IN_REVIEW)
        .exclude(author=user)
        .exclude(Q(claimed_by__isnull=False) & ~Q(claimed_by=user))
        .exclude(
            Exists(
                ProposalApproval.objects.filter(
                    proposal=OuterRef("pk"), curator=user, revision=OuterRef("revision")
                )
            )
        )
        .order_by("submitted_at", "pk")
    )
    if after is not None:
        queryset = queryset.exclude(pk=after.pk)
    return queryset.first()


def proposal_possible_duplicates(proposal: Proposal) -> list:
    """For a proposed new mitigation: the records its name resembles, found as the form found
    them when it warned the author (see :func:`mitigation_list_similar`), the record the
    proposal created left out."""
    from .models import ProposalKind

    if proposal.kind != ProposalKind.NEW:
        return []
    return mitigation_list_similar(
        proposal.changes.get("name", ""), exclude_pk=proposal.mitigation_id
    )
