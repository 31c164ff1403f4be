from django import forms

from catalog import limits

from .models import VERSION_HELP


class ReleaseForm(forms.Form):
    version = forms.RegexField(
        regex=r"^[0-9][0-9A-Za-z._-]{0,39}$",
        max_length=40,
        required=False,
        help_text=f"Leave empty for today's date (a second release today gets .2). {VERSION_HELP}",
        error_messages={"invalid": VERSION_HELP},
    )
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=limits.NOTE,
        required=False,
        help_text="What this release is, for readers (shown on its page and in its package).",
    )
