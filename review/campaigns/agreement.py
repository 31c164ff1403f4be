"""Inter-coder agreement: how reliably several people coded the same records.

Pure functions over plain data, so they can be checked against textbook examples and reference
implementations (the tests compare with scikit-learn, statsmodels and the ``krippendorff``
package; those last two are development dependencies only, never imported here).

The input is ``units -> coders -> codes``: for each unit (a record), each coder (a username)
and the frozenset of node codes that coder gave it. A coder absent from a unit, or present
with an empty set, did not code it (a *missing* value). A coding's *value* is its whole set
of codes: for a single-valued taxonomy a one-code set, for a multi-valued one any set, and
two codings agree when their sets are equal.

What :func:`compute` reports, and the choices behind each figure:

- ``units``: units with at least one coding; ``pairable_units``: those with two or more,
  the only ones agreement can be measured on (every statistic below uses just those).
- ``observed_agreement``: the share of agreeing coder pairs within a unit, averaged over
  pairable units (each unit weighs the same). With two coders: the share of units on which
  they chose the same. It is Fleiss' P-bar.
- ``cohen_kappa`` (Cohen 1960): only when exactly two coders took part, over the units both
  coded; chance agreement from each coder's own frequencies.
- ``fleiss_kappa`` (Fleiss 1971): chance agreement from the pooled frequencies. Fleiss
  assumed the same number of coders per unit; campaigns may end with some records coded by
  more or fewer people, so the generalisation of Gwet (*Handbook of Inter-Rater
  Reliability*, 4th ed., 2014, ch. 2) is used: a unit's agreement is computed with its own
  number of coders, and each category's share is the mean over units of its share within the
  unit (each unit weighs the same). With equal numbers of coders this is Fleiss' kappa
  exactly (the tests check it against statsmodels).
- ``krippendorff_alpha`` (Krippendorff 2011, the coincidence-matrix form): any number of
  coders, missing values allowed. Nominal distance for single-valued taxonomies; for
  multi-valued ones the MASI distance of Passonneau (2006) between the sets (with one code
  per set MASI is the nominal distance, so both agree there).
- ``per_node``: for each code, one-vs-rest. ``agreement`` is the specific (positive)
  agreement: of the coder pairs in which one coder chose the code, the share in which the
  other did too, ``sum x(x-1) / sum x(m-1)`` with ``x`` the unit's coders that chose it and
  ``m`` its coders. ``kappa`` is Fleiss' category kappa (Fleiss 1971, kappa_j), i.e. the
  kappa above on "this code or not". ``n`` counts the codings that include it and ``units``
  the units where at least one coder chose it.
- ``confusion``: ``[code_a, code_b, count]`` over every unordered pair of coders of a unit,
  listed once with ``code_a <= code_b`` (the table is symmetric). Codes both coders gave
  count on the diagonal; each code only one of them gave is paired with each code only the
  other gave. A code one coder added where the other added nothing (possible only with
  several codes per coding) has no partner and is not in the table; ``per_node`` shows it.
- ``per_coder``: the units each coder coded, the share of their codings that equal the other
  coders' on the same unit (``pairwise_agreement``), and, when ``final`` is given, the share
  of their codings that equal the final codes (``agreement_with_final``).

When a statistic is undefined the report holds ``None`` and ``notes`` says why: fewer than two
codings on every unit (nothing to compare), more or fewer than two coders (Cohen), or no
variation at all (every coding the same value, so chance agreement is 1 and kappa and alpha
are 0/0; observed agreement is then 1.0). Nothing here divides by zero.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

Codes = frozenset[str]
Units = Mapping[Hashable, Mapping[Hashable, Codes]]

_NO_VARIATION = "no variation: every coding has the same value, so chance agreement is 1"
_DIGITS = re.compile(r"(\d+)")


def code_sort_key(code: str) -> tuple:
    """Sorts node codes as people read them: 1.2 before 1.10, X.X after the numbers."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in _DIGITS.split(code)
        if part
    )


def _value_sort_key(value: Codes) -> tuple:
    return tuple(code_sort_key(code) for code in sorted(value, key=code_sort_key))


def at_level(codes: Codes, ancestor_at_level: Mapping[str, str]) -> Codes:
    """The codes lifted to one level of the tree: each code becomes its ancestor at that level.

    ``ancestor_at_level`` maps a code to its ancestor at the level (:func:`level_map` builds
    it); a code it does not name (a node above that level) stays as it is.
    """
    return frozenset(ancestor_at_level.get(code, code) for code in codes)


def level_map(paths: Mapping[str, str], level: int) -> dict[str, str]:
    """``code -> ancestor at level`` (1 = the top level) from nodes' materialised paths.

    ``paths`` maps each code to its path of codes from the root (``TaxonomyNode.path``, e.g.
    ``"/1/1.1/1.1.2/"``). Nodes at or above the level map to themselves.
    """
    if level < 1:
        raise ValueError("The level must be 1 or deeper.")
    mapping = {}
    for code, path in paths.items():
        parts = [part for part in path.split("/") if part]
        mapping[code] = parts[level - 1] if len(parts) >= level else code
    return mapping


