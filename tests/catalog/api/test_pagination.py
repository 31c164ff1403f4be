"""Keyset pagination (catalog.api.pagination) over every sort of the public list."""

import base64
import json

import pytest
from django.http import QueryDict

from catalog.api.errors import ParameterError
from catalog.api.pagination import decode_cursor, encode_cursor, order_fields, paginate
from catalog.filters import SORTS, MitigationFilterSet
from catalog.models import Mitigation
from tests.factories import MitigationFactory

pytestmark = pytest.mark.django_db


def filterset(query: str) -> MitigationFilterSet:
    result = MitigationFilterSet(QueryDict(query))
    assert result.is_valid(), result.error_messages()
    return result


def walk(query: str, size: int) -> list[int]:
    """Every number of the list for ``query``, page by page through the cursors."""
    chosen = filterset(query)
    numbers, cursor = [], None
    while True:
        page = paginate(chosen.qs, page_size=size, sort=chosen.sort_key, cursor=cursor)
        numbers += [row.number for row in page.rows]
        if page.next_cursor is None:
            return numbers
        cursor = page.next_cursor


@pytest.fixture
def ties():
    for n in range(7):
        MitigationFactory(name="A tie", section_path="Same section", definition=f"model {n}")


@pytest.mark.usefixtures("ties")
@pytest.mark.parametrize("sort", list(SORTS))
@pytest.mark.parametrize("size", [1, 3, 10])
def test_cursors_walk_every_sort_in_its_order_without_gaps_or_repeats(sort, size):
    query = f"sort={sort}&q=model" if sort == "relevance" else f"sort={sort}"
    expected = [m.number for m in filterset(query).qs]
    assert len(expected) > size
    assert walk(query, size) == expected


def test_the_last_page_has_no_next_cursor_and_an_empty_list_no_cursor_at_all():
    chosen = filterset("year_min=2099")
    page = paginate(chosen.qs, page_size=10, sort=chosen.sort_key, cursor=None)
    assert (page.rows, page.next_cursor, page.previous_cursor) == ([], None, None)


def test_a_previous_cursor_leads_back_to_the_page_before():
    chosen = filterset("sort=name")
    first = paginate(chosen.qs, page_size=5, sort="name", cursor=None)
    second = paginate(chosen.qs, page_size=5, sort="name", cursor=first.next_cursor)
    back = paginate(chosen.qs, page_size=5, sort="name", cursor=second.previous_cursor)
    assert [r.number for r in back.rows] == [r.number for r in first.rows]
    assert back.previous_cursor is None


def test_a_page_is_one_query(django_assert_num_queries):
    chosen = filterset("sort=source")
    first = paginate(chosen.qs, page_size=5, sort="source", cursor=None)
    with django_assert_num_queries(1):
        paginate(chosen.qs, page_size=5, sort="source", cursor=first.next_cursor)


def test_the_order_is_read_from_the_queryset():
    fields = order_fields(filterset("sort=changed").qs)
    assert [(f.name, f.descending, f.kind.__name__) for f in fields] == [
        ("updated_at", True, "datetime"),
        ("number", True, "int"),
    ]


def test_an_unordered_queryset_is_refused():
    with pytest.raises(TypeError):
        order_fields(Mitigation.objects.order_by())


def raw(document) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sort", "cursor"),
    [
        ("id", "%%%"),
        ("id", base64.urlsafe_b64encode(b"\xff\xfe").decode()),
        ("id", raw([1, 2])),
        ("id", raw({"s": "id", "d": "x", "k": [1]})),
        ("id", raw({"s": "id", "d": "n", "k": "1"})),
        ("id", raw({"s": "id", "d": "n", "k": [1, 2]})),
        ("id", raw({"s": "id", "d": "n", "k": ["1"]})),
        ("id", raw({"s": "id", "d": "n", "k": [True]})),
        ("id", raw({"s": "id", "d": "n", "k": [2**70]})),
        ("id", raw({"s": "name", "d": "n", "k": [1]})),
        ("changed", raw({"s": "changed", "d": "n", "k": ["yesterday", 1]})),
        ("changed", raw({"s": "changed", "d": "n", "k": ["2025-01-01T00:00:00", 1]})),
        ("name", raw({"s": "name", "d": "n", "k": ["nul\x00", 1]})),
        ("id", "x" * 3000),
    ],
)
def test_a_tampered_cursor_is_refused_naming_the_parameter(sort, cursor):
    chosen = filterset(f"sort={sort}")
    with pytest.raises(ParameterError) as refused:
        decode_cursor(cursor, sort=chosen.sort_key, fields=order_fields(chosen.qs))
    assert refused.value.problems[0][0] == "cursor"


def test_a_cursor_round_trips_its_key():
    chosen = filterset("sort=changed")
    row = chosen.qs.first()
    cursor = encode_cursor("changed", "n", [row.updated_at, row.number])
    direction, key = decode_cursor(cursor, sort="changed", fields=order_fields(chosen.qs))
    assert (direction, key) == ("n", [row.updated_at, row.number])
