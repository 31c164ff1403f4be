"""Every change to a proposal, as a guarded transition (see docs/review-workflow.md).

Each transition: checks the person (:mod:`review.permissions`, :class:`NotAllowed`), locks the
proposal and checks its state (:class:`WrongState`), compares-and-sets the state, writes the
event row, applies the change where there is one, and sends email after the commit. Approval
applies the change through :mod:`catalog.services` in the same transaction as the state change,
so either both happen or neither does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog import limits
from catalog.models import Mitigation, Taxonomy
from catalog.roles import is_curator

from . import changes as proposal_changes
from . import notifications, permissions
from .models import (
    IN_REVIEW,
    OPEN,
    Comment,
    Proposal,
    ProposalApproval,
    ProposalBatch,
    ProposalEvent,
    ProposalKind,
    ProposalState,
)

Action = ProposalEvent.Action
State = ProposalState


class WorkflowError(Exception):
    """A transition that cannot happen; the message says why, for the person who tried."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotAllowed(WorkflowError):
    """The person may not take this action (a 403)."""


class WrongState(WorkflowError):
    """The proposal is not in a state that allows this action (someone else was faster)."""


class StaleBase(WorkflowError):
    """The record changed since the proposal was made; it went back to its author."""

    def __init__(self, message: str, conflicts: list[proposal_changes.FieldConflict]):
        super().__init__(message)
        self.conflicts = conflicts


# Which states each action may start from.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "edit": (State.DRAFT, State.CHANGES_REQUESTED),
    "submit": (State.DRAFT,),
    "resubmit": (State.CHANGES_REQUESTED,),
    "withdraw": OPEN,
    "approve": IN_REVIEW,
    "reject": IN_REVIEW,
    "request_changes": IN_REVIEW,
    "claim": IN_REVIEW,
    "release": IN_REVIEW,
    "comment": tuple(s for s in State.values if s != State.DRAFT),
}


def display_name(user) -> str:
    if user is None:
        return "the system"
    return user.get_full_name() or user.get_username()


def required_approvals(kind: str) -> int:
    by_kind = getattr(settings, "REVIEW_REQUIRED_APPROVALS_BY_KIND", {}) or {}
    return max(1, int(by_kind.get(kind, getattr(settings, "REVIEW_REQUIRED_APPROVALS", 1))))


# --------------------------------------------------------------------------- helpers


def _require(verdict: permissions.Verdict) -> None:
    if not verdict:
        raise NotAllowed(verdict.reason)


def _require_state(proposal: Proposal, action: str) -> None:
    if proposal.state in ALLOWED_FROM[action]:
        return
    if proposal.state in (State.APPROVED, State.REJECTED) and proposal.decided_by_id:
        done = "approved and applied" if proposal.state == State.APPROVED else "rejected"
        raise WrongState(
            f"{display_name(proposal.decided_by)} has already {done} this proposal; "
            "nothing more was done."
        )
    raise WrongState(
        f"This proposal is {proposal.get_state_display().lower()}: "
        f"it cannot be {_PAST[action]} now."
    )


_PAST = {
    "edit": "updated",
    "submit": "submitted",
    "resubmit": "resubmitted",
    "withdraw": "withdrawn",
    "approve": "approved",
    "reject": "rejected",
    "request_changes": "sent back for changes",
    "claim": "claimed",
    "release": "released",
    "comment": "commented on",
}


def _locked(proposal: Proposal) -> Proposal:
    return (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("author", "mitigation", "taxonomy", "claimed_by", "decided_by")
        .get(pk=proposal.pk)
    )


def _set_state(proposal: Proposal, to_state: str, **fields) -> None:
    """Compare-and-set: move from the state we read to ``to_state``, or fail."""
    now = timezone.now()
    updated = Proposal.objects.filter(pk=proposal.pk, state=proposal.state).update(
        state=to_state, updated_at=now, **fields
    )
    if updated != 1:
        raise WrongState("Someone else changed this proposal a moment ago: reload and look again.")
    proposal.state = to_state
    proposal.updated_at = now
    for name, value in fields.items():
        setattr(proposal, name, value)