def masi_distance(a: Codes, b: Codes) -> float:
    """Passonneau's MASI distance between two sets of codes: 1 - Jaccard x monotonicity.

    Monotonicity is 1 for equal sets, 2/3 when one contains the other, 1/3 when they only
    overlap and 0 when they are disjoint; so the distance is 0 for equal sets and 1 for
    disjoint ones (for one code each, the nominal distance).
    """
    if a == b:
        return 0.0
    common = len(a & b)
    if not common:
        return 1.0
    jaccard = common / len(a | b)
    monotonicity = 2 / 3 if (a <= b or b <= a) else 1 / 3
    return 1.0 - jaccard * monotonicity


def landis_koch(value: float | None) -> str:
    """Landis and Koch's (1977) reading of a kappa, for labels next to the figure."""
    if value is None:
        return "undefined"
    if value < 0:
        return "poor"
    for bound, label in ((0.2, "slight"), (0.4, "fair"), (0.6, "moderate"), (0.8, "substantial")):
        if value <= bound:
            return label
    return "almost perfect"


@dataclass
class AgreementReport:
    units: int
    pairable_units: int
    coders: int
    codings: int
    multi_valued: bool
    observed_agreement: float | None
    cohen_kappa: float | None
    fleiss_kappa: float | None
    krippendorff_alpha: float | None
    per_node: dict[str, dict[str, Any]] = field(default_factory=dict)
    confusion: list[list[Any]] = field(default_factory=list)
    per_coder: dict[Hashable, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def alpha_distance(self) -> str:
        return "MASI" if self.multi_valued else "nominal"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: plain numbers, strings, lists and dicts with string keys."""
        return {
            "units": self.units,
            "pairable_units": self.pairable_units,
            "coders": self.coders,
            "codings": self.codings,
            "multi_valued": self.multi_valued,
            "observed_agreement": self.observed_agreement,
            "cohen_kappa": self.cohen_kappa,
            "fleiss_kappa": self.fleiss_kappa,
            "krippendorff_alpha": self.krippendorff_alpha,
            "alpha_distance": self.alpha_distance,
            "per_node": {code: dict(row) for code, row in self.per_node.items()},
            "confusion": [list(row) for row in self.confusion],
            "per_coder": {str(coder): dict(row) for coder, row in self.per_coder.items()},
            "notes": list(self.notes),
        }


def compute(
    units: Units,
    *,
    multi_valued: bool = False,
    final: Mapping[Hashable, Codes] | None = None,
) -> AgreementReport:
    """Every agreement figure for ``units -> coders -> codes`` (see the module's docstring)."""
    codings: dict[Hashable, dict[Hashable, Codes]] = {}
    for unit, by_coder in units.items():
        given = {coder: frozenset(codes) for coder, codes in by_coder.items() if codes}
        if given:
            codings[unit] = given
    coders = sorted({coder for given in codings.values() for coder in given}, key=str)
    pairable = {unit: given for unit, given in codings.items() if len(given) >= 2}
    notes: list[str] = []

    values = sorted(
        {value for given in pairable.values() for value in given.values()}, key=_value_sort_key
    )
    index = {value: i for i, value in enumerate(values)}
    counts = np.zeros((len(pairable), len(values)))
    for row, given in enumerate(pairable.values()):
        for value in given.values():
            counts[row, index[value]] += 1

    if not pairable:
        notes.append("no unit has two or more codings, so there is nothing to compare")
        observed = fleiss = alpha = None
    else:
        observed = _observed(counts)
        fleiss = _fleiss(counts)
        if fleiss is None:
            notes.append(f"fleiss_kappa: {_NO_VARIATION}")
        distances = _distances(values, multi_valued=multi_valued)
        alpha = _alpha(counts, distances)
        if alpha is None:
            notes.append(f"krippendorff_alpha: {_NO_VARIATION}")

    cohen = None
    if len(coders) != 2:
        notes.append(f"cohen_kappa: defined for exactly two coders, not {len(coders)}")
    else:
        pairs = [(given[coders[0]], given[coders[1]]) for given in pairable.values()]
        if not pairs:
            notes.append("cohen_kappa: the two coders have no unit in common")
        else:
            cohen = _cohen(pairs)
            if cohen is None:
                notes.append(f"cohen_kappa: {_NO_VARIATION}")

    return AgreementReport(
        units=len(codings),
        pairable_units=len(pairable),
        coders=len(coders),
        codings=sum(len(given) for given in codings.values()),
        multi_valued=multi_valued,
        observed_agreement=observed,
        cohen_kappa=cohen,
        fleiss_kappa=fleiss,
        krippendorff_alpha=alpha,
        per_node=_per_node(values, counts),
        confusion=_confusion(pairable),
        per_coder=_per_coder(coders, codings, final),
        notes=notes,
    )


# --------------------------------------------------------------------------- statistics
# ``counts`` is units x values: how many coders gave each value to each pairable unit (every
# row sums to two or more).


def _undefined(denominator: float) -> bool:
    return math.isclose(denominator, 0.0, abs_tol=1e-12)


def _unit_agreement(counts: np.ndarray) -> np.ndarray:
    coders = counts.sum(axis=1)
    return (counts * (counts - 1)).sum(axis=1) / (coders * (coders - 1))


def _observed(counts: np.ndarray) -> float:
    return float(_unit_agreement(counts).mean())


def _fleiss(counts: np.ndarray) -> float | None:
    observed = _observed(counts)
    shares = (counts / counts.sum(axis=1, keepdims=True)).mean(axis=0)
    expected = float((shares**2).sum())
    if _undefined(1.0 - expected):
        return None
    return (observed - expected) / (1.0 - expected)


def _distances(values: list[Codes], *, multi_valued: bool) -> np.ndarray:
    size = len(values)
    if not multi_valued:
        return np.ones((size, size)) - np.eye(size)
    distances = np.zeros((size, size))
    for i, j in combinations(range(size), 2):
        distances[i, j] = distances[j, i] = masi_distance(values[i], values[j])
    return distances


def _alpha(counts: np.ndarray, distances: np.ndarray) -> float | None:
    coders = counts.sum(axis=1)
    pairable_values = coders.sum()
    weighted = counts / (coders - 1)[:, None]
    coincidences = weighted.T @ counts - np.diag(weighted.sum(axis=0))
    totals = counts.sum(axis=0)
    observed = float((coincidences * distances).sum()) / pairable_values
    expected = float(totals @ distances @ totals) / (pairable_values * (pairable_values - 1))
    if _undefined(expected):
        return None
    return 1.0 - observed / expected


def _cohen(pairs: list[tuple[Codes, Codes]]) -> float | None:
    total = len(pairs)
    observed = sum(a == b for a, b in pairs) / total
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    expected = sum(first[value] * second[value] for value in first) / (total * total)
    if _undefined(1.0 - expected):
        return None
    return (observed - expected) / (1.0 - expected)


def _per_node(values: list[Codes], counts: np.ndarray) -> dict[str, dict[str, Any]]:
    codes = sorted({code for value in values for code in value}, key=code_sort_key)
    if not codes:
        return {}
    column = {code: i for i, code in enumerate(codes)}
    member = np.zeros((len(values), len(codes)))
    for i, value in enumerate(values):
        for code in value:
            member[i, column[code]] = 1
    chose = counts @ member  # units x codes: how many of the unit's coders chose the code
    coders = counts.sum(axis=1)
    result = {}
    for code, i in column.items():
        x = chose[:, i]
        binary = np.column_stack([x, coders - x])
        kappa = _fleiss(binary)
        result[code] = {
            "agreement": float((x * (x - 1)).sum() / (x * (coders - 1)).sum()),
            "kappa": kappa,
            "n": int(x.sum()),
            "units": int((x > 0).sum()),
        }
    return result


def _confusion(pairable: Mapping[Hashable, Mapping[Hashable, Codes]]) -> list[list[Any]]:
    cells: Counter[tuple[str, str]] = Counter()
    for given in pairable.values():
        for a, b in combinations(given.values(), 2):
            for code in a & b:
                cells[code, code] += 1
            for code_a in a - b:
                for code_b in b - a:
                    low, high = sorted((code_a, code_b), key=code_sort_key)
                    cells[low, high] += 1
    ordered = sorted(cells.items(), key=lambda item: (*map(code_sort_key, item[0]),))
    return [[a, b, count] for (a, b), count in ordered]


def _per_coder(
    coders: list[Hashable],
    codings: Mapping[Hashable, Mapping[Hashable, Codes]],
    final: Mapping[Hashable, Codes] | None,
) -> dict[Hashable, dict[str, Any]]:
    result: dict[Hashable, dict[str, Any]] = {}
    for coder in coders:
        coded = agreeing_pairs = pairs = with_final = agreeing_final = 0
        for unit, given in codings.items():
            mine = given.get(coder)
            if mine is None:
                continue
            coded += 1
            for other, theirs in given.items():
                if other != coder:
                    pairs += 1
                    agreeing_pairs += mine == theirs
            settled = final.get(unit) if final is not None else None
            if settled:
                with_final += 1
                agreeing_final += mine == frozenset(settled)
        result[coder] = {
            "coded": coded,
            "pairwise_agreement": agreeing_pairs / pairs if pairs else None,
            "agreement_with_final": agreeing_final / with_final if with_final else None,
            "with_final": with_final,
        }
    return result
