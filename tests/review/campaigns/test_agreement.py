"""The agreement statistics, against worked textbook examples and reference implementations.

The references (scikit-learn, statsmodels, the ``krippendorff`` package) are used here only;
``review.campaigns.agreement`` itself needs numpy alone.
"""

from __future__ import annotations

import json
import random

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

from review.campaigns.agreement import (
    at_level,
    code_sort_key,
    compute,
    landis_koch,
    level_map,
    masi_distance,
)


def one(code):
    return frozenset([code])


def from_labels(*coders, names=None):
    """Units from one list of labels per coder (None: that coder did not code the unit)."""
    names = names or [f"coder{i + 1}" for i in range(len(coders))]
    units = {}
    for unit, labels in enumerate(zip(*coders, strict=True)):
        units[unit] = {
            name: one(str(label)) for name, label in zip(names, labels, strict=True) if label
        }
    return units


def from_table(table):
    """Units from a Fleiss table (units x categories: how many coders chose each category).

    Each unit gets its own coders, as in Fleiss (1971), where the six psychiatrists were not
    the same six for every patient."""
    units = {}
    for unit, row in enumerate(table):
        labels = [str(category + 1) for category, count in enumerate(row) for _ in range(count)]
        units[unit] = {f"u{unit}-c{i}": one(label) for i, label in enumerate(labels)}
    return units


# Fleiss (1971), Table 1: 30 patients, 6 psychiatrists each, 5 diagnoses (depression,
# personality disorder, schizophrenia, neurosis, other). Published kappa .430.
FLEISS_1971 = [
    [0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0],
    [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6],
    [1, 0, 0, 5, 0], [1, 1, 0, 4, 0], [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1],
    [0, 0, 5, 0, 1], [3, 0, 0, 1, 2], [5, 1, 0, 0, 0], [0, 2, 0, 4, 0], [1, 0, 2, 0, 3],
    [0, 0, 0, 0, 6], [0, 1, 0, 5, 0], [0, 2, 0, 1, 3], [2, 0, 0, 4, 0], [1, 0, 0, 4, 1],
    [0, 5, 0, 1, 0], [4, 0, 0, 0, 2], [0, 2, 0, 4, 0], [1, 0, 5, 0, 0], [0, 0, 0, 0, 6],
]  # fmt: skip

# Wikipedia's worked example of Fleiss' kappa: 10 subjects, 14 raters, 5 categories, 0.210.
WIKIPEDIA_FLEISS = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]  # fmt: skip

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the nominal example:
# 4 observers, 12 units, missing values; alpha = 0.743.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def cohen_1960_example():
    """Wikipedia's worked example: 50 grant proposals read by A and B; 20 both yes, 15 both
    no, A yes and B no 5, A no and B yes 10. p_o = 0.7, p_e = 0.5, kappa = 0.4."""
    pairs = [("Yes", "Yes")] * 20 + [("Yes", "No")] * 5 + [("No", "Yes")] * 10
    pairs += [("No", "No")] * 15
    return from_labels([a for a, _ in pairs], [b for _, b in pairs], names=["A", "B"])


class TestWorkedExamples:
    def test_cohen_kappa_of_the_two_reader_example_is_0_4(self):
        report = compute(cohen_1960_example())
        assert report.coders == 2
        assert report.units == report.pairable_units == 50
        assert report.observed_agreement == pytest.approx(0.7)
        assert report.cohen_kappa == pytest.approx(0.4)

    def test_fleiss_kappa_of_fleiss_1971_is_0_430(self):
        report = compute(from_table(FLEISS_1971))
        assert report.fleiss_kappa == pytest.approx(0.430, abs=5e-4)
        assert report.cohen_kappa is None  # 180 coders, not two

    def test_per_node_kappa_is_fleiss_1971_category_kappa(self):
        per_node = compute(from_table(FLEISS_1971)).per_node
        kappas = [round(per_node[code]["kappa"], 3) for code in "12345"]
        assert kappas == [0.245, 0.245, 0.520, 0.471, 0.566]

    def test_fleiss_kappa_of_the_fourteen_rater_example_is_0_210(self):
        report = compute(from_table(WIKIPEDIA_FLEISS))
        assert report.observed_agreement == pytest.approx(0.378, abs=5e-4)
        assert report.fleiss_kappa == pytest.approx(0.210, abs=5e-4)

    def test_krippendorff_alpha_of_the_canonical_example_is_0_743(self):
        report = compute(from_labels(*KRIPPENDORFF_2011))
        assert report.krippendorff_alpha == pytest.approx(0.743, abs=5e-4)
        assert report.units == 12
        assert report.pairable_units == 11  # the last unit has one value only
        assert report.codings == 41