def _log(
    proposal: Proposal, action: str, actor, *, from_state: str, note: str = ""
) -> ProposalEvent:
    return ProposalEvent.objects.create(
        proposal=proposal,
        action=action,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        from_state=from_state,
        to_state=proposal.state,
        revision=proposal.revision,
        note=note,
    )


def _note(note: str | None, *, required: str = "") -> str:
    """``note`` stripped; refused when ``required`` (the message) and empty, or too long."""
    note = (note or "").strip()
    if not note and required:
        raise ValidationError({"note": required})
    if len(note) > limits.NOTE:
        raise ValidationError(
            {"note": f"Keep the note under {limits.NOTE:,} characters (it has {len(note):,})."}
        )
    return note


def _required_note(note: str, message: str) -> str:
    return _note(note, required=message)


def _after_commit(function, *args) -> None:
    transaction.on_commit(lambda: function(*args))


# --------------------------------------------------------------------------- creating


def _prepare(*, kind, mitigation, taxonomy, changes, rationale) -> tuple[dict, str]:
    rationale = (rationale or "").strip()
    if not rationale:
        raise ValidationError({"rationale": "Say why this change should be made."})
    proposal_changes.validate(kind=kind, mitigation=mitigation, taxonomy=taxonomy, changes=changes)
    return changes, rationale


def _base(kind, mitigation, taxonomy, changes) -> dict:
    if mitigation is None:
        return {}
    keys = proposal_changes.base_keys(kind, changes, taxonomy.pk if taxonomy else None)
    return proposal_changes.snapshot(mitigation, keys, changes)


def proposal_create(
    *,
    kind: str,
    author,
    changes: dict,
    rationale: str,
    mitigation: Mitigation | None = None,
    taxonomy=None,
    source_quote: str = "",
    batch: ProposalBatch | None = None,
    submit: bool = False,
) -> Proposal:
    """A new proposal, as a draft or (``submit=True``) straight into the curators' queue."""
    _require(permissions.can_propose(author))
    with transaction.atomic():
        proposal = _create(
            kind=kind,
            author=author,
            changes=changes,
            rationale=rationale,
            mitigation=mitigation,
            taxonomy=taxonomy,
            source_quote=source_quote,
            batch=batch,
        )
        if submit:
            proposal = proposal_submit(proposal=proposal, actor=author)
    return proposal


def _create(
    *,
    kind,
    author,
    changes,
    rationale,
    mitigation,
    taxonomy,
    source_quote="",
    batch=None,
    batch_row=None,
    check_constraints=True,
) -> Proposal:
    """Validate, take the base snapshot, save a draft and log it (inside a transaction).

    ``check_constraints=False`` leaves the model's check constraints and foreign keys to the
    database (they hold all the same, as an IntegrityError): a batch of a thousand proposals
    built by our own code would otherwise spend two dozen queries on each re-checking them.
    """
    if kind == ProposalKind.NEW:
        mitigation = None
    if mitigation is not None:
        mitigation = Mitigation.objects.select_related("merged_into").get(pk=mitigation.pk)
    changes, rationale = _prepare(
        kind=kind,
        mitigation=mitigation,
        taxonomy=taxonomy,
        changes=changes,
        rationale=rationale,
    )
    proposal = Proposal(
        kind=kind,
        author=author,
        mitigation=mitigation,
        taxonomy=taxonomy if kind == ProposalKind.RECLASSIFY else None,
        batch=batch,
        batch_row=batch_row,
        changes=changes,
        base=_base(kind, mitigation, taxonomy, changes),
        rationale=rationale,
        source_quote=(source_quote or "").strip(),
    )
    if check_constraints:
        proposal.full_clean()
    else:
        proposal.full_clean(
            exclude=["author", "mitigation", "taxonomy", "batch"], validate_constraints=False
        )
    proposal.save()
    _log(proposal, Action.CREATED, author, from_state="")
    return proposal


