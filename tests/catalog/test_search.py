"""Free-text search: one function, full text on PostgreSQL and on SQLite (FTS5), a portable
fallback elsewhere.

The fallback is exercised directly on every database, so it is tested on PostgreSQL runs too;
the dispatcher and the full-text behaviour (stemming, weights, web syntax) on both databases;
what is particular to one engine (the stored vector, the FTS5 index and its triggers) on that
one.
"""

import pytest
from django.db import connection

from catalog import search, services
from catalog.models import Mitigation
from tests.factories import MitigationFactory

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.postgres_only


def names(queryset):
    return [m.name for m in queryset.order_by("-search_rank", "number")]


@pytest.fixture
def corpus():
    """Mitigations whose only shared vocabulary is made-up words, so the demo data stays out."""
    return {
        "in_name": MitigationFactory(
            name="Quorbal teaming drills",
            definition="Staff rehearse responses together.",
            section_path="Operations",
        ),
        "in_definition": MitigationFactory(
            name="Rehearsal schedule",
            definition="A yearly plan for quorbal exercises across teams.",
            section_path="Operations",
        ),
        "in_section": MitigationFactory(
            name="Escalation ladder",
            definition="Who is called when an alarm goes off.",
            section_path="Quorbal readiness > Escalation",
        ),
        "other": MitigationFactory(
            name="Zentrix isolation of model weights",
            definition="Weights never leave the secure enclave.",
            section_path="Security",
        ),
    }


class TestParsing:
    def test_words_phrases_and_exclusions_are_told_apart(self):
        terms = search.parse_terms('red "model weights" -bio teaming')
        assert terms == [
            search.Term("red"),
            search.Term("model weights", phrase=True),
            search.Term("bio", negated=True),
            search.Term("teaming"),
        ]

    def test_punctuation_alone_is_not_a_term(self):
        assert search.parse_terms("& | ! ( ) :* -") == []

    def test_text_is_bounded(self):
        assert len(search.normalise("word " * 500)) == search.MAX_LENGTH
        assert len(search.parse_terms("w " * 100)) == search.MAX_TERMS


class TestEitherEngine:
    """What ``mitigation_search`` promises whichever database runs it."""

    def test_empty_text_keeps_every_row_with_rank_zero(self, corpus):
        queryset = search.mitigation_search(Mitigation.objects.all(), "   ")
        assert queryset.count() == Mitigation.objects.count()
        assert {m.search_rank for m in queryset[:5]} == {0.0}

    def test_a_word_finds_it_in_name_definition_and_section(self, corpus):
        found = names(search.mitigation_search(Mitigation.objects.all(), "quorbal"))
        assert set(found) == {
            corpus["in_name"].name,
            corpus["in_definition"].name,
            corpus["in_section"].name,
        }

    def test_a_match_in_the_name_ranks_first(self, corpus):
        found = names(search.mitigation_search(Mitigation.objects.all(), "quorbal"))
        assert found[0] == corpus["in_name"].name

    def test_every_word_must_match(self, corpus):
        found = names(search.mitigation_search(Mitigation.objects.all(), "quorbal yearly"))
        assert found == [corpus["in_definition"].name]

    def test_the_last_word_may_be_the_start_of_a_word(self, corpus):
        found = names(search.mitigation_search(Mitigation.objects.all(), "zentrix isol"))
        assert found == [corpus["other"].name]

    def test_a_minus_excludes_a_word(self, corpus):
        found = names(search.mitigation_search(Mitigation.objects.all(), "quorbal -escalation"))
        assert corpus["in_section"].name not in found
        assert corpus["in_name"].name in found

    def test_a_public_id_finds_that_record(self, corpus):
        target = corpus["other"]
        found = search.mitigation_search(Mitigation.objects.all(), target.public_id)
        assert list(found) == [target]

    def test_a_public_id_typed_in_lower_case_finds_that_record(self, corpus):
        target = corpus["other"]
        found = search.mitigation_search(Mitigation.objects.all(), target.public_id.lower())
        assert list(found) == [target]

    @pytest.mark.parametrize(
        "text", ['"unclosed', "a & b | !c", "(((", "'; DROP TABLE x; --", "::*"]
    )
    def test_odd_input_is_searched_not_run(self, corpus, text):
        list(search.mitigation_search(Mitigation.objects.all(), text))
        assert Mitigation.objects.count() >= 4

    def test_search_keeps_the_filters_already_applied(self, corpus):
        services.mitigation_retire(mitigation=corpus["in_name"], actor=None, reason="Test")
        found = names(search.mitigation_search(Mitigation.objects.active(), "quorbal"))
        assert corpus["in_name"].name not in found


class TestFallback:
    """The portable engine, run directly so PostgreSQL runs test it too."""

    def test_uses_substrings_of_all_three_fields(self, corpus):
        found = names(search.fallback_search(Mitigation.objects.all(), "uorba"))
        assert len(found) == 3

    def test_ranks_name_over_section_over_definition(self, corpus):
        found = names(search.fallback_search(Mitigation.objects.all(), "quorbal"))
        assert found == [
            corpus["in_name"].name,
            corpus["in_section"].name,
            corpus["in_definition"].name,
        ]

    def test_a_quoted_phrase_must_appear_as_written(self, corpus):
        assert names(search.fallback_search(Mitigation.objects.all(), '"teaming drills"')) == [
            corpus["in_name"].name
        ]
        assert names(search.fallback_search(Mitigation.objects.all(), '"drills teaming"')) == []

    def test_only_exclusions_find_nothing(self, corpus):
        assert search.fallback_search(Mitigation.objects.all(), "-quorbal").count() == 0

    def test_is_case_insensitive(self, corpus):
        assert search.fallback_search(Mitigation.objects.all(), "QUORBAL").count() == 3


