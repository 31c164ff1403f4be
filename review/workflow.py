"""Every change to a proposal, as a guarded transition (see docs/review-workflow.md).

Each transition: checks the person (:mod:`review.permissions`, :class:`NotAllowed`), locks the
proposal and checks its state (:class:`WrongState`), compares-and-sets the state, writes the
event row, applies the change where there is one, and sends email after the commit. Approval
applies the change through :mod:`catalog.services` in the same transaction as the state change,
so either both happen or neither does.

The actions themselves are declared once, in :data:`ACTIONS` (after the transitions): for each,
the states it may start from, the permission rule, the note it takes, its button, its URL and
what the person is told after it. The state checks here, the buttons
(:func:`available_actions`), the URLs and the views (:mod:`review.views`) are all drawn from
that table, and a test checks that it is complete. To add an action, write its transition and
add its row; to add a kind of proposal, see :mod:`review.changes` and CONTRIBUTING.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog import limits
from catalog.models import Mitigation, Taxonomy
from catalog.roles import display_name, is_curator
from catalog.validation import error_text

from . import changes as proposal_changes
from . import notifications, permissions
from .changes import ProposalChanges, Snapshot
from .models import (
    IN_REVIEW,
    OPEN,
    Comment,
    Proposal,
    ProposalApproval,
    ProposalBatch,
    ProposalEvent,
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


def required_approvals(kind: str) -> int:
    by_kind = getattr(settings, "REVIEW_REQUIRED_APPROVALS_BY_KIND", {}) or {}
    return max(1, int(by_kind.get(kind, getattr(settings, "REVIEW_REQUIRED_APPROVALS", 1))))


# --------------------------------------------------------------------------- helpers


def _require(verdict: permissions.Verdict) -> None:
    if not verdict:
        raise NotAllowed(verdict.reason)


def _allowed(name: str, actor, proposal: Proposal) -> None:
    """Refuse (:class:`NotAllowed`) unless ``actor`` may take action ``name``, by its rule."""
    _require(ACTIONS[name].verdict(actor, proposal))


def _require_state(proposal: Proposal, name: str) -> None:
    action = ACTIONS[name]
    if action.allows(proposal):
        return
    if proposal.state in (State.APPROVED, State.REJECTED) and proposal.decided_by_id:
        done = "approved and applied" if proposal.state == State.APPROVED else "rejected"
        raise WrongState(
            f"{display_name(proposal.decided_by)} has already {done} this proposal; "
            "nothing more was done."
        )
    raise WrongState(
        f"This proposal is {proposal.get_state_display().lower()}: it cannot be {action.past} now."
    )


def _locked(proposal: Proposal, name: str) -> Proposal:
    """The proposal, locked for this transaction and re-read, in a state ``name`` starts from."""
    proposal = (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("author", "mitigation", "taxonomy", "claimed_by", "decided_by")
        .get(pk=proposal.pk)
    )
    _require_state(proposal, name)
    return proposal


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


def _note(name: str, note: str, *, prompt: str = "") -> str:
    """The note given with action ``name``, stripped; refused when the action requires one."""
    note = (note or "").strip()
    action = ACTIONS[name]
    if action.note == "required" and not note:
        raise ValidationError({"note": prompt or action.note_prompt})
    if len(note) > limits.NOTE:
        raise ValidationError(
            {"note": f"Keep the note under {limits.NOTE:,} characters (it has {len(note):,})."}
        )
    return note


def _after_commit(function, *args) -> None:
    transaction.on_commit(lambda: function(*args))


# --------------------------------------------------------------------------- creating


def _prepare(
    *, kind: str, mitigation, taxonomy, changes: ProposalChanges, rationale: str
) -> tuple[ProposalChanges, str]:
    rationale = (rationale or "").strip()
    if not rationale:
        raise ValidationError({"rationale": "Say why this change should be made."})
    proposal_changes.validate(kind=kind, mitigation=mitigation, taxonomy=taxonomy, changes=changes)
    return changes, rationale


def _base(kind: str, mitigation, taxonomy, changes: ProposalChanges) -> Snapshot:
    if mitigation is None:
        return {}
    keys = proposal_changes.base_keys(kind, changes, taxonomy.pk if taxonomy else None)
    return proposal_changes.snapshot(mitigation, keys, changes)


def proposal_create(
    *,
    kind: str,
    author,
    changes: ProposalChanges,
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
    spec = proposal_changes.KINDS.get(kind)
    if spec is not None and not spec.targets_record:
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
        taxonomy=taxonomy if spec is not None and spec.uses_taxonomy else None,
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
    *, proposal: Proposal, actor, changes: ProposalChanges, rationale: str, source_quote: str = ""
) -> Proposal:
    """The author revises a draft or a proposal sent back for changes, against today's record."""
    _allowed("edit", actor, proposal)
    with transaction.atomic():
        proposal = _locked(proposal, "edit")
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
    _allowed("submit", actor, proposal)
    with transaction.atomic():
        proposal = _locked(proposal, "submit")
        from_state = proposal.state
        _set_state(proposal, State.SUBMITTED, submitted_at=proposal.submitted_at or timezone.now())
        _log(proposal, Action.SUBMITTED, actor, from_state=from_state)
        _after_commit(notifications.notify_submitted, proposal.pk)
    return proposal


