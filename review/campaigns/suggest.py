"""Suggested nodes for coding a record into a taxonomy, from what is already classified there.

Two kinds of evidence, each a distribution over the target taxonomy's nodes, then combined:

- **Text.** The record's name, section path and definition against those of the active records
  already classified in the target taxonomy: TF-IDF vectors (scikit-learn, words and word
  pairs, English stop words dropped, sublinear term frequency) and the cosine similarity to
  each of them; the ``NEIGHBOURS`` most similar vote for their nodes, each with its
  similarity, and the votes are divided by the sum of the similarities.
- **Co-occurrence.** How the record's nodes in *other* taxonomies (the preliminary taxonomy,
  lifecycle stage, actor, AI RMF function…) go together with target nodes on the classified
  records: a naive Bayes posterior, ``P(node) x prod P(other node | node)`` with add-one
  smoothing, normalised to sum to 1. The record's own classification in the target taxonomy
  is never read, so blind coding can show suggestions without revealing it.

The score is ``TEXT_WEIGHT x text + (1 - TEXT_WEIGHT) x co-occurrence`` (one of them alone when
the other has nothing to say, the nodes' base rates when neither has), so it lies in 0..1 and
the scores of all nodes sum to at most 1. The record itself is always left out (of the
neighbours and of the co-occurrence counts), which makes the leave-one-out benchmark
(``bench/suggest.py``) an honest measure of what a coder would see.

Why TF-IDF nearest neighbours in Python rather than PostgreSQL full-text search and trigrams:
it ranks the same on SQLite and PostgreSQL (the development database and the tests see what
production sees; PostgreSQL's ranking would leave SQLite without suggestions or with others);
the catalog is small for this (831 records; 100,000 still fit as one sparse matrix), fitting
takes a fraction of a second and a suggestion a few milliseconds; and nearest neighbours need
no training beyond counting, so every suggestion can name the records it came from.

The fitted model lives in process memory, keyed by the database, the taxonomy and the
catalog version (``catalog.version``): any write to the catalog changes the version, so the
next suggestion refits from the committed data. Inside a write (a service's unit of work) the
model is fitted and not kept. A warm suggestion costs one query (the version).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db import DEFAULT_DB_ALIAS
from sklearn.feature_extraction.text import TfidfVectorizer

from catalog.history import current_change_context
from catalog.models import (
    Classification,
    Mitigation,
    Taxonomy,
    TaxonomyNode,
    format_public_id,
)
from catalog.version import catalog_version

NEIGHBOURS = 10
TEXT_WEIGHT = 0.6
SMOOTHING = 1.0
KEPT_MODELS = 8
EVIDENCE = 3


@dataclass(frozen=True)
class Suggestion:
    node: TaxonomyNode
    score: float
    text_score: float = 0.0
    cooccurrence_score: float = 0.0
    neighbours: tuple[str, ...] = ()  # public IDs of similar records classified at the node


def record_text(name: str, section_path: str, definition: str) -> str:
    return f"{name}. {section_path}. {definition}"


@dataclass
class Model:
    """What suggestions for one taxonomy need, fitted from one version of the catalog."""

    taxonomy_id: int
    nodes: list[TaxonomyNode]
    vectorizer: TfidfVectorizer | None
    vectors: object  # sparse matrix: one row per active record (``row_of``)
    row_of: dict[int, int]
    labelled_rows: np.ndarray  # rows of ``vectors`` of the records classified in the taxonomy
    labelled_vectors: object  # those rows, as their own matrix
    labelled_ids: list[int]
    labelled_numbers: list[int]
    labels: list[list[int]]  # node indexes per labelled record
    label_of: dict[int, list[int]]  # mitigation id -> its node indexes
    other_nodes: dict[int, list[int]]  # mitigation id -> its node ids in other taxonomies
    taxonomy_of_node: dict[int, int]
    taxonomy_sizes: dict[int, int]
    node_counts: np.ndarray  # labelled records per target node
    cooccurrence: dict[int, np.ndarray] = field(default_factory=dict)  # other node -> counts

    @property
    def labelled(self) -> int:
        return len(self.labelled_ids)


_models: OrderedDict[tuple, Model] = OrderedDict()
_lock = threading.Lock()


def clear_models() -> None:
    with _lock:
        _models.clear()


def model_for(taxonomy: Taxonomy, *, using: str = DEFAULT_DB_ALIAS) -> Model:
    """The fitted model for ``taxonomy`` at the current catalog version (fitted if needed)."""
    if current_change_context() is not None:
        return fit(taxonomy, using=using)
    key = (using, taxonomy.pk, catalog_version(using).key)
    with _lock:
        model = _models.get(key)
        if model is not None:
            _models.move_to_end(key)
            return model
    model = fit(taxonomy, using=using)
    with _lock:
        _models[key] = model
        while len(_models) > KEPT_MODELS:
            _models.popitem(last=False)
    return model


def fit(taxonomy: Taxonomy, *, using: str = DEFAULT_DB_ALIAS) -> Model:
    """Read the catalog (three queries) and fit the model for ``taxonomy``."""
    nodes = list(TaxonomyNode.objects.using(using).filter(taxonomy_id=taxonomy.pk).order_by("path"))
    node_index = {node.pk: i for i, node in enumerate(nodes)}
    records = list(
        Mitigation.objects.using(using)
        .active()
        .order_by("pk")
        .values_list("pk", "number", "name", "section_path", "definition")
    )
    row_of = {pk: row for row, (pk, *_) in enumerate(records)}
    number_of = {pk: number for pk, number, *_ in records}
    placements = (
        Classification.objects.using(using)
        .filter(mitigation__status=Mitigation.Status.ACTIVE)
        .values_list("mitigation_id", "taxonomy_id", "node_id")
    )
    label_of: dict[int, list[int]] = defaultdict(list)
    other_nodes: dict[int, list[int]] = defaultdict(list)
    taxonomy_of_node: dict[int, int] = {}
    for mitigation_id, taxonomy_id, node_id in placements:
        if taxonomy_id == taxonomy.pk:
            label_of[mitigation_id].append(node_index[node_id])
        else:
            other_nodes[mitigation_id].append(node_id)
            taxonomy_of_node[node_id] = taxonomy_id
    taxonomy_sizes: dict[int, int] = defaultdict(int)
    for taxonomy_id in taxonomy_of_node.values():
        taxonomy_sizes[taxonomy_id] += 1

    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2),
        stop_words="english",
        sublinear_tf=True,
        strip_accents="unicode",
    )
    try:
        vectors = vectorizer.fit_transform(
            [record_text(name, section, definition) for _, _, name, section, definition in records]
        )
    except ValueError:  # no records, or no word that is not a stop word
        vectorizer, vectors = None, None

    labelled_ids = sorted(pk for pk in label_of if pk in row_of)
    labelled_rows = np.array([row_of[pk] for pk in labelled_ids], dtype=int)
    node_counts = np.zeros(len(nodes))
    cooccurrence: dict[int, np.ndarray] = {}
    for pk in labelled_ids:
        for index in label_of[pk]:
            node_counts[index] += 1
        for other in other_nodes.get(pk, ()):
            counts = cooccurrence.setdefault(other, np.zeros(len(nodes)))
            for index in label_of[pk]:
                counts[index] += 1
    return Model(
        taxonomy_id=taxonomy.pk,
        nodes=nodes,
        vectorizer=vectorizer,
        vectors=vectors,
        row_of=row_of,
        labelled_rows=labelled_rows,
        labelled_vectors=vectors[labelled_rows] if vectors is not None else None,
        labelled_ids=labelled_ids,
        labelled_numbers=[number_of[pk] for pk in labelled_ids],
        labels=[label_of[pk] for pk in labelled_ids],
        label_of=dict(label_of),
        other_nodes=dict(other_nodes),
        taxonomy_of_node=taxonomy_of_node,
        taxonomy_sizes=dict(taxonomy_sizes),
        node_counts=node_counts,
        cooccurrence=cooccurrence,
    )


def suggestions(mitigation: Mitigation, taxonomy: Taxonomy, k: int = 3) -> list[Suggestion]:
    """The ``k`` best nodes of ``taxonomy`` for ``mitigation``, best first, scores in 0..1.

    Empty when nothing in the taxonomy is classified yet (apart from the record itself).
    """
    using = mitigation._state.db or DEFAULT_DB_ALIAS
    return rank(model_for(taxonomy, using=using), mitigation, k=k)


def rank(model: Model, mitigation: Mitigation, k: int = 3) -> list[Suggestion]:
    """:func:`suggestions` with a model already in hand (the benchmark reuses one)."""
    if k <= 0 or not model.nodes:
        return []
    text, neighbours = _text_scores(model, mitigation)
    cooccurrence = _cooccurrence_scores(model, mitigation)
    if text is not None and cooccurrence is not None:
        scores = TEXT_WEIGHT * text + (1 - TEXT_WEIGHT) * cooccurrence
    elif text is not None or cooccurrence is not None:
        scores = text if text is not None else cooccurrence
    else:
        counts = _own_counts_removed(model, mitigation.pk)
        if not counts.sum():
            return []
        scores = counts / counts.sum()
    order = sorted(range(len(model.nodes)), key=lambda i: (-scores[i], model.nodes[i].path))
    return [
        Suggestion(
            node=model.nodes[i],
            score=float(min(max(scores[i], 0.0), 1.0)),
            text_score=float(text[i]) if text is not None else 0.0,
            cooccurrence_score=float(cooccurrence[i]) if cooccurrence is not None else 0.0,
            neighbours=tuple(neighbours.get(i, ())),
        )
        for i in order[:k]
        if scores[i] > 0
    ]


def _own_counts_removed(model: Model, pk: int) -> np.ndarray:
    counts = model.node_counts.copy()
    for index in model.label_of.get(pk, ()) if pk in model.row_of else ():
        counts[index] -= 1
    return counts


def _text_scores(model: Model, mitigation: Mitigation) -> tuple[np.ndarray | None, dict]:
    if model.vectorizer is None or not model.labelled:
        return None, {}
    row = model.row_of.get(mitigation.pk)
    if row is not None:
        query = model.vectors[row]
    else:
        query = model.vectorizer.transform(
            [record_text(mitigation.name, mitigation.section_path, mitigation.definition)]
        )
    similarity = (model.labelled_vectors @ query.T).toarray().ravel()
    if row is not None:
        similarity[model.labelled_rows == row] = 0.0
    nearest = [i for i in np.argsort(-similarity, kind="stable")[:NEIGHBOURS] if similarity[i] > 0]
    if not nearest:
        return None, {}
    votes = np.zeros(len(model.nodes))
    neighbours: dict[int, list[str]] = defaultdict(list)
    for i in nearest:
        for index in model.labels[i]:
            votes[index] += similarity[i]
            if len(neighbours[index]) < EVIDENCE:
                neighbours[index].append(format_public_id(model.labelled_numbers[i]))
    return votes / similarity[nearest].sum(), neighbours


def _cooccurrence_scores(model: Model, mitigation: Mitigation) -> np.ndarray | None:
    if mitigation.pk in model.row_of:
        others = model.other_nodes.get(mitigation.pk, [])
    else:  # not active: its classifications are not in the model
        others = list(
            Classification.objects.using(mitigation._state.db or DEFAULT_DB_ALIAS)
            .filter(mitigation_id=mitigation.pk)
            .exclude(taxonomy_id=model.taxonomy_id)
            .values_list("node_id", flat=True)
        )
    own = model.label_of.get(mitigation.pk, []) if mitigation.pk in model.row_of else []
    counts = _own_counts_removed(model, mitigation.pk)
    total = counts.sum()
    evidence = [node for node in others if node in model.cooccurrence]
    if not evidence or not total:
        return None
    size = len(model.nodes)
    log_posterior = np.log((counts + SMOOTHING) / (total + SMOOTHING * size))
    for node in evidence:
        together = model.cooccurrence[node].copy()
        if own:
            together[own] -= 1  # the record's own pairs are not evidence about itself
        vocabulary = model.taxonomy_sizes[model.taxonomy_of_node[node]]
        log_posterior += np.log((together + SMOOTHING) / (counts + SMOOTHING * vocabulary))
    posterior = np.exp(log_posterior - log_posterior.max())
    return posterior / posterior.sum()
