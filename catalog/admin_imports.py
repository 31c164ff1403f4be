"""The admin's spreadsheet pages: import batches (upload → preview → confirm → revert) and exports.

These are our own admin views on top of :mod:`catalog.imports`, not django-import-export's
ImportMixin: that mixin previews every row in one table, imports row by row through a
Resource (a few hundred rows a second) and has no notion of a batch that can be reverted.
Here the preview is summarised and paginated from the stored per-row plan, the confirm
re-runs the same pipeline in one transaction, and exports go through :mod:`catalog.exports`,
so every exported cell is formula-safe.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from import_export.admin import ImportMixin

from . import exports
from .imports.batches import (
    import_batch_cancel,
    import_batch_confirm,
    import_batch_preview,
    import_batch_revert,
)
from .imports.preview import preview_context
from .imports.readers import FileProblem
from .imports.uploads import bound_upload, upload_form_is_valid
from .jobs import job_latest_for
from .models import ImportBatch, ImportKind

# --------------------------------------------------------------------------- uploads


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label="The file holds", choices=ImportKind.choices)
    file = forms.FileField(
        label="Spreadsheet",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.tab,.txt,.xlsx,.json"}),
    )


class RevertForm(forms.Form):
    reason = forms.CharField(
        label="Reason for the revert",
        max_length=500,
        help_text="Recorded in the history of every record the revert changes.",
    )


# --------------------------------------------------------------------------- batches


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "file_name",
        "kind",
        "status",
        "created_by",
        "created_at",
        "rows_total",
        "rows_new",
        "rows_changed",
        "rows_unchanged",
        "rows_error",
    )
    list_display_links = ("id", "file_name")
    list_filter = ("status", "kind")
    search_fields = ("file_name", "checksum")
    list_select_related = ("created_by",)

    def has_add_permission(self, request):
        return request.user.has_perm("catalog.add_importbatch")

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path("upload/", self._upload_entry, name="{}_{}_upload".format(*info)),
            path(
                "<int:batch_id>/confirm/",
                wrap(self.confirm_view),
                name="{}_{}_confirm".format(*info),
            ),
            path(
                "<int:batch_id>/cancel/", wrap(self.cancel_view), name="{}_{}_cancel".format(*info)
            ),
            path(
                "<int:batch_id>/revert/", wrap(self.revert_view), name="{}_{}_revert".format(*info)
            ),
            *super().get_urls(),
        ]

    def _context(self, request, **extra):
        return {**self.admin_site.each_context(request), "opts": self.opts, **extra}

    # ----------------------------------------------------------------- upload

    def add_view(self, request, form_url="", extra_context=None):
        url = reverse("admin:catalog_importbatch_upload")
        query = request.GET.urlencode()
        return redirect(f"{url}?{query}" if query else url)

    @csrf_exempt
    def _upload_entry(self, request, *args, **kwargs):
        """Bound the upload before anything reads the request body, then check CSRF, the
        sign-in and the permission as every admin view does (Django's documented pattern)."""
        bound_upload(request)
        return self.admin_site.admin_view(self.upload_view)(request, *args, **kwargs)

    def upload_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = ImportUploadForm(request.POST, request.FILES)
            if upload_form_is_valid(request, form, what="import"):
                batch = import_batch_preview(
                    upload=form.cleaned_data["file"],
                    kind=form.cleaned_data["kind"],
                    actor=request.user,
                )
                return redirect("admin:catalog_importbatch_change", batch.pk)
        else:
            form = ImportUploadForm(initial={"kind": request.GET.get("kind")})
        return render(
            request,
            "admin/catalog/importbatch/upload.html",
            self._context(
                request,
                title="Import a spreadsheet",
                form=form,
                max_bytes=settings.IMPORT_MAX_BYTES,
                max_rows=settings.IMPORT_MAX_ROWS,
                preview_hours=settings.IMPORT_PREVIEW_HOURS,
            ),
        )

    # ----------------------------------------------------------------- the batch page

    def change_view(self, request, object_id, form_url="", extra_context=None):
        batch = get_object_or_404(ImportBatch.objects.select_related("created_by"), pk=object_id)
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        is_uploader = batch.created_by_id is not None and batch.created_by_id == request.user.pk
        return render(
            request,
            "admin/catalog/importbatch/detail.html",
            self._context(
                request,
                title=f"Import batch {batch.pk}: {batch.file_name}",
                batch=batch,
                **preview_context(batch, request.GET),
                is_uploader=is_uploader,
                job=job_latest_for(batch.ref),
                can_confirm=batch.can_be_confirmed and is_uploader,
                can_revert=batch.status == ImportBatch.Status.APPLIED
                and request.user.has_perm("catalog.change_importbatch"),
            ),
        )

    # ----------------------------------------------------------------- transitions

    def _batch(self, request, batch_id) -> ImportBatch:
        if not self.has_add_permission(request):
            raise PermissionDenied
        return get_object_or_404(ImportBatch, pk=batch_id)

    @staticmethod
    def _back(batch):
        return redirect("admin:catalog_importbatch_change", batch.pk)

    def confirm_view(self, request, batch_id):
        return require_POST(self._confirm)(request, batch_id)

    def _confirm(self, request, batch_id):
        batch = self._batch(request, batch_id)
        try:
            job = import_batch_confirm(batch=batch, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return self._back(batch)
        return redirect(job)

    def cancel_view(self, request, batch_id):
        return require_POST(self._cancel)(request, batch_id)

    def _cancel(self, request, batch_id):
        batch = self._batch(request, batch_id)
        try:
            import_batch_cancel(batch=batch, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Cancelled; the uploaded file was deleted.")
        return self._back(batch)

    def revert_view(self, request, batch_id):
        if not request.user.has_perm("catalog.change_importbatch"):
            raise PermissionDenied
        batch = get_object_or_404(ImportBatch, pk=batch_id)
        form = RevertForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                counts = import_batch_revert(
                    batch=batch, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                done = ", ".join(f"{count:,} {what}" for what, count in counts.items())
                messages.success(request, f"Reverted batch {batch.pk}: {done or 'nothing to do'}.")
                return self._back(batch)
        return render(
            request,
            "admin/catalog/importbatch/revert.html",
            self._context(request, title=f"Revert import batch {batch.pk}", batch=batch, form=form),
        )


# --------------------------------------------------------------------------- exports


class SpreadsheetExportMixin:
    """Export actions and a "this list" export for the mitigation changelist, both through
    :mod:`catalog.exports` (formula-safe cells, streamed)."""

    actions = ["export_csv", "export_xlsx", "export_json"]
    export_filename = "airm-mitigations"

    def get_urls(self):
        return [
            path(
                "export/<str:fmt>/",
                self.admin_site.admin_view(self.export_view),
                name="catalog_mitigation_export",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request, fmt):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if fmt not in exports.FORMATS:
            raise Http404(f"No export format {fmt}.")
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("These list filters are not valid.")
        return exports.response(
            changelist.get_queryset(request).order_by("number"), fmt, self.export_filename
        )

    def _export(self, queryset, fmt):
        return exports.response(queryset.order_by("number"), fmt, self.export_filename)

    @admin.action(description="Export the selected mitigations as CSV")
    def export_csv(self, request, queryset):
        return self._export(queryset, "csv")

    @admin.action(description="Export the selected mitigations as XLSX")
    def export_xlsx(self, request, queryset):
        return self._export(queryset, "xlsx")

    @admin.action(description="Export the selected mitigations as JSON")
    def export_json(self, request, queryset):
        return self._export(queryset, "json")


# --------------------------------------------------------------------------- sources and nodes


class TableExportMixin:
    """Export actions and "Export this list" links for a small table (source documents,
    taxonomy nodes), through :mod:`catalog.table_exports` (formula-safe cells, the layout the
    importer reads back)."""

    actions = ["export_table_csv", "export_table_xlsx", "export_table_json"]

    def export_table(self, queryset):
        raise NotImplementedError

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "export/<str:fmt>/",
                self.admin_site.admin_view(self.table_export_view),
                name="{}_{}_export".format(*info),
            ),
            *super().get_urls(),
        ]

    def table_export_view(self, request, fmt):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if fmt not in exports.FORMATS:
            raise Http404(f"No export format {fmt}.")
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("These list filters are not valid.")
        return self.export_table(changelist.get_queryset(request)).response(fmt)

    @admin.action(description="Export the selected rows as CSV")
    def export_table_csv(self, request, queryset):
        return self.export_table(queryset).response("csv")

    @admin.action(description="Export the selected rows as XLSX")
    def export_table_xlsx(self, request, queryset):
        return self.export_table(queryset).response("xlsx")

    @admin.action(description="Export the selected rows as JSON")
    def export_table_json(self, request, queryset):
        return self.export_table(queryset).response("json")


class BoundedImportMixin(ImportMixin):
    """django-import-export's import (upload → preview of every row → confirm), bounded: the
    upload is cut off at IMPORT_MAX_BYTES before the body is read, the file read by the
    importer's bounded readers (:class:`catalog.resources.BoundedSpreadsheet`), the whole
    file written in one transaction or not at all (a row that fails rolls everything back),
    and only for people who may add and change the records."""

    import_format: type = object  # a catalog.resources.BoundedSpreadsheet
    import_export_change_list_template = None

    @property
    def import_formats(self):
        return [self.import_format]

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        name = "{}_{}_import".format(*info)
        return [
            path("import/", self._import_entry, name=name),
            *(url for url in super().get_urls() if getattr(url, "name", "") != name),
        ]

    @csrf_exempt
    def _import_entry(self, request, *args, **kwargs):
        """Bound the upload before anything reads the body, then CSRF, sign-in and permission
        as every admin view (as the import batches' upload does)."""
        bound_upload(request)
        return self.admin_site.admin_view(self.import_action)(request, *args, **kwargs)

    def import_action(self, request, **kwargs):
        handler = getattr(request, "bounded_upload_handler", None)
        if request.method == "POST":
            request.FILES  # noqa: B018  (parse the body now, within the bound)
        if request.method == "POST" and handler is not None and handler.exceeded:
            if not self.has_import_permission(request):
                raise PermissionDenied
            messages.error(
                request,
                f"The file is larger than {filesizeformat(settings.IMPORT_MAX_BYTES)}, the most "
                "one import takes. Split it into several files.",
            )
            return redirect(request.path)
        return super().import_action(request, **kwargs)

    def process_result(self, result, request):
        """After the confirm: what was written, or (the whole file rolled back because a row
        failed, e.g. the catalog changed since the preview) which rows failed and why."""
        if not (result.has_errors() or result.has_validation_errors()):
            return super().process_result(result, request)
        failures = [
            f"row {row.number}: "
            + "; ".join(f"{field}: {' '.join(errors)}" for field, errors in row.error_dict.items())
            for row in result.invalid_rows[:10]
        ] + [
            f"row {row.number}: {error.error}"
            for row in result.error_rows[:10]
            for error in row.errors
        ]
        messages.error(
            request,
            "Nothing was imported: the file no longer imports cleanly ("
            + " · ".join(failures[:10])
            + "). Upload it again for a fresh preview.",
        )
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, FileProblem):
            form.add_error("import_file", str(e))
        else:
            super().add_data_read_fail_error_to_form(form, e)