def reference_alpha(coders):
    data = [[np.nan if label is None else label for label in row] for row in coders]
    return krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")


class TestAgainstReferenceImplementations:
    @pytest.mark.parametrize("seed", range(5))
    def test_cohen_kappa_agrees_with_scikit_learn(self, seed):
        rng = random.Random(seed)
        first = [rng.choice("ABCDE") for _ in range(200)]
        second = [label if rng.random() < 0.6 else rng.choice("ABCDE") for label in first]
        report = compute(from_labels(first, second))
        assert report.cohen_kappa == pytest.approx(cohen_kappa_score(first, second))

    @pytest.mark.parametrize("seed", range(5))
    def test_fleiss_kappa_agrees_with_statsmodels(self, seed):
        rng = np.random.default_rng(seed)
        coders = 4
        table = np.array([rng.multinomial(coders, rng.dirichlet([1] * 6)) for _ in range(80)])
        report = compute(from_table(table.tolist()))
        assert report.fleiss_kappa == pytest.approx(fleiss_kappa(table, method="fleiss"))

    @pytest.mark.parametrize("seed", range(5))
    def test_krippendorff_alpha_agrees_with_the_krippendorff_package(self, seed):
        rng = random.Random(seed)
        truth = [rng.choice([1, 2, 3, 4]) for _ in range(60)]
        coders = [
            [
                None
                if rng.random() < 0.25
                else (label if rng.random() < 0.7 else rng.choice([1, 2, 3, 4]))
                for label in truth
            ]
            for _ in range(3)
        ]
        report = compute(from_labels(*coders))
        assert report.krippendorff_alpha == pytest.approx(reference_alpha(coders))

    def test_krippendorff_alpha_of_the_canonical_example_agrees_with_the_package(self):
        report = compute(from_labels(*KRIPPENDORFF_2011))
        assert report.krippendorff_alpha == pytest.approx(reference_alpha(KRIPPENDORFF_2011))


class TestUnequalNumbersOfCoders:
    def test_fleiss_kappa_uses_each_units_own_number_of_coders(self):
        units = {
            1: {"a": one("x"), "b": one("x"), "c": one("y")},
            2: {"a": one("y"), "b": one("y")},
            3: {"a": one("x"), "c": one("y")},
            4: {"b": one("x")},  # one coding: left out
        }
        report = compute(units)
        # Unit agreement: 1/3, 1, 0 -> 4/9. Shares x: (2/3 + 0 + 1/2) / 3 = 7/18, y: 11/18.
        expected = (7 / 18) ** 2 + (11 / 18) ** 2
        assert report.observed_agreement == pytest.approx(4 / 9)
        assert report.fleiss_kappa == pytest.approx((4 / 9 - expected) / (1 - expected))
        assert report.pairable_units == 3
        assert report.units == 4

    def test_with_equal_numbers_it_is_fleiss_exactly(self):
        report = compute(from_table(WIKIPEDIA_FLEISS))
        assert report.fleiss_kappa == pytest.approx(fleiss_kappa(np.array(WIKIPEDIA_FLEISS)))


def alpha_by_pairs(units, distance):
    """Krippendorff's alpha straight from its definition over pairs of values: an independent
    check of the coincidence-matrix computation, for any distance."""
    pairable = [list(given.values()) for given in units.values() if len(given) >= 2]
    values = [value for unit in pairable for value in unit]
    n = len(values)
    observed = (
        sum(
            sum(distance(a, b) for i, a in enumerate(unit) for j, b in enumerate(unit) if i != j)
            / (len(unit) - 1)
            for unit in pairable
        )
        / n
    )
    expected = sum(
        distance(a, b) for i, a in enumerate(values) for j, b in enumerate(values) if i != j
    ) / (n * (n - 1))
    return 1 - observed / expected