def proposal_update(
    *, proposal: Proposal, actor, changes: dict, rationale: str, source_quote: str = ""
) -> Proposal:
    """The author revises a draft or a proposal sent back for changes, against today's record."""
    _require(permissions.can_edit(actor, proposal))
    with transaction.atomic():
        proposal = _locked(proposal)
        _require_state(proposal, "edit")
        mitigation = proposal.mitigation
        changes, rationale = _prepare(
            kind=proposal.kind,
            mitigation=mitigation,
            taxonomy=proposal.taxonomy,
            changes=changes,
            rationale=rationale,
        )
        proposal.changes = changes
        proposal.rationale = rationale
        proposal.source_quote = (source_quote or "").strip()
        proposal.base = _base(proposal.kind, mitigation, proposal.taxonomy, changes)
        proposal.full_clean()
        proposal.save(update_fields=["changes", "rationale", "source_quote", "base", "updated_at"])
        _log(proposal, Action.UPDATED, actor, from_state=proposal.state)
    return proposal


# --------------------------------------------------------------------------- the author


def proposal_submit(*, proposal: Proposal, actor) -> Proposal:
    _require(permissions.can_submit(actor, proposal))
    with transaction.atomic():
        proposal = _locked(proposal)
        _require_state(proposal, "submit")
        from_state = proposal.state
        _set_state(proposal, State.SUBMITTED, submitted_at=proposal.submitted_at or timezone.now())
        _log(proposal, Action.SUBMITTED, actor, from_state=from_state)
        _after_commit(notifications.notify_submitted, proposal.pk)
    return proposal


def proposal_resubmit(*, proposal: Proposal, actor, note: str = "") -> Proposal:
    """Back to the curators after changes; approvals given before count no more."""
    _require(permissions.can_resubmit(actor, proposal))
    note = _note(note)
    with transaction.atomic():
        proposal = _locked(proposal)
        _require_state(proposal, "resubmit")
        from_state = proposal.state
        _set_state(proposal, State.RESUBMITTED, revision=proposal.revision + 1)
        _log(proposal, Action.RESUBMITTED, actor, from_state=from_state, note=note)
        _after_commit(notifications.notify_submitted, proposal.pk)
    return proposal


def proposal_withdraw(*, proposal: Proposal, actor, note: str = "") -> Proposal:
    _require(permissions.can_withdraw(actor, proposal))
    note = _note(note)
    with transaction.atomic():
        proposal = _locked(proposal)
        _require_state(proposal, "withdraw")
        from_state = proposal.state
        _set_state(proposal, State.WITHDRAWN, claimed_by=None, claimed_at=None)
        _log(proposal, Action.WITHDRAWN, actor, from_state=from_state, note=note)
    return proposal


# --------------------------------------------------------------------------- curators


def _approval_reason(proposal: Proposal, approvers: list) -> str:
    rationale = " ".join(proposal.rationale.split())
    if len(rationale) > 500:
        rationale = rationale[:499] + "…"
    names = ", ".join(display_name(user) for user in approvers)
    return (
        f"{rationale} (proposal #{proposal.pk} by {display_name(proposal.author)}, "
        f"approved by {names})"
    )


@dataclass
class ApprovalOutcome:
    proposal: Proposal
    applied: bool
    approvals: int
    required: int
    conflicts: list = field(default_factory=list)


def proposal_approve(
    *, proposal: Proposal, actor, note: str = "", notify: bool = True
) -> ApprovalOutcome:
    """Approve; with enough distinct approvals, apply the change in the same transaction.

    Raises :class:`StaleBase` (after sending the proposal back to its author, which is kept)
    when the record changed since the proposal was made in a field it touches. ``notify=False``
    leaves the author's email to a caller that sends one for many (a batch decision).
    """
    _require(permissions.can_approve(actor, proposal))
    note = _note(note)
    with transaction.atomic():
        proposal = _locked(proposal)
        _require_state(proposal, "approve")
        if ProposalApproval.objects.filter(
            proposal=proposal, curator=actor, revision=proposal.revision
        ).exists():
            raise WrongState("You have already approved this revision.")
        mitigation = None
        if proposal.mitigation_id:
            mitigation = (
                Mitigation.objects.select_for_update(of=("self",))
                .select_related("merged_into")
                .get(pk=proposal.mitigation_id)
            )
        conflicts = proposal_changes.conflicts(proposal, mitigation)
        if conflicts:
            _send_back(proposal, actor, conflicts, notify=notify)
            outcome = ApprovalOutcome(proposal, False, 0, required_approvals(proposal.kind))
            outcome.conflicts = conflicts
        else:
            outcome = _record_approval(proposal, actor, note, notify=notify)
    if outcome.conflicts:
        raise StaleBase(
            "The record changed since this proposal was made, in "
            + ", ".join(proposal_changes.lower_first(c.label) for c in outcome.conflicts)
            + ". Nothing was applied; the proposal went back to its author to update.",
            outcome.conflicts,
        )
    return outcome


