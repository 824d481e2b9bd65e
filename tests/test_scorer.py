"""The learned scorer: its shipped parameter file, probabilities and per-feature contributions."""

from __future__ import annotations

import numpy as np
import pytest

from bot.config import MatcherSettings
from bot.search.features import FEATURES
from bot.search.scorer import (
    CONFIDENCE_FEATURES,
    RANK_FEATURES,
    RELATIVE,
    Scorer,
    Trees,
    confidence_features,
    confidence_rows,
    with_shortlist,
)
from tests.stubs import one_split


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer.load()


def _row(**values: float) -> np.ndarray:
    x = np.zeros(len(FEATURES))
    for name, v in values.items():
        x[FEATURES.index(name)] = v
    return x


def test_shipped_parameter_file_loads_with_the_matchers_features(scorer):
    assert scorer.ranker.features in (FEATURES, RANK_FEATURES)
    assert scorer.relevance.features in (FEATURES, RANK_FEATURES)
    assert scorer.confidence.features == confidence_features(scorer.relevance.features)
    assert scorer.ranker.feature.shape[0] > 0 and scorer.confidence.feature.shape[0] > 0
    assert 0 < scorer.bands["answer"] <= 100


def test_default_answer_band_is_the_one_the_scorer_was_trained_for(scorer):
    assert MatcherSettings().answer_threshold == scorer.bands["answer"]


def test_probabilities_are_in_range_and_monotone_in_coverage(scorer):
    covs = np.linspace(0.0, 1.0, 11)
    x = np.array([_row(rank_score=c, confidence=c, qcov=c, tcov=c, fuzz_set=c, fuzz_partial=c, fuzz_ratio=c,
                       query_weight=5.0, query_words=4.0, q_unmatched=1 - c, t_unmatched=1 - c, lead=c,
                       conf_lead=c, rare_coverage=1.0) for c in covs])
    order, conf = scorer.score(x)
    assert np.all((conf >= 0) & (conf <= 1))
    p = scorer.ranker.probability(scorer.views(x)[scorer.ranker.features])
    assert np.all((p >= 0) & (p <= 1))
    assert p[-1] > p[0] + 0.3  # a title covering the query fully beats one sharing nothing
    assert order[0] >= len(covs) - 3  # among the best-covered rows


def test_contributions_add_up_to_the_log_odds(scorer):
    x = _row(rank_score=0.8, confidence=0.8, qcov=0.9, tcov=0.7, fuzz_set=0.9, fuzz_partial=0.9,
             fuzz_ratio=0.7, query_weight=5.0, query_words=4.0, lead=0.3, conf_lead=0.3, rare_coverage=1.0)
    x = scorer.views(x)[scorer.ranker.features][0]
    base, contribs = scorer.ranker.contributions(x)
    assert [c.feature for c in contribs] == list(scorer.ranker.features)
    assert base + sum(c.logit for c in contribs) == pytest.approx(float(scorer.ranker.logit(x)[0]), abs=1e-9)


def test_confidence_rows_carry_the_relevance_lead():
    x = np.zeros((3, len(FEATURES)))
    rows = confidence_rows(x, np.array([0.9, 0.5, 0.1]))
    assert rows.shape == (3, len(CONFIDENCE_FEATURES))
    lead = CONFIDENCE_FEATURES.index("relevance_lead")
    assert rows[0, lead] == pytest.approx(0.4) and rows[1, lead] == pytest.approx(-0.4)


def test_trees_refuse_a_file_for_other_features():
    params = {"features": ["a"], "depth": 1, "base": 0.0, "learning_rate": 0.1, "trees": []}
    with pytest.raises(ValueError):
        Trees(params, FEATURES)
    with pytest.raises(ValueError, match="neither"):
        Scorer({"ranker": params, "confidence": one_split("relevance_p", CONFIDENCE_FEATURES)})


def test_a_tiny_hand_made_tree_routes_left_and_right():
    params = {"features": list(FEATURES), "depth": 1, "base": 0.0, "learning_rate": 1.0,
              "trees": [{"feature": [FEATURES.index("qcov")], "threshold": [0.5], "value": [0.0, -2.0, 2.0]}]}
    t = Trees(params, FEATURES)
    p = t.probability(np.array([_row(qcov=0.2), _row(qcov=0.8)]))
    assert p[0] < 0.5 < p[1]


def test_the_ranker_orders_and_the_relevance_model_feeds_the_confidence():
    # ranker: more qcov first; relevance: more tcov; confidence: a high relevance_p means right
    scorer = Scorer({"ranker": one_split("qcov"), "relevance": one_split("tcov"),
                     "confidence": one_split("relevance_p", CONFIDENCE_FEATURES)})
    x = np.array([_row(qcov=0.2, tcov=0.9), _row(qcov=0.9, tcov=0.1)])
    order, conf = scorer.score(x)
    assert order.tolist() == [1, 0]  # the ranker's order ...
    assert conf[0] < 0.5 < conf[1]  # ... and the top's low relevance gives it a low confidence


def test_ranked_gives_the_rankers_probabilities_in_its_order():
    scorer = Scorer({"ranker": one_split("qcov"), "confidence": one_split("relevance_p", CONFIDENCE_FEATURES)})
    x = np.array([_row(qcov=0.2), _row(qcov=0.9), _row(qcov=0.4)])
    order, conf, ranker = scorer.ranked(x)
    assert order.tolist() == [1, 0, 2]  # ties keep the shortlist's order
    assert ranker.tolist() == pytest.approx(scorer.ranker.probability(x)[order].tolist())
    assert ranker[0] > 0.5 > ranker[1]
    assert scorer.score(x)[1].tolist() == conf.tolist()


