"""Keyset ("cursor") pagination over whatever order a queryset is sorted in.

A page ends at a row; the cursor to the next page holds that row's values of every ordering
field (``number``; or ``name, number``; or ``-search_rank, number`` …), and the next page is
the rows strictly after them in that order. Unlike page numbers, a cursor keeps its place
while records are added or removed in front of it, and page 4,000 costs what page 1 costs
(an index seek rather than an ``OFFSET`` over everything before it).

The queryset must be ordered by plain field names or annotations, ending in a unique field
(every sort of the public list ends in the public ID's number), none of them NULL.

A cursor is opaque to clients: URL-safe base64 of a small JSON document naming the sort it
belongs to, the direction, and the key. One that was tampered with, or made for another sort,
is refused with a :class:`~catalog.api.errors.ParameterError` naming ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from operator import or_

from django.db import models
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Cast

from .errors import ParameterError

CURSOR_PARAM = "cursor"
MAX_CURSOR_LENGTH = 2000
NEXT, PREVIOUS = "n", "p"


@dataclass(frozen=True)
class OrderField:
    name: str
    descending: bool
    kind: type

    @property
    def alias(self) -> str:
        return "keyset_" + self.name.replace("__", "_")


@dataclass
class KeysetPage:
    rows: list
    next_cursor: str | None
    previous_cursor: str | None


def _kind(queryset: QuerySet, name: str) -> type:
    """The Python type of an ordering field's values (int, float, str or datetime)."""
    output = queryset.query.clone().resolve_ref(name, allow_joins=True).output_field
    if isinstance(output, models.DateTimeField):
        return datetime
    if isinstance(output, models.FloatField | models.DecimalField):
        return float
    if isinstance(output, models.IntegerField | models.AutoField):
        return int
    return str


def order_fields(queryset: QuerySet) -> list[OrderField]:
    fields = []
    for item in queryset.query.order_by:
        if not isinstance(item, str):
            raise TypeError(f"Keyset pagination needs field names to order by, not {item!r}.")
        name = item.lstrip("-")
        fields.append(OrderField(name, item.startswith("-"), _kind(queryset, name)))
    if not fields:
        raise TypeError("Keyset pagination needs an ordered queryset.")
    return fields


def encode_cursor(sort: str, direction: str, key: list) -> str:
    values = [value.isoformat() if isinstance(value, datetime) else value for value in key]
    raw = json.dumps({"s": sort, "d": direction, "k": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _refuse(message: str) -> ParameterError:
    return ParameterError([(CURSOR_PARAM, message)])


def decode_cursor(cursor: str, *, sort: str, fields: list[OrderField]) -> tuple[str, list]:
    """(direction, key) from a cursor this module made for ``sort``; else ParameterError."""
    not_ours = "Not a cursor this API made: follow the next or previous link of a list."
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise _refuse(not_ours)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        raise _refuse(not_ours) from None
    if not isinstance(data, dict) or data.get("d") not in (NEXT, PREVIOUS):
        raise _refuse(not_ours)
    if data.get("s") != sort:
        raise _refuse("This cursor belongs to another sort order; start again without a cursor.")
    values = data.get("k")
    if not isinstance(values, list) or len(values) != len(fields):
        raise _refuse(not_ours)
    key = []
    for field, value in zip(fields, values, strict=True):
        try:
            key.append(_typed(field.kind, value))
        except (TypeError, ValueError):
            raise _refuse(not_ours) from None
    return data["d"], key


def _typed(kind: type, value):
    if kind is datetime:
        if not isinstance(value, str):
            raise TypeError
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError
        return parsed
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError
        if not -(2**63) <= value < 2**63:
            raise ValueError
        return value
    if not isinstance(value, str) or "\x00" in value:
        raise TypeError
    return value


def _beyond(fields: list[OrderField], key: list, *, after: bool) -> Q:
    """Rows strictly after (or before) ``key`` in the order of ``fields``."""
    alternatives = []
    for index, field in enumerate(fields):
        ties = {f.alias: value for f, value in zip(fields[:index], key[:index], strict=True)}
        later = after != field.descending
        alternatives.append(Q(**ties, **{f"{field.alias}__{'gt' if later else 'lt'}": key[index]}))
    return reduce(or_, alternatives)


def _keyed(field: OrderField):
    """The value a cursor holds and compares with. A float is read and compared as double
    precision: PostgreSQL's ``ts_rank`` is a ``real``, whose text form is rounded, so a key read
    as text can sort just after its own row, and the next page would start with that row again."""
    if field.kind is float:
        return Cast(F(field.name), models.FloatField())
    return F(field.name)


def _key(row, fields: list[OrderField]) -> list:
    return [getattr(row, field.alias) for field in fields]


def paginate(queryset: QuerySet, *, page_size: int, sort: str, cursor: str | None) -> KeysetPage:
    """One page of ``queryset`` (ordered, see the module) from ``cursor`` (None: the first).

    One query, whatever the page's depth.
    """
    fields = order_fields(queryset)
    keyed = queryset.annotate(**{field.alias: _keyed(field) for field in fields})
    if not cursor:
        rows = list(keyed[: page_size + 1])
        more = len(rows) > page_size
        rows = rows[:page_size]
        return KeysetPage(
            rows=rows,
            next_cursor=encode_cursor(sort, NEXT, _key(rows[-1], fields)) if more else None,
            previous_cursor=None,
        )
    direction, key = decode_cursor(cursor, sort=sort, fields=fields)
    if direction == NEXT:
        rows = list(keyed.filter(_beyond(fields, key, after=True))[: page_size + 1])
        more = len(rows) > page_size
        rows = rows[:page_size]
        return KeysetPage(
            rows=rows,
            next_cursor=encode_cursor(sort, NEXT, _key(rows[-1], fields)) if more else None,
            previous_cursor=encode_cursor(sort, PREVIOUS, _key(rows[0], fields) if rows else key),
        )
    rows = list(keyed.filter(_beyond(fields, key, after=False)).reverse()[: page_size + 1])
    more = len(rows) > page_size
    rows = list(reversed(rows[:page_size]))
    return KeysetPage(
        rows=rows,
        next_cursor=encode_cursor(sort, NEXT, _key(rows[-1], fields) if rows else key),
        previous_cursor=encode_cursor(sort, PREVIOUS, _key(rows[0], fields)) if more else None,
    )
