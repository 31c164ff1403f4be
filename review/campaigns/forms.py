"""The forms of the campaign pages (bounded, each error naming its field)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from catalog.models import Taxonomy

from .models import MAX_CODERS_PER_RECORD, QUERY_MAX, REASONING_MAX, Campaign
from .services import EDITABLE_FIELDS

MAX_CODERS = 200


class CampaignForm(forms.ModelForm):
    coder_names = forms.CharField(
        label="Coders",
        required=False,
        max_length=5000,
        help_text="Usernames, separated by commas. Leave empty to let a group code.",
    )

    class Meta:
        model = Campaign
        fields = list(EDITABLE_FIELDS)  # what the services let a campaign's editor change
        widgets = {"instructions": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["taxonomy"].queryset = Taxonomy.objects.exclude(
            status=Taxonomy.Status.RETIRED
        ).order_by("order", "name")
        self.fields["coders_group"].queryset = Group.objects.order_by("name")
        self.fields["query"].widget.attrs["maxlength"] = QUERY_MAX
        self.fields["coders_per_record"].min_value = 1
        self.fields["coders_per_record"].max_value = MAX_CODERS_PER_RECORD
        self.fields["coders_per_record"].widget.attrs.update(
            {"min": 1, "max": MAX_CODERS_PER_RECORD}
        )
        if self.instance.pk:
            self.fields["coder_names"].initial = ", ".join(
                self.instance.coders.order_by("username").values_list("username", flat=True)
            )
            if self.instance.state != Campaign.State.DRAFT:
                for name in ("taxonomy", "query", "coders_per_record"):
                    self.fields[name].disabled = True

    def clean_query(self):
        return (self.cleaned_data.get("query") or "").strip().lstrip("?")

    def clean_coder_names(self):
        names = [n.strip() for n in self.cleaned_data["coder_names"].split(",") if n.strip()]
        if len(names) > MAX_CODERS:
            raise forms.ValidationError(f"At most {MAX_CODERS} coders; use a group instead.")
        users = list(get_user_model().objects.filter(username__in=names, is_active=True))
        unknown = sorted(set(names) - {user.username for user in users})
        if unknown:
            raise forms.ValidationError(f"No active user named {', '.join(unknown)}.")
        return users

    def data_for_service(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class CodingForm(forms.Form):
    """One coder's codes for a record: ``node`` once (or several times, multi-valued)."""

    node = forms.MultipleChoiceField(required=False, choices=())
    reasoning = forms.CharField(required=False, max_length=REASONING_MAX)
    unsure = forms.BooleanField(required=False)
    action = forms.ChoiceField(choices=[("submit", "Submit"), ("skip", "Skip")], required=False)

    def __init__(self, *args, nodes, **kwargs):
        super().__init__(*args, **kwargs)
        self.nodes = {node.code: node for node in nodes}
        self.fields["node"].choices = [(code, code) for code in self.nodes]

    @property
    def skipping(self) -> bool:
        return self.cleaned_data.get("action") == "skip"

    def picked(self):
        return [self.nodes[code] for code in self.cleaned_data.get("node") or []]


class DecisionForm(CodingForm):
    note = forms.CharField(required=False, max_length=REASONING_MAX)


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV or XLSX: record, coder, code, reasoning, unsure.")
    dry_run = forms.BooleanField(
        required=False, initial=True, label="Dry run: only show what it would do"
    )