def test_without_a_relevance_model_the_rankers_probabilities_stand_in():
    scorer = Scorer({"ranker": one_split("qcov"), "confidence": one_split("relevance_p", CONFIDENCE_FEATURES)})
    order, conf = scorer.score(np.array([_row(qcov=0.2), _row(qcov=0.9)]))
    assert order.tolist() == [1, 0] and conf[0] > 0.5 > conf[1]


def test_shortlist_features_give_each_candidate_its_distance_from_the_best_other():
    x = np.array([_row(bm25=2.0, qcov=0.5), _row(bm25=5.0, qcov=0.5), _row(bm25=3.0, qcov=0.5)])
    rows = with_shortlist(x)
    assert rows.shape == (3, len(RANK_FEATURES)) and np.array_equal(rows[:, : len(FEATURES)], x)
    vs_best, in_range = RANK_FEATURES.index("bm25_vs_best"), RANK_FEATURES.index("bm25_in_range")
    assert rows[:, vs_best].tolist() == [-3.0, 2.0, -2.0]  # the best one: its lead over the runner-up
    assert rows[:, in_range].tolist() == pytest.approx([0.0, 1.0, 1 / 3])
    tie, tie_place = RANK_FEATURES.index("qcov_vs_best"), RANK_FEATURES.index("qcov_in_range")
    assert rows[:, tie].tolist() == [0.0, 0.0, 0.0] and rows[:, tie_place].tolist() == [1.0, 1.0, 1.0]
    alone = with_shortlist(x[:1])  # a one-title shortlist (a tiny archive): at the top, nobody ahead
    assert alone[0, vs_best] == 0.0 and alone[0, in_range] == 1.0
    size = RANK_FEATURES.index("shortlist_size")  # ... which the shortlist's size tells apart from a tie
    assert rows[:, size].tolist() == [3.0, 3.0, 3.0] and alone[0, size] == 1.0
    assert set(RELATIVE) <= set(FEATURES)
    assert with_shortlist(np.zeros((0, len(FEATURES)))).shape == (0, len(RANK_FEATURES))


def test_a_ranker_on_shortlist_features_prefers_the_candidate_ahead_of_the_others():
    scorer = Scorer({"ranker": one_split("qcov_vs_best", RANK_FEATURES, threshold=0.0),
                     "confidence": one_split("relevance_p", confidence_features(RANK_FEATURES))})
    order, conf = scorer.score(np.array([_row(qcov=0.3), _row(qcov=0.8), _row(qcov=0.5)]))
    assert scorer.relative and order.tolist()[0] == 1 and conf[0] > 0.5


def test_a_ranker_on_shortlist_features_beside_an_absolute_relevance_model():
    # the ranker reads the shortlist (qcov ahead of the others first); relevance and confidence read each
    # candidate alone (tcov), so a shortlist of junk stays junk however far its best is ahead
    scorer = Scorer({"ranker": one_split("qcov_vs_best", RANK_FEATURES, threshold=0.0),
                     "relevance": one_split("tcov"),
                     "confidence": one_split("relevance_p", CONFIDENCE_FEATURES)})
    assert scorer.relative and scorer.confidence.features == CONFIDENCE_FEATURES
    order, conf = scorer.score(np.array([_row(qcov=0.3, tcov=0.1), _row(qcov=0.8, tcov=0.1)]))
    assert order.tolist() == [1, 0] and conf[0] < 0.5
    order, conf = scorer.score(np.array([_row(qcov=0.3, tcov=0.1), _row(qcov=0.8, tcov=0.9)]))
    assert order.tolist() == [1, 0] and conf[0] > 0.5
    views = scorer.views(np.array([_row(qcov=0.3)]))
    assert views[FEATURES].shape == (1, len(FEATURES)) and views[RANK_FEATURES].shape == (1, len(RANK_FEATURES))


def test_an_empty_shortlist_scores_nothing(scorer):
    order, conf = scorer.score(np.zeros((0, len(FEATURES))))
    assert order.shape == (0,) and conf.shape == (0,)


def _walk(trees: Trees, row: np.ndarray) -> float:
    """The log-odds of one row by following each tree from its root (the reference for ``Trees.logit``)."""
    total = trees.base
    for ti in range(trees.feature.shape[0]):
        node = 0
        for _ in range(trees.depth):
            node = 2 * node + 1 + int(row[trees.feature[ti, node]] > trees.threshold[ti, node])
        total += trees.learning_rate * trees.value[ti, node]  # the leaf's value
    return total


@pytest.mark.parametrize("model", ["ranker", "relevance", "confidence"])
def test_every_split_tested_at_once_gives_each_trees_path(scorer, model):
    trees = getattr(scorer, model)
    rows = np.random.default_rng(7).uniform(-0.5, 2.0, size=(40, len(trees.features)))
    got = trees.logit(rows)
    assert got == pytest.approx([_walk(trees, r) for r in rows], abs=1e-9)


def test_a_deeper_tree_than_eight_tests_routes_as_its_path():
    rng = np.random.default_rng(3)
    depth, n_inner = 4, 15
    trees = [{"feature": rng.integers(0, len(FEATURES), n_inner).tolist(),
              "threshold": rng.uniform(0, 1, n_inner).tolist(),
              "value": rng.normal(size=2 * n_inner + 1).tolist()} for _ in range(5)]
    t = Trees({"features": list(FEATURES), "depth": depth, "base": 0.1, "learning_rate": 0.5, "trees": trees}, FEATURES)
    rows = rng.uniform(0, 1, size=(30, len(FEATURES)))
    assert t.logit(rows) == pytest.approx([_walk(t, r) for r in rows], abs=1e-12)