class TestMultiValued:
    def test_masi_distance(self):
        assert masi_distance(frozenset("ab"), frozenset("ab")) == 0
        assert masi_distance(frozenset("a"), frozenset("ab")) == pytest.approx(1 - 1 / 2 * 2 / 3)
        assert masi_distance(frozenset("ab"), frozenset("bc")) == pytest.approx(1 - 1 / 3 / 3)
        assert masi_distance(frozenset("a"), frozenset("b")) == 1

    def test_alpha_uses_masi_for_sets(self):
        units = {
            1: {"a": frozenset({"1.1", "1.2"}), "b": frozenset({"1.1"}), "c": frozenset({"1.1"})},
            2: {"a": frozenset({"2.1"}), "b": frozenset({"2.1", "2.2"})},
            3: {"a": frozenset({"3.1"}), "b": frozenset({"3.1"}), "c": frozenset({"2.2"})},
            4: {"a": frozenset({"1.2", "2.2"}), "b": frozenset({"1.2", "2.2"})},
        }
        report = compute(units, multi_valued=True)
        assert report.krippendorff_alpha == pytest.approx(alpha_by_pairs(units, masi_distance))
        assert report.as_dict()["alpha_distance"] == "MASI"
        # Exact set agreement for the other figures: units 1 (1/3), 2 (0), 3 (1/3), 4 (1).
        assert report.observed_agreement == pytest.approx((1 / 3 + 0 + 1 / 3 + 1) / 4)

    def test_with_one_code_each_masi_alpha_is_nominal_alpha(self):
        units = from_labels(*KRIPPENDORFF_2011)
        multi = compute(units, multi_valued=True).krippendorff_alpha
        assert multi == pytest.approx(compute(units).krippendorff_alpha)

    def test_confusion_pairs_shared_codes_and_the_codes_only_one_coder_gave(self):
        units = {1: {"a": frozenset({"1", "2"}), "b": frozenset({"2", "3"})}}
        assert compute(units, multi_valued=True).confusion == [["1", "3", 1], ["2", "2", 1]]

    def test_a_code_added_to_an_agreed_one_has_no_partner_but_counts_per_node(self):
        units = {1: {"a": frozenset({"1", "2"}), "b": frozenset({"1"})}}
        report = compute(units, multi_valued=True)
        assert report.confusion == [["1", "1", 1]]
        assert report.per_node["2"] == {"agreement": 0.0, "kappa": pytest.approx(-1.0),
                                        "n": 1, "units": 1}  # fmt: skip


class TestPerNodeConfusionAndCoders:
    def test_per_node_agreement_is_specific_agreement(self):
        per_node = compute(cohen_1960_example()).per_node
        # Yes: 2*20 / (2*20 + 5 + 10); No: 2*15 / (2*15 + 5 + 10).
        assert per_node["Yes"]["agreement"] == pytest.approx(40 / 55)
        assert per_node["No"]["agreement"] == pytest.approx(30 / 45)
        assert per_node["Yes"]["n"] == 20 * 2 + 5 + 10
        assert per_node["Yes"]["units"] == 35
        assert list(per_node) == ["No", "Yes"]

    def test_confusion_counts_each_coder_pair_once_with_the_lower_code_first(self):
        confusion = compute(cohen_1960_example()).confusion
        assert confusion == [["No", "No", 15], ["No", "Yes", 15], ["Yes", "Yes", 20]]

    def test_confusion_sorts_codes_as_people_read_them(self):
        units = {1: {"a": one("1.10"), "b": one("1.9")}, 2: {"a": one("X.X"), "b": one("2.1")}}
        assert compute(units).confusion == [["1.9", "1.10", 1], ["2.1", "X.X", 1]]
        assert sorted(["1.10", "X.X", "1.2", "99.9", "2"], key=code_sort_key) == [
            "1.2", "1.10", "2", "99.9", "X.X",
        ]  # fmt: skip

    def test_per_coder_counts_codings_and_agreement_with_the_final_codes(self):
        units = {
            1: {"ann": one("1"), "bob": one("1")},
            2: {"ann": one("1"), "bob": one("2")},
            3: {"ann": one("2"), "bob": one("2"), "cy": one("3")},
            4: {"cy": one("3")},
        }
        final = {1: one("1"), 2: one("2"), 3: one("2")}
        per_coder = compute(units, final=final).per_coder
        assert per_coder["ann"]["coded"] == 3
        assert per_coder["ann"]["agreement_with_final"] == pytest.approx(2 / 3)
        assert per_coder["bob"]["agreement_with_final"] == 1.0
        assert per_coder["cy"]["agreement_with_final"] == 0.0
        assert per_coder["cy"]["with_final"] == 1  # unit 4 has no final codes yet
        assert per_coder["ann"]["pairwise_agreement"] == pytest.approx(2 / 4)

    def test_without_final_codes_agreement_with_final_is_none(self):
        per_coder = compute(cohen_1960_example()).per_coder
        assert per_coder["A"]["agreement_with_final"] is None
        assert per_coder["A"]["coded"] == 50