def _send_back(proposal: Proposal, actor, conflicts, *, notify: bool = True) -> None:
    from_state = proposal.state
    fields = ", ".join(proposal_changes.lower_first(c.label) for c in conflicts)
    note = (
        f"The record changed since this proposal was made ({fields}). "
        "Please update the proposal against the current record and resubmit it."
    )
    _set_state(proposal, State.CHANGES_REQUESTED, claimed_by=None, claimed_at=None)
    _log(proposal, Action.SENT_BACK, actor, from_state=from_state, note=note)
    if notify:
        _after_commit(notifications.notify_author, proposal.pk, Action.SENT_BACK, note, actor.pk)


def _record_approval(proposal: Proposal, actor, note: str, *, notify: bool) -> ApprovalOutcome:
    ProposalApproval.objects.create(proposal=proposal, curator=actor, revision=proposal.revision)
    _log(proposal, Action.APPROVED, actor, from_state=proposal.state, note=note)
    approvals = list(
        ProposalApproval.objects.filter(proposal=proposal, revision=proposal.revision)
        .select_related("curator")
        .order_by("created_at", "pk")
    )
    required = required_approvals(proposal.kind)
    if len(approvals) < required:
        return ApprovalOutcome(proposal, False, len(approvals), required)
    ref = f"proposal:{proposal.pk}"
    reason = _approval_reason(proposal, [a.curator for a in approvals])
    try:
        shaped = proposal_changes.apply(proposal, actor=actor, reason=reason, ref=ref)
    except ValidationError as error:
        raise WorkflowError(
            "The change could not be applied: " + "; ".join(_messages(error))
        ) from error
    from_state = proposal.state
    _set_state(
        proposal,
        State.APPROVED,
        mitigation=shaped,
        decided_by=actor,
        decided_at=timezone.now(),
        decision_note=note,
        claimed_by=None,
        claimed_at=None,
    )
    _log(proposal, Action.APPLIED, actor, from_state=from_state, note=f"Applied as {ref}.")
    if notify:
        _after_commit(notifications.notify_author, proposal.pk, Action.APPLIED, note, actor.pk)
    return ApprovalOutcome(proposal, True, len(approvals), required)


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "message_dict"):
        return [f"{name}: {m}" for name, items in error.message_dict.items() for m in items]
    return list(error.messages)


def proposal_reject(*, proposal: Proposal, actor, note: str, notify: bool = True) -> Proposal:
    _require(permissions.can_reject(actor, proposal))
    note = _required_note(note, "Say why the proposal is rejected.")
    with transaction.atomic():
        proposal = _locked(proposal)
        _require_state(proposal, "reject")
        from_state = proposal.state
        _set_state(
            proposal,
            State.REJECTED,
            decided_by=actor,
            decided_at=timezone.now(),
            decision_note=note,
            claimed_by=None,
            claimed_at=None,
        )
        _log(proposal, Action.REJECTED, actor, from_state=from_state, note=note)
        if notify:
            _after_commit(notifications.notify_author, proposal.pk, Action.REJECTED, note, actor.pk)
    return proposal


def proposal_request_changes(
    *, proposal: Proposal, actor, note: str, notify: bool = True
) -> Proposal:
    _require(permissions.can_request_changes(actor, proposal))
    note = _required_note(note, "Say what should change.")
    with transaction.atomic():
        proposal = _locked(proposal)
        _require_state(proposal, "request_changes")
        from_state = proposal.state
        _set_state(
            proposal,
            State.CHANGES_REQUESTED,
            decision_note=note,
            claimed_by=None,
            claimed_at=None,
        )
        _log(proposal, Action.CHANGES_REQUESTED, actor, from_state=from_state, note=note)
        if notify:
            _after_commit(
                notifications.notify_author, proposal.pk, Action.CHANGES_REQUESTED, note, actor.pk
            )
    return proposal