def proposal_resubmit(*, proposal: Proposal, actor, note: str = "") -> Proposal:
    """Back to the curators after changes; approvals given before count no more."""
    _allowed("resubmit", actor, proposal)
    note = _note("resubmit", note)
    with transaction.atomic():
        proposal = _locked(proposal, "resubmit")
        from_state = proposal.state
        _set_state(proposal, State.RESUBMITTED, revision=proposal.revision + 1)
        _log(proposal, Action.RESUBMITTED, actor, from_state=from_state, note=note)
        _after_commit(notifications.notify_submitted, proposal.pk)
    return proposal


def proposal_withdraw(*, proposal: Proposal, actor, note: str = "") -> Proposal:
    _allowed("withdraw", actor, proposal)
    note = _note("withdraw", note)
    with transaction.atomic():
        proposal = _locked(proposal, "withdraw")
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
    _allowed("approve", actor, proposal)
    note = _note("approve", note)
    with transaction.atomic():
        proposal = _locked(proposal, "approve")
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
            "The change could not be applied: " + error_text(error, fields=True)
        ) from error
    from_state = proposal.state
    _set_state(
        proposal,
        State.APPROVED,
        **{proposal_changes.KINDS[proposal.kind].shapes: shaped},
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


def proposal_reject(*, proposal: Proposal, actor, note: str, notify: bool = True) -> Proposal:
    _allowed("reject", actor, proposal)
    note = _note("reject", note)
    with transaction.atomic():
        proposal = _locked(proposal, "reject")
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
    _allowed("request_changes", actor, proposal)
    note = _note("request_changes", note)
    with transaction.atomic():
        proposal = _locked(proposal, "request_changes")
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
    _allowed("claim", actor, proposal)
    with transaction.atomic():
        proposal = _locked(proposal, "claim")
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
    _allowed("release", actor, proposal)
    with transaction.atomic():
        proposal = _locked(proposal, "release")
        if proposal.claimed_by_id is None:
            raise WrongState("Nobody has claimed this proposal.")
        _allowed("release", actor, proposal)  # again: who holds the claim is known now
        Proposal.objects.filter(pk=proposal.pk).update(
            claimed_by=None, claimed_at=None, updated_at=timezone.now()
        )
        proposal.claimed_by, proposal.claimed_at = None, None
        _log(proposal, Action.RELEASED, actor, from_state=proposal.state)
    return proposal


# --------------------------------------------------------------------------- discussion


def proposal_comment(*, proposal: Proposal, actor, body: str) -> Comment:
    _allowed("comment", actor, proposal)
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write a comment first."})
    if len(body) > 10_000:
        raise ValidationError({"body": "Keep a comment under 10,000 characters."})
    with transaction.atomic():
        proposal = _locked(proposal, "comment")
        comment = Comment.objects.create(proposal=proposal, author=actor, body=body)
        if actor.pk != proposal.author_id:
            _after_commit(notifications.notify_author, proposal.pk, "commented", body, actor.pk)
    return comment


# --------------------------------------------------------------------------- the table of actions


Note = Literal["", "optional", "required"]


def _approved_message(outcome: ApprovalOutcome) -> str:
    if outcome.applied:
        return "Approved and applied to the catalog."
    return (
        f"Approval recorded ({outcome.approvals} of {outcome.required}); "
        "another curator must approve it too."
    )


@dataclass(frozen=True)
class AvailableAction:
    """A button on a page: what :func:`available_actions` and :func:`batch_available_actions`
    return, and what the templates draw."""

    name: str
    label: str
    url_name: str
    note: Note = ""  # "required", "optional" or "" (no note field)
    style: str = "secondary"
    method: str = "post"


@dataclass(frozen=True)
class ReviewAction:
    """One thing a person can do to a proposal, declared once (see :data:`ACTIONS`).

    ``transition`` is the workflow function that does it (keyword arguments ``proposal``,
    ``actor`` and, when ``note`` is set, ``note``); ``rule`` is the permission it is guarded by
    (``curator_rule``: the rule takes ``curator=``, the caller's known answer to "is a
    curator?"); ``allowed_from`` the states it starts from; ``past`` completes "it cannot be …
    now". The URL is ``proposals/<pk>/<slug>/`` named ``review:proposal-<slug>``; unless
    ``own_view``, the view is :func:`review.views.transition_view`, which says ``done`` (a text,
    or a function of what the transition returned) after it. ``button`` offers it among the
    proposal page's actions; ``offered_when`` narrows that further by what the page knows
    (the claim, the approvals of this revision). ``batch_label`` offers it on a whole batch too
    (:func:`proposal_batch_decide`), with ``batch_note_prompt`` when the note is required.
    """

    name: str
    transition: Callable[..., Any]
    rule: Callable[..., permissions.Verdict]
    allowed_from: tuple[str, ...]
    past: str
    label: str
    curator_rule: bool = False
    note: Note = ""
    note_prompt: str = ""  # what a missing required note is refused with
    style: str = "secondary"
    method: str = "post"
    button: bool = True
    own_view: bool = False
    done: str | Callable[[Any], str] = ""
    offered_when: Callable[[Proposal, Any, set[int]], bool] | None = None
    batch_label: str = ""
    batch_note_prompt: str = ""

    @property
    def slug(self) -> str:
        return self.name.replace("_", "-")

    @property
    def url_name(self) -> str:
        return f"review:proposal-{self.slug}"

    @property
    def batch_url_name(self) -> str:
        return f"review:batch-{self.slug}"

    def allows(self, proposal: Proposal) -> bool:
        """Whether the proposal's state allows this action (not whether the person may)."""
        return proposal.state in self.allowed_from

    def verdict(self, user, proposal: Proposal, *, curator: bool | None = None):
        """The permission rule's answer for ``user``, with its reason when it is no."""
        if self.curator_rule:
            return self.rule(user, proposal, curator=curator)
        return self.rule(user, proposal)

    def done_message(self, result: Any) -> str:
        return self.done(result) if callable(self.done) else self.done

    @property
    def available(self) -> AvailableAction:
        return AvailableAction(
            self.name, self.label, self.url_name, self.note, self.style, self.method
        )


_UNDECIDED = tuple(s for s in State.values if s != State.DRAFT)

# In the order the buttons appear.
ACTIONS: dict[str, ReviewAction] = {
    action.name: action
    for action in (
        ReviewAction(
            "approve",
            proposal_approve,
            permissions.can_approve,
            IN_REVIEW,
            past="approved",
            label="Approve",
            curator_rule=True,
            note="optional",
            style="primary",
            done=_approved_message,
            offered_when=lambda proposal, user, approved_by: user.pk not in approved_by,
            batch_label="Approve all",
        ),
        ReviewAction(
            "request_changes",
            proposal_request_changes,
            permissions.can_request_changes,
            IN_REVIEW,
            past="sent back for changes",
            label="Request changes",
            curator_rule=True,
            note="required",
            note_prompt="Say what should change.",
            done="Sent back to the author with your note.",
            batch_label="Request changes on all",
            batch_note_prompt="Say what should change.",
        ),
        ReviewAction(
            "reject",
            proposal_reject,
            permissions.can_reject,
            IN_REVIEW,
            past="rejected",
            label="Reject",
            curator_rule=True,
            note="required",
            note_prompt="Say why the proposal is rejected.",
            style="danger",
            done="Rejected; the author will see your note.",
            batch_label="Reject all",
            batch_note_prompt="Say why the proposals are rejected.",
        ),
        ReviewAction(
            "claim",
            proposal_claim,
            permissions.can_claim,
            IN_REVIEW,
            past="claimed",
            label="Claim",
            curator_rule=True,
            done="Claimed: the other curators see that you are on it.",
            offered_when=lambda proposal, user, approved_by: proposal.claimed_by_id is None,
        ),
        ReviewAction(
            "release",
            proposal_release,
            permissions.can_release,
            IN_REVIEW,
            past="released",
            label="Release",
            curator_rule=True,
            done="Released.",
            offered_when=lambda proposal, user, approved_by: proposal.claimed_by_id is not None,
        ),
        ReviewAction(
            "edit",
            proposal_update,
            permissions.can_edit,
            (State.DRAFT, State.CHANGES_REQUESTED),
            past="updated",
            label="Update the proposal",
            method="get",
            own_view=True,  # a form page: review.views.proposal_edit
        ),
        ReviewAction(
            "submit",
            proposal_submit,
            permissions.can_submit,
            (State.DRAFT,),
            past="submitted",
            label="Submit for review",
            style="primary",
            done="Submitted: the curators have it now.",
        ),
        ReviewAction(
            "resubmit",
            proposal_resubmit,
            permissions.can_resubmit,
            (State.CHANGES_REQUESTED,),
            past="resubmitted",
            label="Resubmit",
            note="optional",
            style="primary",
            done="Resubmitted: the curators have it again.",
        ),
        ReviewAction(
            "withdraw",
            proposal_withdraw,
            permissions.can_withdraw,
            OPEN,
            past="withdrawn",
            label="Withdraw",
            note="optional",
            style="danger",
            done="Withdrawn.",
        ),
        ReviewAction(
            "comment",
            proposal_comment,
            permissions.can_comment,
            _UNDECIDED,
            past="commented on",
            label="Add comment",
            curator_rule=True,
            button=False,  # the discussion's own form (can_comment_now)
            own_view=True,  # review.views.proposal_comment
        ),
    )
}

# The decisions a curator may take on a whole batch at once, in the order of their buttons.
BATCH_ACTIONS: dict[str, ReviewAction] = {
    name: action for name, action in ACTIONS.items() if action.batch_label
}


# --------------------------------------------------------------------------- batches


@dataclass(frozen=True)
class BatchItem:
    """One proposal to make in a batch (what :func:`proposal_create` takes), with its row."""

    kind: str
    changes: ProposalChanges
    mitigation: Mitigation | None = None
    taxonomy: Taxonomy | None = None
    row: int | None = None
    where: str = ""  # how a refusal names the item, e.g. "Row 7 (A9001)"


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
                raise ValidationError(f"{where}: {error_text(error, fields=True)}") from error
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


def proposal_batch_decide(
    *, batch: ProposalBatch, actor, action: str, note: str = "", progress=None
) -> BatchOutcome:
    """Decide each proposal of ``batch`` awaiting review by the usual transition (one of
    :data:`BATCH_ACTIONS`), each in its own transaction: one refused (the record changed since,
    someone else was faster, the change cannot be applied) is reported and leaves the others
    alone. ``progress(done, total)`` is told before each proposal (a background job's bar)."""
    decision = BATCH_ACTIONS[action]
    _require(permissions.can_decide_batch(actor, batch))
    note = _note(action, note, prompt=decision.batch_note_prompt)
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
    for done, proposal in enumerate(proposals):
        if progress is not None:
            progress(done, len(proposals))
        try:
            result = decision.transition(proposal=proposal, actor=actor, note=note, notify=False)
        except StaleBase as error:
            outcome.sent_back.append((proposal, error.message))
        except WorkflowError as error:
            outcome.refused.append((proposal, error.message))
        except (ValidationError, IntegrityError) as error:
            message = (
                error_text(error, fields=True) if isinstance(error, ValidationError) else str(error)
            )
            outcome.refused.append((proposal, f"The change could not be applied: {message}"))
        else:
            if isinstance(result, ApprovalOutcome) and not result.applied:
                outcome.waiting.append(result)
            else:
                outcome.decided.append(
                    result.proposal if isinstance(result, ApprovalOutcome) else result
                )
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
    return proposal_batch_decide(batch=batch, actor=actor, action="approve", note=note)


def proposal_batch_reject(*, batch: ProposalBatch, actor, note: str) -> BatchOutcome:
    """Reject every proposal of the batch awaiting review, with one note (required)."""
    return proposal_batch_decide(batch=batch, actor=actor, action="reject", note=note)


def proposal_batch_request_changes(*, batch: ProposalBatch, actor, note: str) -> BatchOutcome:
    """Send every proposal of the batch awaiting review back to its author (note required)."""
    return proposal_batch_decide(batch=batch, actor=actor, action="request_changes", note=note)


# --------------------------------------------------------------------------- what the page shows


def available_actions(
    proposal: Proposal, user, *, curator: bool | None = None, approved_by: set[int] | None = None
) -> list[AvailableAction]:
    """Exactly the actions ``user`` may take on ``proposal`` now, by the rules and states of
    :data:`ACTIONS` (the same the transitions check).

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
    return [
        action.available
        for action in ACTIONS.values()
        if action.button
        and action.allows(proposal)
        and action.verdict(user, proposal, curator=curator)
        and (action.offered_when is None or action.offered_when(proposal, user, approved_by))
    ]


def can_comment_now(proposal: Proposal, user, *, curator: bool | None = None) -> bool:
    comment = ACTIONS["comment"]
    return comment.allows(proposal) and bool(comment.verdict(user, proposal, curator=curator))


def batch_available_actions(
    batch: ProposalBatch,
    user,
    *,
    in_review: int,
    awaiting_user: int,
    curator: bool | None = None,
) -> list[AvailableAction]:
    """The decisions ``user`` may take on the whole batch now (by
    :func:`proposal_batch_decide`'s rules): ``in_review`` proposals await a decision,
    ``awaiting_user`` of them without the user's approval of their current revision."""
    if user is None or not user.is_authenticated or not in_review:
        return []
    if not permissions.can_decide_batch(user, batch, curator=curator):
        return []
    return [
        AvailableAction(
            action.name, action.batch_label, action.batch_url_name, action.note, action.style
        )
        for action in BATCH_ACTIONS.values()
        if action.name != "approve" or awaiting_user
    ]
