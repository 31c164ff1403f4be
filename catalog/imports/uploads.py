"""Receiving a spreadsheet upload, for every upload page: the size bound.

Used by the admin import (catalog/admin_imports.py) and by contributors' bulk proposals
(review/views.py), so that both refuse an oversized file the same way. How a preview is
recorded and shown is :mod:`catalog.imports.preview`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.template.defaultfilters import filesizeformat


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
