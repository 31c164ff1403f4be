"""The review pages. Views parse, authorise, call one workflow function, render or redirect.

Pages are GET; each state change is its own POST URL that redirects back (to ``next`` when it
is a safe local address, else to the proposal). A refusal by the rules is a 403 carrying the
reason; a wrong state (someone was faster) is a message on the page the person returns to
(both through :func:`review.http.workflow_refusals`). The views of the workflow's actions are
drawn from :data:`review.workflow.ACTIONS` (:data:`ACTION_VIEWS`, :data:`BATCH_ACTION_VIEWS`).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from catalog.imports.preview import preview_context
from catalog.imports.uploads import bound_upload, upload_form_is_valid
from catalog.jobs import job_active_for, job_latest_for
from catalog.models import Mitigation, Taxonomy, parse_public_id

from . import accounts, bulk, permissions, selectors, tasks, workflow
from . import changes as proposal_changes
from .filters import ProposalQueueFilter
from .forms import (
    BatchRationaleForm,
    CommentForm,
    EditForm,
    MergeForm,
    NewMitigationForm,
    NewSourceForm,
    ProfileForm,
    ReclassifyForm,
    RetireForm,
    SpreadsheetUploadForm,
    form_for,
)
from .http import workflow_refusals
from .models import ProposalKind, UploadStatus

QUEUE_PAGE_SIZE = 50
BATCH_PAGE_SIZE = 50


# --------------------------------------------------------------------------- helpers


def _allow(verdict: permissions.Verdict) -> None:
    if not verdict:
        raise PermissionDenied(verdict.reason)


def _visible_proposal(request, pk: int, *, for_page: bool = False):
    proposal = (selectors.proposal_get_for_page if for_page else selectors.proposal_get)(pk)
    if proposal is None or not permissions.can_view(request.user, proposal):
        raise Http404("No such proposal.")
    return proposal


def _mitigation_or_404(public_id: str) -> Mitigation:
    number = parse_public_id(public_id)
    if number is None:
        raise Http404("No such mitigation.")
    return get_object_or_404(Mitigation.objects.select_related("merged_into"), number=number)


def _back(request, proposal):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(proposal)


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


# --------------------------------------------------------------------------- lists


@require_safe
@login_required
def queue(request):
    _allow(
        permissions.can_see_queue(
            request.user, curator=permissions.request_user_is_curator(request)
        )
    )
    filters = ProposalQueueFilter(
        request.GET or None, queryset=selectors.proposal_list_queue(), request=request
    )
    page = Paginator(filters.qs, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    proposals = list(page.object_list)
    return render(
        request,
        "review/proposal_queue.html",
        {
            "filter": filters,
            "page": page,
            "proposals": proposals,
            "overlaps": selectors.proposal_overlaps(proposals),
            "counts": selectors.proposal_queue_counts(request.user),
            "batches": selectors.proposal_batch_list_in_review(),
        },
    )


@require_safe
@login_required
def mine(request):
    proposals = list(selectors.proposal_list_for_author(request.user)[:200])
    return render(
        request,
        "review/proposal_mine.html",
        {
            "proposals": proposals,
            "uploads": selectors.proposal_upload_list_for_user(request.user),
        },
    )


# --------------------------------------------------------------------------- one proposal


@require_safe
def proposal_detail(request, pk):
    proposal = _visible_proposal(request, pk, for_page=True)
    user = request.user
    curator = permissions.request_user_is_curator(request)
    approvals = [a for a in proposal.approvals.all() if a.revision == proposal.revision]
    mitigation = proposal.mitigation
    targets_record = proposal_changes.KINDS[proposal.kind].targets_record
    in_catalog = targets_record or proposal.state == "approved"
    diff = (
        []
        if proposal.state == "approved"
        else proposal_changes.diff(proposal, mitigation if targets_record else None)
    )
    conflicts = (
        proposal_changes.conflicts(proposal, mitigation)
        if proposal.is_open and targets_record
        else []
    )
    # Once this curator has nothing left to decide here, offer the next proposal in the queue.
    done_here = curator and (
        not proposal.in_review or any(a.curator_id == user.pk for a in approvals)
    )
    return render(
        request,
        "review/proposal_detail.html",
        {
            "proposal": proposal,
            "diff": diff,
            "conflicts": conflicts,
            "overlaps": selectors.proposal_overlaps([proposal]).get(proposal.pk, []),
            "approvals": approvals,
            "required_approvals": workflow.required_approvals(proposal.kind),
            "actions": workflow.available_actions(
                proposal, user, curator=curator, approved_by={a.curator_id for a in approvals}
            ),
            "can_comment": workflow.can_comment_now(proposal, user, curator=curator),
            "comment_form": CommentForm(),
            "in_catalog": in_catalog,
            "applied_history": selectors.proposal_history_rows(proposal),
            "offer_next": done_here,
            "next_in_queue": selectors.proposal_next_in_queue(user, after=proposal)
            if done_here
            else None,
            "possible_duplicates": selectors.proposal_possible_duplicates(proposal)
            if proposal.is_open
            else [],
            "source_duplicates": selectors.proposal_possible_source_duplicates(proposal)
            if proposal.is_open
            else [],
        },
    )


# --------------------------------------------------------------------------- proposing


def _propose(request, *, kind, form_class, template, mitigation=None, taxonomy=None, form_kw=None):
    form_kw = form_kw or {}
    _allow(permissions.can_propose(request.user))
    if request.method == "POST":
        form = form_class(request.POST, **form_kw)
        if form.is_valid():
            try:
                proposal = workflow.proposal_create(
                    kind=kind,
                    author=request.user,
                    mitigation=mitigation,
                    taxonomy=taxonomy,
                    changes=form.to_changes(),
                    rationale=form.cleaned_data["rationale"],
                    source_quote=form.cleaned_data.get("source_quote", ""),
                    submit=request.POST.get("intent") != "draft",
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                if proposal.state == "draft":
                    messages.success(request, "Saved as a draft. Submit it when it is ready.")
                else:
                    messages.success(request, "Thank you: your proposal is in the review queue.")
                return redirect(proposal)
    else:
        form = form_class(**form_kw)
    return render(
        request,
        template,
        {"form": form, "mitigation": mitigation, "taxonomy": taxonomy, "kind": kind},
        status=400 if request.method == "POST" else 200,
    )


def _refuse_merged(request, mitigation, template, kind, form):
    """A merged record takes no proposals: say so on the form, change nothing."""
    if mitigation.status != Mitigation.Status.MERGED:
        return None
    into = mitigation.merged_into.public_id
    return render(
        request,
        template,
        {
            "form": form,
            "mitigation": mitigation,
            "kind": kind,
            "refused": True,
            "refusal": f"{mitigation.public_id} was merged into {into}; "
            f"propose changes to {into} instead.",
        },
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@login_required
def propose_new(request):
    return _propose(
        request,
        kind=ProposalKind.NEW,
        form_class=NewMitigationForm,
        template="review/proposal_form_new.html",
    )


@require_http_methods(["GET", "POST"])
@login_required
def propose_source(request):
    """A new source document. ``?short_ref=`` fills in the reference (an upload that names an
    unknown source links here with it)."""
    short_ref = " ".join(request.GET.get("short_ref", "").split())[:100]
    return _propose(
        request,
        kind=ProposalKind.NEW_SOURCE,
        form_class=NewSourceForm,
        template="review/proposal_form_new_source.html",
        form_kw={"initial": {"short_ref": short_ref}} if short_ref else None,
    )


@require_safe
@login_required
def similar_mitigations(request):
    """The "similar mitigations" list alone, for the new-mitigation form's live suggestions."""
    return render(
        request,
        "review/proposal_form_new.html#similar-list",
        {"similar": selectors.mitigation_list_similar(request.GET.get("name", ""))},
    )


