"""The admin for proposals: a read-only window on the record.

Proposals change only through the workflow (their pages on the site), so that every transition
is guarded and logged; the admin shows them, their events and their comments, and lets nothing
be added, changed or deleted. Curators are appointed in the admin by adding a user to the
Curators group (or with ``manage.py grant_curator USERNAME``).
"""

from django.contrib import admin
from django.utils.html import format_html

from .models import (
    Comment,
    Profile,
    Proposal,
    ProposalApproval,
    ProposalBatch,
    ProposalEvent,
    ProposalUpload,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EventInline(ReadOnlyInline):
    model = ProposalEvent
    fields = ("created_at", "action", "actor", "from_state", "to_state", "revision", "note")
    readonly_fields = fields


class ApprovalInline(ReadOnlyInline):
    model = ProposalApproval
    fields = ("created_at", "curator", "revision")
    readonly_fields = fields


class CommentInline(ReadOnlyInline):
    model = Comment
    fields = ("created_at", "author", "body")
    readonly_fields = fields


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "state", "target", "author", "submitted_at", "claimed_by")
    list_filter = ("state", "kind", "taxonomy")
    search_fields = ("rationale", "author__username", "mitigation__name")
    list_select_related = ("author", "mitigation", "claimed_by")
    readonly_fields = ("site_link",)
    inlines = [ApprovalInline, CommentInline, EventInline]
    date_hierarchy = "created_at"

    @admin.display(description="record")
    def target(self, obj):
        return obj.mitigation.public_id if obj.mitigation_id else "(new)"

    @admin.display(description="on the site")
    def site_link(self, obj):
        return format_html('<a href="{}">Open the proposal page</a>', obj.get_absolute_url())


@admin.register(ProposalEvent)
class ProposalEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "proposal", "action", "actor", "from_state", "to_state")
    list_filter = ("action",)
    list_select_related = ("proposal", "actor")


@admin.register(ProposalBatch)
class ProposalBatchAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "created_by", "created_at")
    list_display_links = ("id", "title")
    list_select_related = ("created_by",)
    readonly_fields = ("site_link",)

    @admin.display(description="on the site")
    def site_link(self, obj):
        return format_html('<a href="{}">Open the batch page</a>', obj.get_absolute_url())


@admin.register(ProposalUpload)
class ProposalUploadAdmin(ReadOnlyAdmin):
    """Contributors' spreadsheets: who uploaded what, with what outcome (never their files)."""

    list_display = (
        "id",
        "file_name",
        "status",
        "created_by",
        "created_at",
        "rows_total",
        "rows_new",
        "rows_changed",
        "rows_error",
        "proposal_count",
        "batch",
    )
    list_display_links = ("id", "file_name")
    list_filter = ("status",)
    search_fields = ("file_name", "checksum", "created_by__username")
    list_select_related = ("created_by", "batch")
    exclude = ("stored_file",)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "email_on_submission", "email_on_my_proposals")
    search_fields = ("user__username", "user__email")
    autocomplete_fields = ("user",)

    def has_delete_permission(self, request, obj=None):
        return False