def test_the_search_runs_on_the_engine_of_the_database(corpus):
    queryset = search.mitigation_search(Mitigation.objects.all(), "quorbal")
    sql = str(queryset.query)
    assert search.uses_full_text(queryset)
    if connection.vendor == "postgresql":
        assert "@@" in sql
    else:
        assert f'"{search.FTS_TABLE}" MATCH' in sql
        assert "bm25" in sql


class TestFullText:
    """The same syntax and ranking on PostgreSQL and on SQLite's FTS5 index."""

    def test_words_are_stemmed(self, corpus):
        found = names(search.mitigation_search(Mitigation.objects.all(), "rehearsing"))
        assert corpus["in_name"].name in found  # "rehearse" in its definition

    def test_the_last_word_matches_as_a_prefix_of_a_stem(self):
        found = names(search.mitigation_search(Mitigation.objects.all(), "red team"))
        assert "Red teaming with domain experts before release" in found
        assert "Continued red teaming of deployed models" in found

    def test_a_quoted_phrase_keeps_its_word_order(self, corpus):
        assert names(search.mitigation_search(Mitigation.objects.all(), '"teaming drills"')) == [
            corpus["in_name"].name
        ]
        assert names(search.mitigation_search(Mitigation.objects.all(), '"drills teaming"')) == []

    def test_or_widens_the_search(self, corpus):
        found = names(search.mitigation_search(Mitigation.objects.all(), "zentrix or escalation"))
        assert set(found) == {corpus["other"].name, corpus["in_section"].name}

    def test_the_name_outweighs_the_definition(self, corpus):
        ranked = search.mitigation_search(Mitigation.objects.all(), "quorbal").order_by(
            "-search_rank"
        )
        by_name = {m.name: m.search_rank for m in ranked}
        assert by_name[corpus["in_name"].name] > by_name[corpus["in_section"].name]
        assert by_name[corpus["in_section"].name] > by_name[corpus["in_definition"].name]

    def test_stop_words_alone_find_nothing_and_do_not_fail(self):
        assert search.mitigation_search(Mitigation.objects.all(), "the").count() == 0
        assert search.mitigation_search(Mitigation.objects.all(), "red the").count() > 0

    def test_the_vector_follows_an_edit(self, corpus):
        services.mitigation_update(
            mitigation=corpus["other"],
            data={"name": "Plinthwise enclave for weights"},
            actor=None,
            reason="Rename",
        )
        assert names(search.mitigation_search(Mitigation.objects.all(), "plinthwise")) == [
            "Plinthwise enclave for weights"
        ]
        assert search.mitigation_search(Mitigation.objects.all(), "zentrix").count() == 0

    def test_a_phrase_an_exclusion_and_a_prefix_together(self, corpus):
        found = names(search.mitigation_search(Mitigation.objects.all(), '"teaming drills" -x'))
        assert found == [corpus["in_name"].name]
        found = names(search.mitigation_search(Mitigation.objects.all(), "quorbal -readiness exer"))
        assert found == [corpus["in_definition"].name]

    def test_a_retired_record_leaves_the_search_when_it_is_filtered_out(self, corpus):
        services.mitigation_retire(mitigation=corpus["other"], actor=None, reason="Test")
        assert search.mitigation_search(Mitigation.objects.active(), "zentrix").count() == 0
        assert search.mitigation_search(Mitigation.objects.all(), "zentrix").count() == 1

    @on_postgres
    def test_matches_use_the_stored_vector(self):
        sql = str(search.mitigation_search(Mitigation.objects.all(), "red team").query)
        assert '"search_vector" @@' in sql


sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the FTS5 index exists on SQLite only"
)


INTEGRITY_CHECK = (
    "INSERT INTO catalog_mitigation_fts(catalog_mitigation_fts) VALUES ('integrity-check')"
)


@sqlite_only
class TestFts5:
    def test_typed_operators_are_quoted_not_obeyed(self):
        # AND binds tighter than OR, as in PostgreSQL's web search: (near b) or (x y*).
        assert search.fts_query('NEAR(a b) OR "x" AND y*') == '("near" AND "b") OR "x" AND "y"*'

        assert search.fts_query("the or -and") is None

    def test_the_index_stays_consistent_with_the_table(self, corpus):
        services.mitigation_update(
            mitigation=corpus["other"], data={"definition": "Kept apart."}, actor=None, reason="T"
        )
        with connection.cursor() as cursor:
            # FTS5 compares its index with the table and raises if they disagree.
            cursor.execute(INTEGRITY_CHECK)
        assert search.mitigation_search(Mitigation.objects.all(), "enclave").count() == 0

    def test_the_triggers_that_keep_the_index_are_in_place(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                ["catalog_mitigation"],
            )
            triggers = {name for (name,) in cursor.fetchall()}
        assert {f"{search.FTS_TABLE}_{event}" for event in ("insert", "update", "delete")} <= (
            triggers
        )