def _propose_on_record(request, public_id, kind, form_class, template, **extra):
    _allow(permissions.can_propose(request.user))
    mitigation = _mitigation_or_404(public_id)
    refused = _refuse_merged(
        request, mitigation, template, kind, form_class(mitigation=mitigation, **extra)
    )
    if refused is not None:
        return refused
    return _propose(
        request,
        kind=kind,
        form_class=form_class,
        template=template,
        mitigation=mitigation,
        taxonomy=extra.get("taxonomy"),
        form_kw={"mitigation": mitigation, **extra},
    )


@require_http_methods(["GET", "POST"])
@login_required
def propose_edit(request, public_id):
    return _propose_on_record(
        request, public_id, ProposalKind.EDIT, EditForm, "review/proposal_form_edit.html"
    )


@require_http_methods(["GET", "POST"])
@login_required
def propose_reclassification(request, public_id):
    slug = request.POST.get("taxonomy") or request.GET.get("taxonomy")
    taxonomies = Taxonomy.objects.exclude(status=Taxonomy.Status.RETIRED)
    if not slug:
        mitigation = _mitigation_or_404(public_id)
        return render(
            request,
            "review/proposal_form_taxonomy.html",
            {"mitigation": mitigation, "taxonomies": taxonomies},
        )
    taxonomy = taxonomies.filter(slug=slug).first()
    if taxonomy is None:
        raise Http404("No such taxonomy.")
    return _propose_on_record(
        request,
        public_id,
        ProposalKind.RECLASSIFY,
        ReclassifyForm,
        "review/proposal_form_reclassify.html",
        taxonomy=taxonomy,
    )