def proposal_claim(*, proposal: Proposal, actor) -> Proposal:
    """Tell the other curators that ``actor`` is reviewing this one (advisory, not a lock)."""
    _require(permissions.can_claim(actor, proposal))
    with transaction.atomic():
        proposal = _locked(proposal)
        _require_state(proposal, "claim")
        if proposal.claimed_by_id == actor.pk:
            raise WrongState("You have already claimed this proposal.")
        if proposal.claimed_by_id is not None:
            raise WrongState(f"{display_name(proposal.claimed_by)} has already claimed it.")
        now = timezone.now()
        updated = Proposal.objects.filter(pk=proposal.pk, claimed_by__isnull=True).update(
            claimed_by=actor, claimed_at=now, updated_at=now
        )
        if updated != 1:
            raise WrongState("Another curator claimed it a moment ago.")
        proposal.claimed_by, proposal.claimed_at = actor, now
        _log(proposal, Action.CLAIMED, actor, from_state=proposal.state)
    return proposal


def proposal_release(*, proposal: Proposal, actor) -> Proposal:
    _require(permissions.can_release(actor, proposal))
    with transaction.atomic():
        proposal = _locked(proposal)
        _require_state(proposal, "release")
        if proposal.claimed_by_id is None:
            raise WrongState("Nobody has claimed this proposal.")
        _require(permissions.can_release(actor, proposal))
        Proposal.objects.filter(pk=proposal.pk).update(
            claimed_by=None, claimed_at=None, updated_at=timezone.now()
        )
        proposal.claimed_by, proposal.claimed_at = None, None
        _log(proposal, Action.RELEASED, actor, from_state=proposal.state)
    return proposal


# --------------------------------------------------------------------------- discussion


def proposal_comment(*, proposal: Proposal, actor, body: str) -> Comment:
    _require(permissions.can_comment(actor, proposal))
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write a comment first."})
    if len(body) > 10_000:
        raise ValidationError({"body": "Keep a comment under 10,000 characters."})
    with transaction.atomic():
        proposal = _locked(proposal)
        _require_state(proposal, "comment")
        comment = Comment.objects.create(proposal=proposal, author=actor, body=body)
        if actor.pk != proposal.author_id:
            _after_commit(notifications.notify_author, proposal.pk, "commented", body, actor.pk)
    return comment


# --------------------------------------------------------------------------- batches


@dataclass(frozen=True)
class BatchItem:
    """One proposal to make in a batch (what :func:`proposal_create` takes), with its row."""

    kind: str
    changes: dict
    mitigation: Mitigation | None = None
    taxonomy: Taxonomy | None = None
    row: int | None = None
    where: str = ""  # how a refusal names the item, e.g. "Row 7 (A9001)"


