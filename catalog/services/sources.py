"""Writes to source documents."""

from __future__ import annotations

from collections.abc import Mapping

from ..models import (
    SourceDocument,
)
from ._base import SOURCE_FIELDS, _assign, _save, _unit_of_work


def source_document_create(*, actor, reason: str, ref: str = "", **fields) -> SourceDocument:
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        source = SourceDocument()
        _assign(source, fields, SOURCE_FIELDS)
        _save(source)
        return source


def source_document_update(
    *, source: SourceDocument, data: Mapping, actor, reason: str, ref: str = ""
):
    with _unit_of_work(actor=actor, reason=reason, ref=ref):
        source = SourceDocument.objects.select_for_update().get(pk=source.pk)
        changed = _assign(source, data, SOURCE_FIELDS)
        if changed:
            _save(source)
        return source, changed