@require_http_methods(["GET", "POST"])
@login_required
def propose_retirement(request, public_id):
    return _propose_on_record(
        request, public_id, ProposalKind.RETIRE, RetireForm, "review/proposal_form_retire.html"
    )


@require_http_methods(["GET", "POST"])
@login_required
def propose_merge(request, public_id):
    return _propose_on_record(
        request, public_id, ProposalKind.MERGE, MergeForm, "review/proposal_form_merge.html"
    )


@require_http_methods(["GET", "POST"])
@login_required
def proposal_edit(request, pk):
    """The author updates a draft, or a proposal that came back, against today's record."""
    proposal = _visible_proposal(request, pk)
    _allow(permissions.can_edit(request.user, proposal))
    if not workflow.ACTIONS["edit"].allows(proposal):
        messages.error(
            request,
            f"This proposal is {proposal.get_state_display().lower()}: "
            "it can be updated only as a draft or when changes were requested.",
        )
        return redirect(proposal)
    spec = proposal_changes.KINDS[proposal.kind]
    form_kw = {"proposal": proposal}
    if spec.targets_record:
        form_kw["mitigation"] = proposal.mitigation
    if spec.uses_taxonomy:
        form_kw["taxonomy"] = proposal.taxonomy
    form_class = form_for(proposal.kind)
    if request.method == "POST":
        form = form_class(request.POST, **form_kw)
        if form.is_valid():
            try:
                with workflow_refusals(request, validation=False):
                    workflow.proposal_update(
                        proposal=proposal,
                        actor=request.user,
                        changes=form.to_changes(),
                        rationale=form.cleaned_data["rationale"],
                        source_quote=form.cleaned_data.get("source_quote", ""),
                    )
                    messages.success(request, "Proposal updated.")
            except ValidationError as error:
                _add_errors(form, error)
            else:
                return redirect(proposal)
    else:
        form = form_class(**form_kw)
    return render(
        request,
        f"review/proposal_form_{proposal.kind}.html",
        {
            "form": form,
            "proposal": proposal,
            "mitigation": proposal.mitigation if spec.targets_record else None,
            "taxonomy": proposal.taxonomy,
            "kind": proposal.kind,
            "updating": True,
        },
        status=400 if request.method == "POST" else 200,
    )


# --------------------------------------------------------------------------- transitions


