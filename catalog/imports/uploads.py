"""What every spreadsheet upload page shares: the size bound and the preview's changed cells.

Used by the admin import (catalog/admin_imports.py) and by contributors' bulk proposals
(review/views.py), so that both refuse an oversized file the same way and show a row's changes
the same way.
"""

from __future__ import annotations

import difflib
import re

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html, format_html_join

DIFF_MIN_LENGTH = 80  # shorter values are shown whole, old above new


class BoundedUploadHandler(FileUploadHandler):
    """Stops reading an upload once it is larger than IMPORT_MAX_BYTES."""

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = settings.IMPORT_MAX_BYTES
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def bound_upload(request) -> None:
    """Install :class:`BoundedUploadHandler` first; call before anything reads the body."""
    handler = BoundedUploadHandler(request)
    request.upload_handlers.insert(0, handler)
    request.bounded_upload_handler = handler


def upload_form_is_valid(request, form, *, what: str) -> bool:
    """``form.is_valid()``, except that an upload cut off by :func:`bound_upload` is an error
    of the ``file`` field that names the limit ("…, the most one <what> takes")."""
    handler = getattr(request, "bounded_upload_handler", None)
    if handler is None or not handler.exceeded:
        return form.is_valid()
    form.is_valid()
    form.errors.pop("file", None)
    form.add_error(
        "file",
        f"The file is larger than {filesizeformat(settings.IMPORT_MAX_BYTES)}, the most "
        f"one {what} takes. Split it into several files.",
    )
    return False


def inline_diff(old: str, new: str):
    """Word-level differences of two long texts, as <del>/<ins> markup (escaped)."""
    old_words, new_words = re.split(r"(\s+)", old), re.split(r"(\s+)", new)
    parts = []
    matcher = difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(("{}", "".join(old_words[a1:a2])))
            continue
        if a2 > a1:
            parts.append(("<del>{}</del>", "".join(old_words[a1:a2])))
        if b2 > b1:
            parts.append(("<ins>{}</ins>", "".join(new_words[b1:b2])))
    return format_html_join("", "{}", ((format_html(t, v),) for t, v in parts))


def present_changes(changes) -> list[dict]:
    """A preview row's ``(column, old, new)`` changes, long texts with a word diff."""
    shown = []
    for column, old, new in changes:
        long = len(old) + len(new) > DIFF_MIN_LENGTH and old and new
        diff = inline_diff(old, new) if long else None
        shown.append({"column": column, "old": old, "new": new, "diff": diff})
    return shown
