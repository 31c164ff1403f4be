"""Who may do what with a proposal, each rule named, each refusal with a reason to show.

These rules say whether the *person* may take an action; whether the proposal's *state* allows
it is the workflow's concern (a wrong state is a domain error, not a 403). Views, the workflow
and :func:`review.workflow.available_actions` all ask these same functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.roles import can_oversee, is_curator


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Verdict(True)


def _deny(reason: str) -> Verdict:
    return Verdict(False, reason)


def _signed_in(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def _is_author(user, proposal) -> bool:
    return _signed_in(user) and proposal.author_id == user.pk


def _curator(user, curator: bool | None) -> bool:
    """``curator`` lets a caller that already knows the answer save the group query."""
    return is_curator(user) if curator is None else curator


def request_user_is_curator(request) -> bool:
    """``is_curator`` for the person making ``request``, asked of the database once per request."""
    if not hasattr(request, "_review_is_curator"):
        request._review_is_curator = is_curator(getattr(request, "user", None))
    return request._review_is_curator


def can_propose(user) -> Verdict:
    if not _signed_in(user):
        return _deny("Sign in to propose a change.")
    return ALLOWED


def can_view(user, proposal) -> Verdict:
    """Submitted proposals are public record; a draft is its author's (and admins') alone."""
    if proposal.state != "draft":
        return ALLOWED
    if _is_author(user, proposal) or can_oversee(user):
        return ALLOWED
    return _deny("This draft is visible to its author only.")


def can_see_queue(user, *, curator: bool | None = None) -> Verdict:
    if not _curator(user, curator):
        return _deny("Only curators can see the review queue.")
    return ALLOWED


def _author_only(user, proposal, doing: str) -> Verdict:
    if not _is_author(user, proposal):
        return _deny(f"Only the author can {doing} this proposal.")
    return ALLOWED


def can_edit(user, proposal) -> Verdict:
    return _author_only(user, proposal, "update")


def can_submit(user, proposal) -> Verdict:
    return _author_only(user, proposal, "submit")


def can_resubmit(user, proposal) -> Verdict:
    return _author_only(user, proposal, "resubmit")


def can_withdraw(user, proposal) -> Verdict:
    return _author_only(user, proposal, "withdraw")


def can_decide(user, proposal, *, curator: bool | None = None) -> Verdict:
    """Approve, reject or request changes: a curator who is not the author."""
    if not _curator(user, curator):
        return _deny("Only curators can decide proposals.")
    if _is_author(user, proposal):
        return _deny("Nobody decides their own proposal: another curator must review it.")
    return ALLOWED


can_approve = can_decide
can_reject = can_decide
can_request_changes = can_decide


def can_claim(user, proposal, *, curator: bool | None = None) -> Verdict:
    return can_decide(user, proposal, curator=curator)


def can_release(user, proposal, *, curator: bool | None = None) -> Verdict:
    if not _signed_in(user):
        return _deny("Sign in first.")
    oversees = None
    if proposal.claimed_by_id not in (None, user.pk):
        oversees = can_oversee(user)
        if not oversees:
            return _deny("Only the curator who claimed it, or an admin, can release it.")
    if not _curator(user, curator) and not (
        oversees if oversees is not None else can_oversee(user)
    ):
        return _deny("Only curators can claim and release proposals.")
    return ALLOWED


def can_comment(user, proposal, *, curator: bool | None = None) -> Verdict:
    if not _signed_in(user):
        return _deny("Sign in to comment.")
    if _is_author(user, proposal) or _curator(user, curator):
        return ALLOWED
    return _deny("Only the author and curators take part in a proposal's discussion.")


# --------------------------------------------------------------------------- spreadsheets, batches


def can_upload(user) -> Verdict:
    if not _signed_in(user):
        return _deny("Sign in to propose changes from a spreadsheet.")
    return ALLOWED


def can_view_upload(user, upload) -> Verdict:
    """An upload's preview is its uploader's (and admins') alone, like a draft."""
    if _signed_in(user) and (upload.created_by_id == user.pk or can_oversee(user)):
        return ALLOWED
    return _deny("This upload is visible to the person who uploaded it only.")


def _uploader_only(user, upload, doing: str) -> Verdict:
    if not (_signed_in(user) and upload.created_by_id == user.pk):
        return _deny(f"Only the person who uploaded this file can {doing} it.")
    return ALLOWED


def can_confirm_upload(user, upload) -> Verdict:
    return _uploader_only(user, upload, "confirm")


def can_cancel_upload(user, upload) -> Verdict:
    return _uploader_only(user, upload, "cancel")


def can_decide_batch(user, batch, *, curator: bool | None = None) -> Verdict:
    """Approve, reject or request changes on a whole batch: a curator who did not make it.

    Each proposal is then still decided by :func:`can_decide` (all share the batch's author).
    """
    if not _curator(user, curator):
        return _deny("Only curators can decide proposals.")
    if _signed_in(user) and batch.created_by_id == user.pk:
        return _deny("Nobody decides their own proposals: another curator must review this batch.")
    return ALLOWED
