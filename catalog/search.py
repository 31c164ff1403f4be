"""Free-text search over mitigations: one function, two engines.

:func:`mitigation_search` filters a queryset of mitigations by what a visitor typed and
annotates each match with ``search_rank`` (higher is better). Callers never need to know which
engine ran:

- **PostgreSQL**: full-text search on ``Mitigation.search_vector`` (kept by a trigger, name
  weighted A, section path B, definition C; GIN-indexed). The text is read the way web search
  engines read it (``websearch_to_tsquery``: ``"exact phrase"``, ``-excluded``, ``or``), and
  its last word also matches as a prefix, so ``red team`` finds "red teaming" while the visitor
  is still typing. Ranking is ``ts_rank`` over the weighted vector, so a word in the name
  outranks the same word in the definition.
- **Anything else (SQLite)**: every word (or quoted phrase) must occur, case-insensitively, in
  the name, section path or definition (a substring match, so prefixes match too); ``-word``
  excludes. The rank counts where each word occurs: name 3, section 2, definition 1. There is
  no stemming (``models`` does not find "model"), and case folding is ASCII-only.

A public ID (``A0983``) as the whole text finds that record, on both engines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connections
from django.db.models import Case, F, FloatField, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Cast

from .models import Mitigation, parse_public_id

SEARCH_CONFIG = "english"  # the configuration of the trigger that fills search_vector
MAX_LENGTH = 200
MAX_TERMS = 12

_TOKEN_RE = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORDISH_RE = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True)
class Term:
    text: str
    negated: bool = False
    phrase: bool = False


def parse_terms(text: str) -> list[Term]:
    """Split what was typed into words and quoted phrases; ``-`` in front negates."""
    terms = []
    for match in _TOKEN_RE.finditer(text[:MAX_LENGTH]):
        negated_phrase, phrase, word = match.groups()
        if phrase is not None:
            if phrase.strip():
                terms.append(Term(phrase.strip(), negated=bool(negated_phrase), phrase=True))
        elif word.startswith("-") and len(word) > 1:
            terms.append(Term(word[1:], negated=True))
        elif _WORDISH_RE.search(word):
            terms.append(Term(word))
    return terms[:MAX_TERMS]


def normalise(text: str | None) -> str:
    return " ".join((text or "").split())[:MAX_LENGTH]


def uses_full_text(queryset: QuerySet) -> bool:
    return connections[queryset.db].vendor == "postgresql"


def mitigation_search(queryset: QuerySet[Mitigation], text: str | None) -> QuerySet[Mitigation]:
    """The mitigations of ``queryset`` that match ``text``, annotated with ``search_rank``.

    Empty text leaves the queryset as it is (every rank 0).
    """
    text = normalise(text)
    if not text:
        return queryset.annotate(search_rank=Value(0.0, output_field=FloatField()))
    number = parse_public_id(text)
    if number is not None:
        return queryset.filter(number=number).annotate(
            search_rank=Value(1.0, output_field=FloatField())
        )
    if uses_full_text(queryset):
        return full_text_search(queryset, text)
    return fallback_search(queryset, text)


# --------------------------------------------------------------------------- PostgreSQL


class WebSearchQuery(SearchQuery):
    """``websearch_to_tsquery`` whose last lexeme also matches as a prefix (``'team':*``).

    The web-search parse is kept whole (so ``a or b``, ``"a phrase"`` and ``-word`` keep their
    meaning and precedence); only the final lexeme of its text form gains ``:*``. The regular
    expression and its replacement are constants passed as parameters.
    """

    def __init__(self, value, *, config):
        super().__init__(value, config=config, search_type="websearch")

    def as_sql(self, compiler, connection, function=None, template=None):
        sql, params = super().as_sql(compiler, connection, function, template)
        return (
            f"CAST(regexp_replace(CAST({sql} AS text), %s, %s) AS tsquery)",
            (*params, "'$", "':*"),
        )


def build_query(text: str) -> SearchQuery | None:
    """The tsquery for ``text``: web-search syntax, the last plain word also as a prefix."""
    terms = parse_terms(text)
    if not terms:
        return None
    last = terms[-1]
    if last.negated or last.phrase or not text.endswith(last.text):
        return SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
    return WebSearchQuery(text, config=SEARCH_CONFIG)


def full_text_search(queryset: QuerySet[Mitigation], text: str) -> QuerySet[Mitigation]:
    query = build_query(text)
    if query is None:
        return queryset.none().annotate(search_rank=Value(0.0, output_field=FloatField()))
    return queryset.filter(search_vector=query).annotate(
        search_rank=SearchRank(F("search_vector"), query)
    )


# --------------------------------------------------------------------------- fallback

_FIELD_WEIGHTS = (("name", 3), ("section_path", 2), ("definition", 1))


def _anywhere(term: str) -> Q:
    condition = Q()
    for field, _ in _FIELD_WEIGHTS:
        condition |= Q(**{f"{field}__icontains": term})
    return condition


def fallback_search(queryset: QuerySet[Mitigation], text: str) -> QuerySet[Mitigation]:
    """The portable search: substring matches on the three fields, ranked by where they hit.

    Works on every database (the test suite runs it on PostgreSQL as well).
    """
    terms = parse_terms(text)
    wanted = [term for term in terms if not term.negated]
    if not wanted:
        return queryset.none().annotate(search_rank=Value(0.0, output_field=FloatField()))
    for term in terms:
        queryset = (
            queryset.exclude(_anywhere(term.text))
            if term.negated
            else queryset.filter(_anywhere(term.text))
        )
    score = sum(
        (
            Case(
                When(**{f"{field}__icontains": term.text}, then=Value(weight)),
                default=Value(0),
                output_field=IntegerField(),
            )
            for term in wanted
            for field, weight in _FIELD_WEIGHTS
        ),
        Value(0),
    )
    return queryset.annotate(search_rank=Cast(score, FloatField()))