class TestEdgeCases:
    def test_one_coder_gives_no_statistic_and_says_why(self):
        report = compute({1: {"ann": one("1")}, 2: {"ann": one("2")}})
        assert report.units == 2 and report.coders == 1 and report.pairable_units == 0
        assert report.observed_agreement is None
        assert report.cohen_kappa is None
        assert report.fleiss_kappa is None
        assert report.krippendorff_alpha is None
        assert report.per_node == {} and report.confusion == []
        assert any("nothing to compare" in note for note in report.notes)

    def test_nothing_at_all(self):
        report = compute({})
        assert (report.units, report.coders, report.codings) == (0, 0, 0)
        assert report.observed_agreement is None
        json.dumps(report.as_dict())

    def test_empty_code_sets_count_as_missing(self):
        report = compute({1: {"ann": one("1"), "bob": frozenset()}, 2: {}})
        assert report.units == 1 and report.coders == 1 and report.codings == 1

    def test_all_agree_with_variation_gives_one_everywhere(self):
        report = compute(from_labels(list("ABCABC"), list("ABCABC")))
        assert report.observed_agreement == 1.0
        assert report.cohen_kappa == pytest.approx(1.0)
        assert report.fleiss_kappa == pytest.approx(1.0)
        assert report.krippendorff_alpha == pytest.approx(1.0)

    def test_no_variation_leaves_kappa_and_alpha_undefined_not_divided_by_zero(self):
        report = compute(from_labels(list("AAAA"), list("AAAA")))
        assert report.observed_agreement == 1.0
        assert report.cohen_kappa is None
        assert report.fleiss_kappa is None
        assert report.krippendorff_alpha is None
        assert report.per_node["A"] == {"agreement": 1.0, "kappa": None, "n": 8, "units": 4}
        assert len([note for note in report.notes if "no variation" in note]) == 3

    def test_complete_disagreement_with_fixed_habits(self):
        report = compute(from_labels(list("AAAA"), list("BBBB")))
        assert report.observed_agreement == 0.0
        assert report.cohen_kappa == pytest.approx(0.0)  # each coder's habit explains it all
        assert report.krippendorff_alpha < 0

    def test_cohen_kappa_needs_exactly_two_coders(self):
        report = compute(from_labels(list("ABAB"), list("ABAA"), list("ABBB")))
        assert report.cohen_kappa is None
        assert "cohen_kappa: defined for exactly two coders, not 3" in report.notes

    def test_cohen_kappa_uses_the_units_both_coded(self):
        first = ["A", "B", "A", "B", "A", None]
        second = ["A", "B", "B", "B", None, "A"]
        report = compute(from_labels(first, second))
        assert report.cohen_kappa == pytest.approx(cohen_kappa_score(first[:4], second[:4]))

    def test_two_coders_without_a_unit_in_common(self):
        report = compute({1: {"ann": one("1")}, 2: {"bob": one("1")}})
        assert report.cohen_kappa is None
        assert "cohen_kappa: the two coders have no unit in common" in report.notes

    def test_as_dict_is_json_with_string_keys(self):
        units = {1: {7: one("1"), 8: one("1")}, 2: {7: one("2"), 8: one("1")}}
        data = json.loads(json.dumps(compute(units, final={1: one("1")}).as_dict()))
        assert set(data) >= {
            "units", "coders", "observed_agreement", "cohen_kappa", "fleiss_kappa",
            "krippendorff_alpha", "per_node", "confusion", "per_coder",
        }  # fmt: skip
        assert data["per_coder"]["7"]["agreement_with_final"] == 1.0
        assert data["confusion"] == [["1", "1", 1], ["1", "2", 1]]


class TestLevels:
    PATHS = {"1": "/1/", "1.1": "/1/1.1/", "1.1.2": "/1/1.1/1.1.2/", "99.9": "/99.9/"}

    def test_level_map_names_each_codes_ancestor(self):
        assert level_map(self.PATHS, 1) == {"1": "1", "1.1": "1", "1.1.2": "1", "99.9": "99.9"}
        assert level_map(self.PATHS, 2)["1.1.2"] == "1.1"
        assert level_map(self.PATHS, 2)["1"] == "1"  # above the level: stays
        with pytest.raises(ValueError):
            level_map(self.PATHS, 0)

    def test_at_level_lifts_and_merges_codes(self):
        top = level_map(self.PATHS, 1)
        assert at_level(frozenset({"1.1.2", "1.1"}), top) == frozenset({"1"})
        assert at_level(frozenset({"unknown"}), top) == frozenset({"unknown"})

    def test_coders_may_agree_on_the_category_and_not_the_subcategory(self):
        units = {1: {"a": one("1.1.2"), "b": one("1.1")}, 2: {"a": one("99.9"), "b": one("1")}}
        top = level_map(self.PATHS, 1)
        lifted = {u: {c: at_level(v, top) for c, v in g.items()} for u, g in units.items()}
        assert compute(units).observed_agreement == 0.0
        assert compute(lifted).observed_agreement == 0.5


def test_landis_koch_bands():
    assert [landis_koch(v) for v in (None, -0.1, 0.1, 0.3, 0.5, 0.7, 0.9)] == [
        "undefined", "poor", "slight", "fair", "moderate", "substantial", "almost perfect",
    ]  # fmt: skip
