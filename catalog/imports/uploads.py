"""Receiving a spreadsheet upload and keeping it until it is confirmed, for every purpose.

Used by the admin import (catalog/admin_imports.py, catalog/imports/batches.py) and by
contributors' bulk proposals (review/views.py, review/bulk.py): the size bound on the request,
the private "uploads" storage (store, read back, delete), and the clean-up of expired previews
and orphaned files (``manage.py cleanup_uploads``). How a preview is recorded and shown is
:mod:`catalog.imports.preview`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.deconstruct import deconstructible


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


# --------------------------------------------------------------------------- the "uploads" storage
# A file awaiting confirmation is kept through Django's storage API only (settings.STORAGES
# "uploads"): a private folder by default, an S3-compatible bucket when configured. No step
# relies on the local disk of the server that stored it: reading takes a temporary copy.


class PrivateFolderStorage(FileSystemStorage):
    """The default "uploads" storage: the folder ``IMPORT_UPLOAD_DIR`` (read when used, so a
    test may point it elsewhere), mode 0700, files 0600, never served (no URL). Refused
    unless this process alone can enter it: a folder in a shared temporary directory could
    otherwise be someone else's."""

    def __init__(self, **kwargs):
        kwargs.setdefault("file_permissions_mode", 0o600)
        kwargs.setdefault("directory_permissions_mode", 0o700)
        super().__init__(**kwargs)

    @property
    def base_location(self):
        # FileSystemStorage keeps the ``location`` it was given in ``_location`` (untyped).
        return getattr(self, "_location", None) or settings.IMPORT_UPLOAD_DIR

    @property
    def location(self):
        folder = Path(self.base_location)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = folder.lstat()
        if (
            not stat.S_ISDIR(status.st_mode)
            or status.st_uid != os.getuid()
            or stat.S_IMODE(status.st_mode) & 0o077
        ):
            raise ImproperlyConfigured(
                f"IMPORT_UPLOAD_DIR ({folder}) must be a folder owned by this user that no one "
                "else can open (mode 0700), not a link."
            )
        return os.path.abspath(folder)

    def url(self, name):
        raise ValueError("Uploads awaiting confirmation are private: they have no URL.")


@deconstructible
class DatabaseStorage(Storage):
    """An "uploads" storage in the database (:class:`~catalog.models.StoredUpload`), chosen
    with ``UPLOADS_STORAGE=database``: every app server and worker reaches the files through
    the database they share. Meant for files of at most IMPORT_MAX_BYTES (20 MB by default)."""

    def _model(self):
        from ..models import StoredUpload

        return StoredUpload

    def _open(self, name, mode="rb"):
        row = self._model().objects.filter(name=name).values_list("content", flat=True).first()
        if row is None:
            raise FileNotFoundError(name)
        return ContentFile(bytes(row), name=name)

    def _save(self, name, content):
        content.seek(0)
        data = content.read()
        self._model().objects.create(name=name, content=data, size=len(data))
        return name

    def exists(self, name):
        return self._model().objects.filter(name=name).exists()

    def delete(self, name):
        self._model().objects.filter(name=name).delete()

    def listdir(self, path):
        return [], list(self._model().objects.values_list("name", flat=True))

    def size(self, name):
        return self._model().objects.get(name=name).size

    def get_modified_time(self, name):
        return self._model().objects.get(name=name).modified_at

    def url(self, name):
        raise ValueError("Uploads awaiting confirmation are private: they have no URL.")


def uploads_storage():
    return storages["uploads"]


def store_upload(upload) -> tuple[str, str, int]:
    """Keep an uploaded file in the "uploads" storage: ``(stored name, sha256, size)``.

    The stored name is random (never the uploader's). A file over IMPORT_MAX_BYTES is refused
    (:class:`~catalog.imports.readers.FileProblem`) before anything is stored.
    """
    from .readers import FileProblem

    limit = settings.IMPORT_MAX_BYTES
    digest, size = hashlib.sha256(), 0
    for chunk in upload.chunks():
        size += len(chunk)
        if size > limit:
            raise FileProblem(
                f"The file is larger than {filesizeformat(limit)}, the most one import "
                "takes (IMPORT_MAX_BYTES). Split it into several files."
            )
        digest.update(chunk)
    upload.seek(0)
    name = secrets.token_hex(16) + Path(upload.name or "").suffix.lower()[:10]
    stored = uploads_storage().save(name, upload)
    return stored, digest.hexdigest(), size


@contextmanager
def stored_copy(record) -> Iterator[Path | None]:
    """A local, temporary copy of ``record``'s stored upload (deleted afterwards), or None
    when there is none (never stored, already deleted, or lost)."""
    storage = uploads_storage()
    if not record.stored_file or not storage.exists(record.stored_file):
        yield None
        return
    suffix = Path(record.stored_file).suffix
    with tempfile.NamedTemporaryFile(prefix="airm-upload-", suffix=suffix) as copy:
        with storage.open(record.stored_file, "rb") as source:
            shutil.copyfileobj(source, copy, 1024 * 1024)
        copy.flush()
        yield Path(copy.name)


def delete_stored(record) -> None:
    """Delete ``record``'s stored upload and forget its name (the caller saves ``record``)."""
    if record.stored_file:
        uploads_storage().delete(record.stored_file)
        record.stored_file = ""


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- expiry and orphans


def _upload_models():
    from ..models import SpreadsheetUpload

    return [model for model in apps.get_models() if issubclass(model, SpreadsheetUpload)]


def uploads_expire() -> int:
    """Cancel every preview (of any purpose) left unconfirmed longer than
    IMPORT_PREVIEW_HOURS, and delete its file."""
    cutoff = timezone.now() - timedelta(hours=settings.IMPORT_PREVIEW_HOURS)
    expired = 0
    for model in _upload_models():
        for record in model.objects.filter(status="previewed", created_at__lt=cutoff):
            delete_stored(record)
            record.status = "cancelled"
            record.note = "The preview expired unconfirmed."
            record.save(update_fields=["status", "note", "stored_file"])
            expired += 1
    return expired


ORPHAN_GRACE = timedelta(hours=1)


def uploads_delete_orphans(*, older_than: timedelta = ORPHAN_GRACE) -> int:
    """Delete stored files no upload refers to (a request killed between storing the file and
    recording it, a crash): those older than ``older_than``, so that a preview being recorded
    right now keeps its file."""
    storage = uploads_storage()
    wanted = set()
    for model in _upload_models():
        wanted.update(model.objects.exclude(stored_file="").values_list("stored_file", flat=True))
    try:
        _, names = storage.listdir("")
    except FileNotFoundError:
        return 0
    cutoff = timezone.now() - older_than
    deleted = 0
    for name in names:
        if name in wanted:
            continue
        if storage.get_modified_time(name) < cutoff:
            storage.delete(name)
            deleted += 1
    return deleted
