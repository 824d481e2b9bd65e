"""The learned ranking and confidence: small gradient-boosted trees over
:data:`bot.search.features.FEATURES`, evaluated with numpy (no scikit-learn at runtime).

A parameter file may have the ranker, or the ranker and the relevance model, also read some features
*relative to the shortlist* (:data:`SHORTLIST_FEATURES`): how far a candidate is from the best other one,
and where it sits between the shortlist's lowest and highest value, so a model that scores one candidate at
a time sees the competition (``train_scorer.py --shortlist ranker|all``; docs/matcher.md says which the
shipped file has and why).

The parameter file (``scorer_params.json``, written by ``bench/train_scorer.py``) holds three ensembles
(``ranker``, ``relevance`` and ``confidence``) of complete binary trees of one depth: per tree the split feature and
threshold of each internal node (breadth first; go left when ``x <= threshold``) and the value of every
node (internal nodes: the sample-weighted mean of their leaves, so the value changes along a path
attribute the score to features exactly).  The probability is
``sigmoid(base + learning_rate * sum(leaf values))``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources

import numpy as np

from bot.search.features import FEATURES

#: Features also read relative to the shortlist (:func:`with_shortlist`).
RELATIVE: tuple[str, ...] = (
    "bm25", "word_qcov", "word_tcov", "char_qcov", "char_tcov", "qcov", "tcov", "fuzz_ratio", "lcs_ratio",
    "fuzz_set", "fuzz_partial", "q_unmatched", "t_unmatched", "rare_coverage", "longest_block", "q_unmatched_max",
)
#: Per feature of :data:`RELATIVE`: the value minus the best other candidate's, then its place between the
#: shortlist's lowest and highest value (0..1; 1 when they are equal); and the shortlist's size (a tie in a
#: shortlist of one title is no competition; in a shortlist of twenty it is).
SHORTLIST_FEATURES: tuple[str, ...] = (
    *(f"{f}_vs_best" for f in RELATIVE), *(f"{f}_in_range" for f in RELATIVE), "shortlist_size",
)
#: Inputs of a ranker and a relevance model fitted with the shortlist features.
RANK_FEATURES: tuple[str, ...] = (*FEATURES, *SHORTLIST_FEATURES)
_RELATIVE_INDEX = np.array([FEATURES.index(f) for f in RELATIVE], dtype=np.int64)


def confidence_features(rank_features: tuple[str, ...]) -> tuple[str, ...]:
    """Inputs of the confidence model: the candidate's ranking features and the relevance view of the shortlist."""
    return (*rank_features, "relevance_p", "relevance_lead", "candidates")


#: Inputs of the confidence model over :data:`FEATURES` alone (the shipped file).
CONFIDENCE_FEATURES: tuple[str, ...] = confidence_features(FEATURES)


def with_shortlist(x: np.ndarray) -> np.ndarray:
    """A shortlist's :data:`FEATURES` rows (one per candidate) with :data:`SHORTLIST_FEATURES` appended."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    g = x[:, _RELATIVE_INDEX]
    if g.shape[0] == 0:
        return np.zeros((0, len(RANK_FEATURES)))
    high, low = g.max(axis=0), g.min(axis=0)
    second = np.sort(g, axis=0)[-2] if g.shape[0] > 1 else high
    best_other = np.where(g == high, second, high)  # for the best row, the runner-up's value
    spread = high - low
    # a tie (one candidate, or all equal) is the top of the range: nobody is ahead of anyone
    place = np.where(spread > 0, (g - low) / np.where(spread > 0, spread, 1.0), 1.0)
    return np.hstack([x, g - best_other, place, np.full((g.shape[0], 1), float(g.shape[0]))])


PARAMS_FILE = "scorer_params.json"


@dataclass(frozen=True)
class Contribution:
    """One feature's value and its share of the log-odds of the confidence."""

    feature: str
    value: float
    logit: float


