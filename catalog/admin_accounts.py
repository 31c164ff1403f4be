"""People and groups in the admin: deactivated, not deleted; the review rules' groups kept.

- **People** who made history (a history row names them) cannot be deleted: deleting them
  would blank their name on every change they made. The admin offers *deactivate* instead
  (they can no longer sign in; their name stays on everything). The bulk delete action is
  gone; someone who never changed anything (a mistaken sign-up) can still be deleted from
  their page. The model refuses too (``pre_delete``, :func:`catalog.roles.refuse_user_deletion`).
- **Groups** that the review rules depend on (*Curators*, and any group holding a review
  permission) cannot be deleted or renamed, and *Curators* keeps the permission to decide
  proposals. A refused deletion is written to the admin's log, as every change here is (the
  person's or group's *History* page, and *Recent actions*).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.shortcuts import redirect
from django.urls import reverse

from . import roles

User = get_user_model()

for model in (User, Group):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(User)
class PersonAdmin(UserAdmin):
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "is_active",
        "is_staff",
        "last_login",
    )
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")
    actions = ["deactivate", "reactivate"]
    readonly_fields = ("recorded_changes",)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return [*fieldsets, ("Attribution", {"fields": ("recorded_changes",)})]

    @admin.display(description="Changes recorded in the history")
    def recorded_changes(self, obj) -> str:
        rows = roles.history_rows_by(obj) if obj and obj.pk else 0
        if not rows:
            return "None: this person can be deleted."
        return f"{rows:,}: this person can be deactivated, not deleted (their name stays on them)."

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        if obj is not None and roles.history_rows_by(obj):
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description="Deactivate the selected people (their name stays on their work)")
    def deactivate(self, request, queryset):
        done = 0
        for person in queryset.filter(is_active=True):
            if person.pk == request.user.pk:
                messages.error(request, "You cannot deactivate yourself.")
                continue
            person.is_active = False
            person.save(update_fields=["is_active"])
            self.log_change(
                request, person, "Deactivated: can no longer sign in; their name stays."
            )
            done += 1
        if done:
            messages.success(request, f"Deactivated {done} {'person' if done == 1 else 'people'}.")

    @admin.action(description="Reactivate the selected people")
    def reactivate(self, request, queryset):
        done = 0
        for person in queryset.filter(is_active=False):
            person.is_active = True
            person.save(update_fields=["is_active"])
            self.log_change(request, person, "Reactivated.")
            done += 1
        if done:
            messages.success(request, f"Reactivated {done} {'person' if done == 1 else 'people'}.")


class GroupForm(forms.ModelForm):
    class Meta:
        model = Group
        fields = ("name", "permissions")

    def clean_permissions(self):
        permissions = self.cleaned_data["permissions"]
        if self.instance.pk and self.instance.name == roles.CURATORS_GROUP:
            decide = roles.permission_object(roles.DECIDE_PERMISSION)
            if decide not in permissions:
                raise forms.ValidationError(
                    f"The {roles.CURATORS_GROUP} group keeps “{decide.name}”: it is what makes "
                    "its members curators."
                )
        return permissions


@admin.register(Group)
class ProtectedGroupAdmin(GroupAdmin):
    form = GroupForm

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)
        return actions

    def _protected(self, obj) -> bool:
        return obj is not None and obj.pk in roles.protected_group_ids()

    def has_delete_permission(self, request, obj=None):
        if self._protected(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "name") if self._protected(obj) else fields

    def delete_view(self, request, object_id, extra_context=None):
        group = self.get_object(request, unquote(object_id))
        if self._protected(group):
            if request.method == "POST":
                self.log_change(
                    request, group, "Refused to delete: the review rules depend on this group."
                )
            messages.error(
                request,
                f"The group “{group.name}” cannot be deleted: the review rules depend on it "
                "(its members would lose the right to decide or oversee proposals).",
            )
            return redirect(reverse("admin:auth_group_change", args=[group.pk]))
        return super().delete_view(request, object_id, extra_context)
