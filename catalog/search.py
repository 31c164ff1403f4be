"""Free-text search over mitigations: one function, one query syntax, two engines.

:func:`mitigation_search` filters a queryset of mitigations by what a visitor typed and
annotates each match with ``search_rank`` (higher is better). Callers never need to know which
engine ran. The syntax is the web's on both: every word must occur (English stop words aside),
``"exact phrase"``, ``-excluded``, ``or`` between alternatives, and the last word also matches
as a prefix, so ``red team`` finds "red teaming" while the visitor is still typing. Words are
stemmed (``models`` finds "model").

- **PostgreSQL**: full-text search on ``Mitigation.search_vector`` (kept by a trigger, name
  weighted A, section path B, definition C; GIN-indexed), ``websearch_to_tsquery`` with the
  last lexeme as a prefix, ranked by ``ts_rank`` over the weighted vector.
- **SQLite** (the embedded default): the FTS5 index ``catalog_mitigation_fts`` (migration
  0012: porter stemming, kept by triggers), queried with the same terms translated to FTS5's
  syntax by :func:`fts_query` and ranked by ``bm25`` with the same column weights (name over
  section over definition).
- **Anything else** (or a SQLite built without FTS5): :func:`fallback_search`, substring
  matches in the three fields, ranked by where they hit; no stemming.

A public ID (``A0983``) as the whole text finds that record, on every engine.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connections
from django.db.models import Case, F, FloatField, Func, IntegerField, Q, QuerySet, Value, When
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


def _fts5_available() -> bool:
    try:
        with sqlite3.connect(":memory:") as probe:
            row = probe.execute("SELECT sqlite_compileoption_used('ENABLE_FTS5')").fetchone()
        return bool(row and row[0])
    except sqlite3.Error:
        return False


SQLITE_FTS5 = _fts5_available()


def engine(queryset: QuerySet) -> str:
    """``postgresql``, ``fts5`` or ``fallback``: what :func:`mitigation_search` runs."""
    vendor = connections[queryset.db].vendor
    if vendor == "postgresql":
        return "postgresql"
    if vendor == "sqlite" and SQLITE_FTS5:
        return "fts5"
    return "fallback"


def uses_full_text(queryset: QuerySet) -> bool:
    return engine(queryset) != "fallback"


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
    chosen = engine(queryset)
    if chosen == "postgresql":
        return full_text_search(queryset, text)
    if chosen == "fts5":
        return fts5_search(queryset, text)
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


# --------------------------------------------------------------------------- SQLite FTS5

FTS_TABLE = "catalog_mitigation_fts"
# bm25's column weights: name, section path, definition (PostgreSQL's A, B, C: 1, 0.4, 0.2).
FTS_WEIGHTS = (10.0, 4.0, 2.0)
# PostgreSQL's English stop words (its "english" configuration leaves them out of a query).
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can did do does doing don down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is
    it its itself just me more most my myself no nor not now of off on once only or other our
    ours ourselves out over own s same she should so some such t than that the their theirs
    them themselves then there these they this those through to too under until up very was
    we were what when where which while who whom why will with you your yours yourself
    yourselves""".split()  # noqa: SIM905 (a word list reads better as text)
)
_FTS_WORD_RE = re.compile(r"\w+", re.UNICODE)


def _fts_string(words: list[str], *, prefix: bool = False) -> str:
    """Words as one FTS5 string (a phrase when several), quoted so nothing in them is syntax."""
    return '"' + " ".join(words).replace('"', '""') + '"' + ("*" if prefix else "")


def fts_query(text: str) -> str | None:
    """What was typed, as an FTS5 query with PostgreSQL's web-search meaning, or None if it
    holds no word to look for.

    Plain words are ANDed (stop words dropped, as PostgreSQL does), ``"a phrase"`` stays a
    phrase, ``or`` between two terms makes them alternatives, ``-word`` excludes, and the last
    plain word (when the text ends with it) also matches as a prefix. Every term is quoted,
    so FTS5's operators cannot be injected.
    """
    terms = parse_terms(text)
    groups: list[list[str]] = [[]]
    excluded: list[str] = []
    pending_or = False
    for index, term in enumerate(terms):
        words = _FTS_WORD_RE.findall(term.text.lower())
        if not term.phrase:
            if term.text.lower() == "or" and not term.negated:
                pending_or = bool(groups[-1])
                continue
            words = [word for word in words if word not in STOP_WORDS]
        if not words:
            continue
        last = index == len(terms) - 1
        prefix = last and not term.phrase and not term.negated and text.endswith(term.text)
        item = _fts_string(words, prefix=prefix and len(words) == 1)
        if term.negated:
            excluded.append(item)
            continue
        if pending_or:
            groups[-1] = [f"({' AND '.join(groups[-1])}) OR {item}"]
            pending_or = False
        else:
            groups[-1].append(item)
    wanted = groups[-1]
    if not wanted:
        return None
    query = " AND ".join(wanted)
    for item in excluded:
        query = f"({query}) NOT {item}"
    return query


class Bm25(Func):
    """FTS5's bm25 rank of the matched index row whose column is given, negated so that
    higher is better; the column's table alias names the index (static SQL)."""

    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])  # "<alias>"."name"
        table = sql.rsplit(".", 1)[0]
        return f"-bm25({table}, {', '.join(map(str, FTS_WEIGHTS))})", params


def fts5_search(queryset: QuerySet[Mitigation], text: str) -> QuerySet[Mitigation]:
    """SQLite's FTS5 index, joined to the mitigations (``MitigationSearchIndex``): the index
    finds the matches and gives each its bm25 rank, computed once per match."""
    match = fts_query(text)
    if match is None:
        return queryset.none().annotate(search_rank=Value(0.0, output_field=FloatField()))
    return queryset.filter(search_index__name__fts_match=match).annotate(
        search_rank=Bm25(F("search_index__name"))
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
