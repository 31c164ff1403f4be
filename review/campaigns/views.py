"""The campaign pages: they parse, authorise, call one service or selector, and render."""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from catalog.imports.uploads import bound_upload, upload_form_is_valid
from catalog.models import Mitigation, parse_public_id
from catalog.validation import error_text

from . import codings_io, permissions, selectors, services
from .forms import CampaignForm, CodingForm, DecisionForm, ImportForm
from .models import Campaign, CampaignRecord, Coding, RecordState


def _allow(verdict) -> None:
    if not verdict:
        raise PermissionDenied(verdict.reason)


def _campaign(pk: int) -> Campaign:
    try:
        return selectors.campaign_get(pk)
    except Campaign.DoesNotExist:
        raise Http404("No such campaign.") from None


def _record(campaign: Campaign, public_id: str) -> CampaignRecord:
    number = parse_public_id(public_id)
    record = (
        campaign.records.filter(mitigation__number=number)
        .select_related("mitigation__source", "campaign__taxonomy")
        .first()
        if number
        else None
    )
    if record is None:
        raise Http404(f"{public_id} is not in this campaign.")
    return record


@contextmanager
def _refusals(request):
    """A wrong state or bad input becomes a message; a refusal of the rules a 403."""
    try:
        yield
    except services.NotAllowed as error:
        raise PermissionDenied(error.message) from None
    except services.CampaignError as error:
        messages.error(request, error.message)
    except ValidationError as error:
        messages.error(request, f"{error_text(error)} Nothing was changed.")


# --------------------------------------------------------------------------- campaigns


