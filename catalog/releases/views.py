"""The release pages: the list, one release with its downloads and citation, what changed
since another release, and (for curators) cutting a new one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods, require_safe

from catalog import citations, roles
from catalog.validation import error_text

from . import diff, package, selectors, services
from .citations import release_citation
from .forms import ReleaseForm
from .models import Release

CHANGES_SHOWN = 500


def _published_or_404(version: str) -> Release:
    release = selectors.release_get_published(version)
    if release is None:
        raise Http404(f"No release {version}.")
    return release


def _citation(request, release: Release):
    url = request.build_absolute_uri(release.get_absolute_url())
    return release_citation(release, url=url, accessed=timezone.localdate())


@require_safe
def release_list(request):
    releases = list(selectors.release_list_published())
    is_curator = roles.is_curator(request.user)
    return render(
        request,
        "releases/release_list.html",
        {
            "releases": releases,
            "can_cut": is_curator,
            "unfinished": list(selectors.release_list_unfinished()) if is_curator else [],
        },
    )


@require_safe
def release_detail(request, version):
    release = _published_or_404(version)
    citation = _citation(request, release)
    return render(
        request,
        "releases/release_detail.html",
        {
            "release": release,
            "previous": selectors.release_previous(release),
            "files": [(path, release.files.get(path, {})) for path in sorted(release.files)],
            "citation_text": citations.plain_text(citation),
            "citation_formats": citations.rendered(
                citation,
                download=lambda fmt: reverse("releases:citation", args=[release.version, fmt]),
                name=f"airm-{release.version}",
            ),
            "permalink": citation.url,
        },
    )


@require_safe
def release_citation_download(request, version, fmt):
    release = _published_or_404(version)
    return citations.download(_citation(request, release), fmt, filename=f"airm-{version}")


@require_safe
def release_package(request, version):
    release = _published_or_404(version)
    citation = _citation(request, release)
    spool = package.package_file(release, url=citation.url, citation=citations.plain_text(citation))
    return FileResponse(
        spool,
        as_attachment=True,
        filename=f"airm-curator-{release.version}.zip",
        content_type="application/zip",
    )


@require_safe
def release_workbook(request, version):
    release = _published_or_404(version)
    spool = package.workbook_file(
        release, citation=citations.plain_text(_citation(request, release))
    )
    return FileResponse(
        spool,
        as_attachment=True,
        filename=f"airm-curator-{release.version}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# --------------------------------------------------------------------------- changes


class BadParameter(Exception):
    def __init__(self, parameter: str, message: str, status: int = 400):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message
        self.status = status


def _since(request, release: Release) -> Release:
    """The older release named by ``?since=`` (by default the one before ``release``)."""
    values = request.GET.getlist("since")
    if len(values) > 1:
        raise BadParameter("since", "Give one release to compare with.")
    value = values[0].strip() if values else ""
    if not value:
        previous = selectors.release_previous(release)
        if previous is None:
            raise BadParameter(
                "since",
                f"Release {release.version} is the first one: there is no older release to "
                "compare it with.",
            )
        return previous
    if len(value) > 40:
        raise BadParameter("since", "A release version has at most 40 characters.")
    older = selectors.release_get_published(value)
    if older is None:
        raise BadParameter("since", f"There is no published release {value!r}.", status=404)
    if older.pk == release.pk:
        raise BadParameter("since", "Compare a release with another, older one.")
    if (older.published_at, older.pk) > (release.published_at, release.pk):
        raise BadParameter(
            "since",
            f"Release {older.version} is newer than {release.version}: name an older one "
            f"(or see /releases/{older.version}/changes/?since={release.version}).",
        )
    return older


def _kind(request) -> str | None:
    kind = request.GET.get("kind", "").strip()
    if kind and kind not in diff.KINDS:
        raise BadParameter("kind", f"Choose one of {', '.join(diff.KINDS)}.")
    return kind or None


@require_safe
def release_changes(request, version):
    release = _published_or_404(version)
    try:
        older = _since(request, release)
        kind = _kind(request)
    except BadParameter as problem:
        return render(
            request,
            "releases/release_changes.html",
            {"release": release, "problem": problem},
            status=problem.status,
        )
    page = diff.diff_page(older, release, kind=kind, limit=CHANGES_SHOWN)
    return render(
        request,
        "releases/release_changes.html",
        {
            "release": release,
            "older": older,
            "page": page,
            "counts": [(name, page.counts.get(name, 0)) for name in diff.KINDS],
            "shown": len(page.changes),
            "limit": CHANGES_SHOWN,
            "others": selectors.release_list_published().exclude(pk=release.pk),
        },
    )


@require_safe
def release_changes_download(request, version, fmt):
    release = selectors.release_get_published(version)
    try:
        if release is None:
            raise BadParameter("version", f"No release {version}.", status=404)
        older = _since(request, release)
    except BadParameter as problem:
        return JsonResponse(
            {
                "status": problem.status,
                "detail": str(problem),
                "errors": [{"parameter": problem.parameter, "message": problem.message}],
            },
            status=problem.status,
        )
    filename = f"airm-changes-{older.version}-to-{release.version}.{fmt}"
    if fmt == "json":
        response = StreamingHttpResponse(
            diff.iter_json(older, release), content_type="application/json"
        )
    else:
        response = StreamingHttpResponse(
            diff.iter_csv(older, release), content_type="text/csv; charset=utf-8"
        )
    response["Content-Disposition"] = content_disposition_header(fmt == "csv", filename)
    return response


# --------------------------------------------------------------------------- cutting


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def release_new(request):
    """A curator cuts a release: the build runs in the background, followed on its job page."""
    if not roles.is_curator(request.user):
        raise PermissionDenied("Only curators cut releases.")
    form = ReleaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            release, job = services.release_start(
                version=form.cleaned_data["version"],
                notes=form.cleaned_data["notes"],
                actor=request.user,
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for name, problems in error.message_dict.items():
                    form.add_error(name if name in form.fields else None, problems)
            else:
                form.add_error(None, error_text(error))
        else:
            messages.success(request, f"Release {release.version} is being built.")
            return redirect(job)
    return render(
        request,
        "releases/release_form.html",
        {"form": form, "default_version": services.release_default_version()},
        status=400 if request.method == "POST" else 200,
    )