class Trees:
    """One ensemble of complete depth-``depth`` regression trees over named features (log-odds)."""

    def __init__(self, params: dict, features: tuple[str, ...]) -> None:
        names = tuple(params["features"])
        if names != features:
            raise ValueError(f"scorer features {names} differ from the matcher's {features}")
        self.features = features
        self.depth = int(params["depth"])
        self.base = float(params["base"])
        self.learning_rate = float(params["learning_rate"])
        trees = params["trees"]
        n_inner = 2**self.depth - 1
        self.feature = np.array([t["feature"] for t in trees], dtype=np.int64).reshape(len(trees), n_inner)
        self.threshold = np.array([t["threshold"] for t in trees], dtype=np.float64).reshape(len(trees), n_inner)
        self.value = np.array([t["value"] for t in trees], dtype=np.float64).reshape(len(trees), 2 * n_inner + 1)
        # every split is tested at once; a table maps the tests of a tree (a bit each) to its leaf
        self._split_feature = self.feature.ravel()
        self._split_threshold = self.threshold.ravel()
        # a tree's tests as the bits of one small integer (uint8 up to depth 3: einsum over bytes is ~2x the
        # speed of a bool @ int64 product)
        self._bit = (1 << np.arange(n_inner)).astype(np.uint8 if n_inner <= 8 else np.int64)
        self._leaf_of = _leaf_table(self.depth)
        leaf_value = self.value[:, n_inner:] * self.learning_rate
        self._leaf_value = leaf_value.ravel()  # tree i's leaf j at i * leaves + j: one flat take per row
        self._leaf_start = (np.arange(len(trees)) * leaf_value.shape[1])[None, :]

    def logit(self, x: np.ndarray) -> np.ndarray:
        """Log-odds per row of ``x`` (rows: samples, columns: ``features``)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[0] == 0:
            return np.zeros(0)
        n, t = x.shape[0], self.feature.shape[0]
        right = (x[:, self._split_feature] > self._split_threshold).reshape(n, t, -1)
        tests = right.view(np.uint8) if self._bit.dtype == np.uint8 else right
        leaf = self._leaf_of[np.einsum("ntk,k->nt", tests, self._bit)]
        return self.base + self._leaf_value.take(leaf + self._leaf_start).sum(axis=1)

    def probability(self, x: np.ndarray) -> np.ndarray:
        """Probabilities in [0, 1], one per row of ``x``."""
        return 1.0 / (1.0 + np.exp(-self.logit(x)))

    def contributions(self, x: np.ndarray) -> tuple[float, list[Contribution]]:
        """``(base log-odds, per-feature contributions)`` of one vector: along each tree's path, the change
        of node value at a split is credited to the split's feature; base + the contributions is the
        log-odds of :meth:`probability`."""
        x = np.asarray(x, dtype=np.float64).ravel()
        total = np.zeros(len(self.features))
        base = self.base
        lr = self.learning_rate
        for ti in range(self.feature.shape[0]):
            node = 0
            base += lr * self.value[ti, 0]
            for _ in range(self.depth):
                f = int(self.feature[ti, node])
                child = 2 * node + 1 + int(x[f] > self.threshold[ti, node])
                total[f] += lr * (self.value[ti, child] - self.value[ti, node])
                node = child
        return base, [Contribution(name, float(x[i]), float(total[i])) for i, name in enumerate(self.features)]


def _leaf_table(depth: int) -> np.ndarray:
    """For a complete tree of ``depth``: the leaf (0-based, left to right) reached for every pattern of its
    split tests (bit ``i`` set: the test of node ``i``, breadth first, sends the row right)."""
    n_inner = 2**depth - 1
    out = np.zeros(1 << n_inner, dtype=np.int64)
    for code in range(1 << n_inner):
        node = 0
        for _ in range(depth):
            node = 2 * node + 1 + ((code >> node) & 1)
        out[code] = node - n_inner
    return out


class Scorer:
    """Three small models over a shortlist's :data:`FEATURES` (each with :data:`SHORTLIST_FEATURES` when the
    file fitted it with them): the *ranker* orders it (trained on queries whose
    shortlist holds the question meant: which one is it?); the *relevance* model gives each candidate the
    probability that it is the question meant (trained on every query, those with no right candidate
    too); the *confidence* model estimates the probability that the top candidate is right, from the
    relevance model's features of it plus the relevance view of the shortlist (:func:`confidence_features`).
    A parameter file without a relevance model uses the ranker's probabilities for it."""

    def __init__(self, params: dict) -> None:
        self.ranker = Trees(params["ranker"], _feature_set(params["ranker"]))
        self.relevance = (Trees(params["relevance"], _feature_set(params["relevance"])) if "relevance" in params
                          else self.ranker)
        self.confidence = Trees(params["confidence"], confidence_features(self.relevance.features))
        #: whether any model reads the shortlist features
        self.relative = RANK_FEATURES in (self.ranker.features, self.relevance.features)
        self.bands: dict[str, float] = {k: float(v) for k, v in params.get("bands", {}).items()}
        self.meta: dict[str, object] = dict(params.get("meta", {}))

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> Scorer:
        """The scorer from ``path``, or from the parameter file shipped with the package."""
        if path is None:
            text = resources.files("bot.search").joinpath(PARAMS_FILE).read_text(encoding="utf-8")
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        return cls(json.loads(text))

    def score(self, x: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(order, confidences)`` for a shortlist's :data:`FEATURES` rows: the ranker's order (best first)
        and, in that order, each candidate's confidence (0..1) as if it were the top hit (the first ``k``
        candidates only, when ``k`` is given)."""
        order, conf, _ranker = self.ranked(x, k)
        return order, conf

    def ranked(self, x: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`score`, and the ranker's probabilities in the same order (each candidate's chance of being
        the question meant, were one of them)."""
        views = self.views(x)
        p = self.ranker.probability(views[self.ranker.features])
        if p.shape[0] == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
        order = np.lexsort((np.arange(p.shape[0]), -p))
        rows = self.confidence_input(views, p, order)
        return order, self.confidence.probability(rows if k is None else rows[:k]), p[order]

    def views(self, x: np.ndarray) -> dict[tuple[str, ...], np.ndarray]:
        """A shortlist's :data:`FEATURES` rows as each model reads them, by feature set (the shortlist
        features are computed once, and only when a model reads them)."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, len(FEATURES))
        return {FEATURES: x, **({RANK_FEATURES: with_shortlist(x)} if self.relative else {})}

    def confidence_input(self, views: dict[tuple[str, ...], np.ndarray], ranker_p: np.ndarray,
                         order: np.ndarray) -> np.ndarray:
        """The confidence model's rows for the candidates in ``order`` (the first one as the top hit), from
        :meth:`views` and the ranker's probabilities."""
        v = views[self.relevance.features]
        r = ranker_p if self.relevance is self.ranker else self.relevance.probability(v)
        return confidence_rows(v[order], r[order])


def _feature_set(params: dict) -> tuple[str, ...]:
    """The feature set a model of the parameter file reads: :data:`FEATURES` or :data:`RANK_FEATURES`."""
    names = tuple(params["features"])
    if names not in (FEATURES, RANK_FEATURES):
        raise ValueError(f"scorer features {names} are neither the matcher's {FEATURES} nor {RANK_FEATURES}")
    return names


def confidence_rows(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The confidence model's input: each row's features, its relevance probability ``p``, its lead over the
    best other candidate's, and the shortlist's size (rows in ranker order)."""
    n = x.shape[0]
    first = p[0] if n else 0.0
    second = p[1] if n > 1 else 0.0
    lead = np.where(np.arange(n) == 0, first - second, p - first)
    return np.column_stack([x, p, lead, np.full(n, float(n))])