def transition_view(name: str):
    """The POST view of action ``name`` of :data:`review.workflow.ACTIONS`: call its
    transition (with the note when it takes one), say what was done, go back."""
    action = workflow.ACTIONS[name]

    @require_POST
    @login_required
    def view(request, pk):
        proposal = _visible_proposal(request, pk)
        kwargs = {"proposal": proposal, "actor": request.user}
        if action.note:
            kwargs["note"] = request.POST.get("note", "")
        with workflow_refusals(request):
            result = action.transition(**kwargs)
            messages.success(request, action.done_message(result))
        return _back(request, proposal)

    view.__name__ = view.__qualname__ = f"proposal_{name}"
    return view


@require_POST
@login_required
def proposal_comment(request, pk):
    proposal = _visible_proposal(request, pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(proposal)
    with workflow_refusals(request):
        workflow.proposal_comment(
            proposal=proposal, actor=request.user, body=form.cleaned_data["body"]
        )
        messages.success(request, "Comment added.")
    return redirect(f"{reverse('review:proposal-detail', kwargs={'pk': proposal.pk})}#comments")


# --------------------------------------------------------------------------- the person


@require_http_methods(["GET", "POST"])
@login_required
def profile_settings(request):
    user = request.user
    profile = accounts.profile_get(user)
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            accounts.profile_update(user=user, **form.cleaned_data)
            messages.success(request, "Settings saved.")
            return redirect("review:settings")
    else:
        form = ProfileForm(
            initial={
                "display_name": user.get_full_name(),
                "email_on_submission": profile.email_on_submission,
                "email_on_my_proposals": profile.email_on_my_proposals,
            }
        )
    return render(request, "review/profile_settings.html", {"form": form})


# --------------------------------------------------------------------------- spreadsheets


@csrf_exempt
def upload(request):
    """Bound the upload before anything reads the request body, then check the method, the
    sign-in and CSRF as every other view does (Django's documented pattern for changing the
    upload handlers of one view)."""
    bound_upload(request)
    return _upload(request)


@require_http_methods(["GET", "POST"])
@login_required
@csrf_protect
def _upload(request):
    _allow(permissions.can_upload(request.user))
    if request.method == "POST":
        form = SpreadsheetUploadForm(request.POST, request.FILES)
        if upload_form_is_valid(request, form, what="upload"):
            uploaded = bulk.proposal_upload_preview(
                upload=form.cleaned_data["file"], actor=request.user
            )
            return redirect(uploaded)
    else:
        form = SpreadsheetUploadForm()
    return render(
        request,
        "review/upload_form.html",
        {
            "form": form,
            "max_bytes": settings.IMPORT_MAX_BYTES,
            "max_rows": settings.IMPORT_MAX_ROWS,
            "max_proposals": settings.REVIEW_BULK_MAX_PROPOSALS,
            "preview_hours": settings.IMPORT_PREVIEW_HOURS,
        },
        status=400 if request.method == "POST" else 200,
    )


def _visible_upload(request, pk: int):
    upload = selectors.proposal_upload_get(pk)
    if upload is None or not permissions.can_view_upload(request.user, upload):
        raise Http404("No such upload.")
    return upload


def _render_upload(request, upload, form, *, status=200):
    is_uploader = upload.created_by_id == request.user.pk
    return render(
        request,
        "review/upload_detail.html",
        {
            "upload": upload,
            **preview_context(
                upload, request.GET, with_proposals=True, unnumbered="new ID on approval"
            ),
            "is_uploader": is_uploader,
            "can_confirm": upload.can_be_confirmed
            and bool(permissions.can_confirm_upload(request.user, upload)),
            "job": job_latest_for(bulk.upload_subject(upload))
            if upload.status == UploadStatus.CONFIRMING
            else None,
            "form": form,
        },
        status=status,
    )


@require_safe
@login_required
def upload_detail(request, pk):
    return _render_upload(request, _visible_upload(request, pk), BatchRationaleForm())


@require_POST
@login_required
def upload_confirm(request, pk):
    upload = _visible_upload(request, pk)
    _allow(permissions.can_confirm_upload(request.user, upload))
    form = BatchRationaleForm(request.POST)
    if not form.is_valid():
        return _render_upload(request, upload, form, status=400)
    try:
        with workflow_refusals(request, validation=False) as refused:
            job = bulk.proposal_upload_confirm(
                upload=upload, actor=request.user, rationale=form.cleaned_data["rationale"]
            )
    except ValidationError as error:
        _add_errors(form, error)
        return _render_upload(request, upload, form, status=400)
    if refused:
        return redirect(upload)
    return redirect(job)  # its page follows the proposing, then reports


@require_POST
@login_required
def upload_cancel(request, pk):
    upload = _visible_upload(request, pk)
    with workflow_refusals(request) as refused:
        bulk.proposal_upload_cancel(upload=upload, actor=request.user)
    if refused:
        return redirect(upload)
    messages.success(request, "Cancelled; the uploaded file was deleted.")
    return redirect("review:upload")


# --------------------------------------------------------------------------- batches


def _batch_or_404(pk: int):
    batch = selectors.proposal_batch_get(pk)
    if batch is None:
        raise Http404("No such batch.")
    return batch


@require_safe
def batch_detail(request, pk):
    batch = _batch_or_404(pk)
    curator = permissions.request_user_is_curator(request)
    page = Paginator(selectors.proposal_list_for_batch(batch), BATCH_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    proposals = list(page.object_list)
    counts = selectors.proposal_batch_counts(batch, request.user)
    return render(
        request,
        "review/batch_detail.html",
        {
            "batch": batch,
            "page": page,
            "proposals": proposals,
            "counts": counts,
            "overlaps": selectors.proposal_overlaps(proposals),
            # A decision on the whole batch under way (only curators decide: others never ask).
            "job": job_active_for(tasks.batch_subject(batch)) if curator else None,
            "actions": workflow.batch_available_actions(
                batch,
                request.user,
                in_review=counts.in_review,
                awaiting_user=counts.awaiting_user,
                curator=curator,
            ),
        },
    )


# Decisions on a whole batch that ask to be confirmed on a page of their own first.
CONFIRM_FIRST = {"approve"}


def batch_transition_view(name: str):
    """The view of deciding a whole batch by action ``name`` of
    :data:`review.workflow.BATCH_ACTIONS`: POST queues the decision in the background and
    answers with its job's page (progress, then the report). For "approve", GET is the
    confirmation step: how many proposals, what approving does."""
    if name not in workflow.BATCH_ACTIONS:
        raise ValueError(f"{name} is not a decision on a whole batch.")
    methods = ["GET", "HEAD", "POST"] if name in CONFIRM_FIRST else ["POST"]

    @require_http_methods(methods)
    @login_required
    def view(request, pk):
        batch = _batch_or_404(pk)
        if request.method != "POST":
            return _confirm_batch_decision(request, batch)
        with workflow_refusals(request):
            job = bulk.proposal_batch_decide_in_background(
                batch=batch, actor=request.user, action=name, note=request.POST.get("note", "")
            )
            return redirect(job)
        return redirect(batch)

    view.__name__ = view.__qualname__ = f"batch_{name}"
    return view


def _confirm_batch_decision(request, batch):
    _allow(permissions.can_decide_batch(request.user, batch))
    return render(
        request,
        "review/batch_approve_confirm.html",
        {
            "batch": batch,
            "counts": selectors.proposal_batch_counts(batch, request.user),
            "note": request.GET.get("note", "")[:2000],
            "job": job_active_for(tasks.batch_subject(batch)),
        },
    )


# --------------------------------------------------------------------------- the table's views

# Every action of the workflow's table has its view: its own page, or the generic one.
ACTION_VIEWS = {
    name: transition_view(name) for name, action in workflow.ACTIONS.items() if not action.own_view
} | {"edit": proposal_edit, "comment": proposal_comment}
BATCH_ACTION_VIEWS = {name: batch_transition_view(name) for name in workflow.BATCH_ACTIONS}