def _error_text(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(
            message if name == "__all__" else f"{name}: {message}"
            for name, messages in error.message_dict.items()
            for message in messages
        )
    return " ".join(error.messages)


def proposal_batch_create(
    *, author, title: str, rationale: str, items: Iterable[BatchItem]
) -> ProposalBatch:
    """One batch and one submitted proposal per item, all or nothing.

    Every proposal is validated and takes its base snapshot exactly as a single one does, and
    carries the batch's rationale. An item that is refused raises :class:`ValidationError`
    naming it, and nothing is kept. Curators get one email for the batch, after the commit.
    """
    _require(permissions.can_propose(author))
    rationale = (rationale or "").strip()
    if not rationale:
        raise ValidationError(
            {"rationale": "Say why these changes should be made: the note goes with every one."}
        )
    items = list(items)
    if not items:
        raise ValidationError("A batch needs at least one proposal.")
    with transaction.atomic():
        batch = ProposalBatch(
            title=(title or "").strip()[:200] or "Proposals", created_by=author, rationale=rationale
        )
        batch.full_clean()
        batch.save()
        submitted_at = timezone.now()
        for item in items:
            try:
                proposal = _create(
                    kind=item.kind,
                    author=author,
                    changes=item.changes,
                    rationale=rationale,
                    mitigation=item.mitigation,
                    taxonomy=item.taxonomy,
                    batch=batch,
                    batch_row=item.row,
                    check_constraints=False,
                )
            except ValidationError as error:
                where = item.where or (f"Row {item.row}" if item.row else "A proposal")
                raise ValidationError(f"{where}: {_error_text(error)}") from error
            # Created in this transaction as a draft: no one else can hold it yet.
            _set_state(proposal, State.SUBMITTED, submitted_at=submitted_at)
            _log(proposal, Action.SUBMITTED, author, from_state=State.DRAFT)
        _after_commit(notifications.notify_batch_submitted, batch.pk)
    return batch


@dataclass
class BatchOutcome:
    """What a decision on a whole batch did with each of its proposals awaiting review."""

    batch: ProposalBatch
    action: str  # "approve", "reject" or "request_changes"
    decided: list[Proposal] = field(default_factory=list)  # applied / rejected / sent back
    waiting: list[ApprovalOutcome] = field(default_factory=list)  # need more approvals
    sent_back: list[tuple[Proposal, str]] = field(default_factory=list)  # record changed since
    refused: list[tuple[Proposal, str]] = field(default_factory=list)  # left as they were

    @property
    def total(self) -> int:
        return len(self.decided) + len(self.waiting) + len(self.sent_back) + len(self.refused)


_BATCH_NOTE_REQUIRED = {
    "reject": "Say why the proposals are rejected.",
    "request_changes": "Say what should change.",
}


def _decide_batch(*, batch: ProposalBatch, actor, action: str, note: str) -> BatchOutcome:
    """Decide each proposal of ``batch`` awaiting review by the usual transition, each in its
    own transaction: one refused (the record changed since, someone else was faster, the
    change cannot be applied) is reported and leaves the others alone."""
    _require(permissions.can_decide_batch(actor, batch))
    note = _note(note)
    if action in _BATCH_NOTE_REQUIRED:
        note = _required_note(note, _BATCH_NOTE_REQUIRED[action])
    proposals = list(
        batch.proposals.filter(state__in=IN_REVIEW)
        .select_related("author", "mitigation", "taxonomy")
        .order_by("batch_row", "pk")
    )
    if not proposals:
        raise WrongState(
            "No proposal of this batch awaits a decision now: each was decided, withdrawn or "
            "is back with its author. Nothing was done."
        )
    outcome = BatchOutcome(batch, action)
    for proposal in proposals:
        try:
            if action == "approve":
                result = proposal_approve(proposal=proposal, actor=actor, note=note, notify=False)
                if result.applied:
                    outcome.decided.append(result.proposal)
                else:
                    outcome.waiting.append(result)
            elif action == "reject":
                outcome.decided.append(
                    proposal_reject(proposal=proposal, actor=actor, note=note, notify=False)
                )
            else:
                outcome.decided.append(
                    proposal_request_changes(
                        proposal=proposal, actor=actor, note=note, notify=False
                    )
                )
        except StaleBase as error:
            outcome.sent_back.append((proposal, error.message))
        except WorkflowError as error:
            outcome.refused.append((proposal, error.message))
        except (ValidationError, IntegrityError) as error:
            message = _error_text(error) if isinstance(error, ValidationError) else str(error)
            outcome.refused.append((proposal, f"The change could not be applied: {message}"))
    if outcome.decided or outcome.sent_back:
        _after_commit(
            notifications.notify_batch_decided,
            batch.pk,
            action,
            note,
            actor.pk,
            [p.pk for p in outcome.decided],
            [p.pk for p, _ in outcome.sent_back],
        )
    return outcome


def proposal_batch_approve(*, batch: ProposalBatch, actor, note: str = "") -> BatchOutcome:
    """Approve every proposal of the batch awaiting review, each by :func:`proposal_approve`:
    not their author's own, enough distinct approvals to apply, conflicts sent back."""
    return _decide_batch(batch=batch, actor=actor, action="approve", note=note)


def proposal_batch_reject(*, batch: ProposalBatch, actor, note: str) -> BatchOutcome:
    """Reject every proposal of the batch awaiting review, with one note (required)."""
    return _decide_batch(batch=batch, actor=actor, action="reject", note=note)


def proposal_batch_request_changes(*, batch: ProposalBatch, actor, note: str) -> BatchOutcome:
    """Send every proposal of the batch awaiting review back to its author (note required)."""
    return _decide_batch(batch=batch, actor=actor, action="request_changes", note=note)


# --------------------------------------------------------------------------- what the page shows


@dataclass(frozen=True)
class AvailableAction:
    name: str
    label: str
    url_name: str
    note: str = ""  # "required", "optional" or "" (no note field)
    style: str = "secondary"
    method: str = "post"


_ACTIONS = (
    AvailableAction("approve", "Approve", "review:proposal-approve", "optional", "primary"),
    AvailableAction(
        "request_changes", "Request changes", "review:proposal-request-changes", "required"
    ),
    AvailableAction("reject", "Reject", "review:proposal-reject", "required", "danger"),
    AvailableAction("claim", "Claim", "review:proposal-claim"),
    AvailableAction("release", "Release", "review:proposal-release"),
    AvailableAction("edit", "Update the proposal", "review:proposal-edit", method="get"),
    AvailableAction("submit", "Submit for review", "review:proposal-submit", style="primary"),
    AvailableAction("resubmit", "Resubmit", "review:proposal-resubmit", "optional", "primary"),
    AvailableAction("withdraw", "Withdraw", "review:proposal-withdraw", "optional", "danger"),
)

_RULES = {
    "approve": permissions.can_approve,
    "request_changes": permissions.can_request_changes,
    "reject": permissions.can_reject,
    "claim": permissions.can_claim,
    "release": permissions.can_release,
    "edit": permissions.can_edit,
    "submit": permissions.can_submit,
    "resubmit": permissions.can_resubmit,
    "withdraw": permissions.can_withdraw,
}
_CURATOR_RULES = {"approve", "request_changes", "reject", "claim", "release"}


def available_actions(
    proposal: Proposal, user, *, curator: bool | None = None, approved_by: set[int] | None = None
) -> list[AvailableAction]:
    """Exactly the actions ``user`` may take on ``proposal`` now (by the same rules as above).

    ``curator`` and ``approved_by`` (ids of curators who approved the current revision) may be
    passed by a caller that has them already, to save queries.
    """
    if user is None or not user.is_authenticated:
        return []
    if curator is None:
        curator = is_curator(user)
    if approved_by is None:
        approved_by = set(
            ProposalApproval.objects.filter(
                proposal=proposal, revision=proposal.revision
            ).values_list("curator_id", flat=True)
        )
    found = []
    for action in _ACTIONS:
        if proposal.state not in ALLOWED_FROM[action.name]:
            continue
        rule = _RULES[action.name]
        verdict = (
            rule(user, proposal, curator=curator)
            if action.name in _CURATOR_RULES
            else (rule(user, proposal))
        )
        if not verdict:
            continue
        if action.name == "approve" and user.pk in approved_by:
            continue
        if action.name == "claim" and proposal.claimed_by_id is not None:
            continue
        if action.name == "release" and proposal.claimed_by_id is None:
            continue
        found.append(action)
    return found


def can_comment_now(proposal: Proposal, user, *, curator: bool | None = None) -> bool:
    return proposal.state in ALLOWED_FROM["comment"] and bool(
        permissions.can_comment(user, proposal, curator=curator)
    )


_BATCH_ACTIONS = (
    AvailableAction("approve", "Approve all", "review:batch-approve", "optional", "primary"),
    AvailableAction(
        "request_changes", "Request changes on all", "review:batch-request-changes", "required"
    ),
    AvailableAction("reject", "Reject all", "review:batch-reject", "required", "danger"),
)


def batch_available_actions(
    batch: ProposalBatch,
    user,
    *,
    in_review: int,
    awaiting_user: int,
    curator: bool | None = None,
) -> list[AvailableAction]:
    """The decisions ``user`` may take on the whole batch now (by :func:`_decide_batch`'s
    rules): ``in_review`` proposals await a decision, ``awaiting_user`` of them without the
    user's approval of their current revision."""
    if user is None or not user.is_authenticated or not in_review:
        return []
    if not permissions.can_decide_batch(user, batch, curator=curator):
        return []
    return [a for a in _BATCH_ACTIONS if a.name != "approve" or awaiting_user]