@require_safe
@login_required
def campaign_list(request):
    return render(
        request,
        "campaigns/campaign_list.html",
        {
            "campaigns": selectors.campaign_list_for(request.user),
            "can_manage": permissions.can_manage_campaigns(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def campaign_create(request):
    _allow(permissions.can_manage_campaigns(request.user))
    form = CampaignForm(request.POST or None, initial={"query": request.GET.get("query", "")})
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(
                **form.data_for_service(),
                coders=form.cleaned_data["coder_names"],
                actor=request.user,
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, f"Campaign “{campaign.name}” created as a draft.")
            return redirect(campaign)
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": None})


def _form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


@require_http_methods(["GET", "POST"])
@login_required
def campaign_edit(request, pk):
    _allow(permissions.can_manage_campaigns(request.user))
    campaign = _campaign(pk)
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        data = form.data_for_service()
        try:
            services.campaign_update(
                campaign=campaign,
                data=data,
                coders=form.cleaned_data["coder_names"],
                actor=request.user,
            )
        except ValidationError as error:
            _form_errors(form, error)
        except services.CampaignError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Campaign saved.")
            return redirect(campaign)
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": campaign})


@require_safe
@login_required
def campaign_detail(request, pk):
    campaign = _campaign(pk)
    _allow(permissions.can_view(request.user, campaign))
    if campaign.state == Campaign.State.DRAFT and not permissions.can_manage_campaigns(
        request.user
    ):
        raise PermissionDenied("The campaign is still a draft.")
    coder = permissions.is_coder(request.user, campaign)
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "can_manage": permissions.can_manage_campaigns(request.user),
            "is_coder": coder,
            "progress": selectors.campaign_progress(campaign),
            "mine": selectors.coder_progress(campaign, request.user) if coder else None,
            "coders": campaign.coders.order_by("username"),
        },
    )


def _transition(service, done: str):
    @require_POST
    @login_required
    def view(request, pk):
        campaign = _campaign(pk)
        with _refusals(request):
            service(campaign=campaign, actor=request.user)
            messages.success(request, done)
        return redirect(campaign)

    return view


campaign_open = _transition(services.campaign_open, "The campaign is open for coding.")
campaign_close = _transition(services.campaign_close, "The campaign is closed.")


# --------------------------------------------------------------------------- coding


@require_safe
@login_required
def next_record(request, pk):
    campaign = _campaign(pk)
    _allow(permissions.can_code(request.user, campaign))
    if not campaign.is_open:
        messages.info(request, "The campaign is not open for coding.")
        return redirect(campaign)
    record = selectors.next_record(campaign, request.user)
    if record is None:
        messages.success(request, "Nothing left for you to code in this campaign. Thank you!")
        return redirect(campaign)
    return redirect("campaigns:code", pk=campaign.pk, public_id=record.mitigation.public_id)


@require_http_methods(["GET", "POST"])
@login_required
def code_record(request, pk, public_id):
    campaign = _campaign(pk)
    _allow(permissions.can_code(request.user, campaign))
    record = _record(campaign, public_id)
    tree = selectors.taxonomy_tree(campaign.taxonomy)
    form = CodingForm(request.POST or None, nodes=tree)
    mine = Coding.objects.filter(record=record, coder=request.user).first()
    submitted = mine is not None and not mine.skipped
    if request.method == "POST" and form.is_valid():
        with _refusals(request):
            if form.skipping:
                services.coding_skip(
                    campaign=campaign, mitigation=record.mitigation, coder=request.user
                )
                messages.info(request, f"Skipped {record.mitigation.public_id}.")
            else:
                services.coding_submit(
                    campaign=campaign,
                    mitigation=record.mitigation,
                    coder=request.user,
                    nodes=form.picked(),
                    reasoning=form.cleaned_data["reasoning"],
                    unsure=form.cleaned_data["unsure"],
                )
                messages.success(request, f"Coded {record.mitigation.public_id}.")
            return redirect("campaigns:next", pk=campaign.pk)
    # An error stays on the page with what the coder picked.
    suggestions = []
    if campaign.show_suggestions and not submitted:
        suggestions = _suggestions(record.mitigation, campaign.taxonomy)
    reveal = submitted or not campaign.blind
    others = []
    if reveal:
        others = [
            coding
            for coding in selectors.codes_of([record.pk]).get(record.pk, [])
            if coding.coder_id != request.user.pk
        ]
    picked = set(form["node"].value() or []) if form.is_bound else set()
    if submitted and not form.is_bound:
        picked = {node.code for node in mine.nodes.all()}
    return render(
        request,
        "campaigns/code_record.html",
        {
            "campaign": campaign,
            "record": record,
            "mitigation": record.mitigation,
            "form": form,
            "tree": tree,
            "picked": picked,
            "suggestions": suggestions,
            "mine": mine,
            "submitted": submitted,
            "reveal": reveal,
            "others": others,
            "current": selectors.current_classification(record.mitigation, campaign.taxonomy)
            if reveal
            else None,
            "other_classifications": selectors.other_classifications(
                record.mitigation, campaign.taxonomy
            ),
            "mine_progress": selectors.coder_progress(campaign, request.user),
            "progress": selectors.campaign_progress(campaign),
            "input_type": "checkbox" if campaign.taxonomy.multi_valued else "radio",
        },
    )


def _suggestions(mitigation: Mitigation, taxonomy) -> list:
    try:
        from .suggest import suggestions  # written by the analytics helper
    except ImportError:
        return []
    return list(suggestions(mitigation, taxonomy, k=3))[:3]


# --------------------------------------------------------------------------- the report


@require_safe
@login_required
def campaign_report(request, pk):
    _allow(permissions.can_manage_campaigns(request.user))
    campaign = _campaign(pk)
    return render(
        request,
        "campaigns/campaign_report.html",
        {
            "campaign": campaign,
            "report": selectors.campaign_report(campaign),
            "progress": selectors.campaign_progress(campaign),
        },
    )


# --------------------------------------------------------------------------- adjudication


@require_safe
@login_required
def adjudication_queue(request, pk):
    _allow(permissions.can_manage_campaigns(request.user))
    campaign = _campaign(pk)
    items = selectors.adjudication_queue(campaign, request.user)
    return render(
        request,
        "campaigns/adjudication_queue.html",
        {
            "campaign": campaign,
            "items": items,
            "agreed": [item for item in items if item.agreed and not item.coded_by_viewer],
            "progress": selectors.campaign_progress(campaign),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def adjudicate(request, pk, public_id):
    _allow(permissions.can_manage_campaigns(request.user))
    campaign = _campaign(pk)
    record = _record(campaign, public_id)
    _allow(permissions.can_adjudicate(request.user, record))
    tree = selectors.taxonomy_tree(campaign.taxonomy)
    form = DecisionForm(request.POST or None, nodes=tree)
    codings = selectors.codes_of([record.pk]).get(record.pk, [])
    if request.method == "POST" and form.is_valid():
        with _refusals(request):
            services.record_decide(
                record=record,
                nodes=form.picked(),
                actor=request.user,
                note=form.cleaned_data["note"],
            )
            messages.success(
                request,
                f"{record.mitigation.public_id} decided and reclassified in "
                f"{campaign.taxonomy.name}.",
            )
            return redirect("campaigns:adjudication", pk=campaign.pk)
    picked = set(form["node"].value() or []) if form.is_bound else set()
    if record.state == RecordState.DECIDED and not form.is_bound:
        picked = {node.code for node in record.final_nodes.all()}
    counts: dict[str, int] = {}
    for coding in codings:
        for node in coding.nodes.all():
            counts[node.code] = counts.get(node.code, 0) + 1
    for node in tree:
        node.votes = counts.get(node.code, 0)  # type: ignore[attr-defined]
    if not form.is_bound and len({selectors.code_set(c) for c in codings}) == 1 and codings:
        picked = picked or set(selectors.code_set(codings[0]))
    return render(
        request,
        "campaigns/adjudicate.html",
        {
            "campaign": campaign,
            "record": record,
            "mitigation": record.mitigation,
            "codings": codings,
            "counts": counts,
            "form": form,
            "tree": tree,
            "picked": picked,
            "input_type": "checkbox" if campaign.taxonomy.multi_valued else "radio",
            "current": selectors.current_classification(record.mitigation, campaign.taxonomy),
        },
    )


@require_POST
@login_required
def accept_agreed(request, pk):
    campaign = _campaign(pk)
    with _refusals(request):
        decided = services.records_accept_agreed(campaign=campaign, actor=request.user)
        messages.success(
            request,
            f"Accepted {len(decided)} record{'s' if len(decided) != 1 else ''} on which the "
            "coders agreed.",
        )
    return redirect("campaigns:adjudication", pk=campaign.pk)


# --------------------------------------------------------------------------- codings in and out


@csrf_exempt
def import_codings(request, pk):
    """Bound the upload before anything reads the body; then the usual checks (see
    ``review.views.upload``)."""
    bound_upload(request)
    return _import_codings(request, pk)


@require_http_methods(["GET", "POST"])
@login_required
@csrf_protect
def _import_codings(request, pk):
    _allow(permissions.can_manage_campaigns(request.user))
    campaign = _campaign(pk)
    result = None
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if upload_form_is_valid(request, form, what="import"):
            upload = form.cleaned_data["file"]
            with _local_path(upload) as path:
                result = codings_io.import_codings(
                    campaign=campaign,
                    path=path,
                    file_name=upload.name,
                    actor=request.user,
                    dry_run=form.cleaned_data["dry_run"],
                )
            if result.applied:
                messages.success(request, f"Imported {result.codings} codings.")
                return redirect(campaign)
    else:
        form = ImportForm()
    return render(
        request,
        "campaigns/import_codings.html",
        {"campaign": campaign, "form": form, "result": result},
    )


@contextmanager
def _local_path(upload):
    if hasattr(upload, "temporary_file_path"):
        yield Path(upload.temporary_file_path())
        return
    suffix = Path(upload.name).suffix[:10]
    with tempfile.NamedTemporaryFile(prefix="airm-codings-", suffix=suffix) as copy:
        for chunk in upload.chunks():
            copy.write(chunk)
        copy.flush()
        yield Path(copy.name)


@require_safe
@login_required
def export_codings(request, pk, fmt):
    _allow(permissions.can_manage_campaigns(request.user))
    campaign = _campaign(pk)
    name = f"campaign-{campaign.pk}-codings.{fmt}"
    if fmt == "xlsx":
        response: HttpResponse = HttpResponse(
            codings_io.export_xlsx(campaign),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = StreamingHttpResponse(
            codings_io.export_csv(campaign), content_type="text/csv; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
