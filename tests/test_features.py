"""Word- and character-level features of a (query, title) pair, as the learned scorer sees them."""

from __future__ import annotations

import random

import pytest
from rapidfuzz import fuzz

from bot.search.features import (
    FEATURES,
    QueryOverlap,
    common_runs,
    overlap_features,
    swap_features,
    word_features,
)


def _idf(word: str) -> float:
    return {"咒术回战": 0.9, "238": 0.8, "236": 0.8, "剧情": 0.4}.get(word, 0.3)


def _no_synonyms(word: str, text: str) -> bool:
    return False


def _overlap(q_toks: list[str], t_toks: list[str], q_text: str, t_text: str) -> tuple[float, ...]:
    q = QueryOverlap.of(q_toks, q_text, _idf)
    return overlap_features(q, t_toks, t_text, _idf, common_runs(q_text, t_text))


def test_identical_texts_overlap_completely() -> None:
    toks = ["咒术回战", "238", "剧情"]
    wq, wt, cq, ct, lcs, bm25, block = _overlap(toks, toks, "咒术回战238剧情", "咒术回战238剧情")
    assert (wq, wt, cq, ct, lcs, block) == (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    assert bm25 > 0


def test_disjoint_texts_share_nothing() -> None:
    assert _overlap(["猫"], ["狗"], "猫", "狗") == (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_overlap_is_judged_both_ways() -> None:
    q, t = ["咒术回战"], ["咒术回战", "238", "剧情"]
    wq, wt, cq, ct, *_ = _overlap(q, t, "咒术回战", "咒术回战238剧情")
    assert wq == 1.0 and cq == 1.0  # the query is all in the title ...
    assert wt == pytest.approx(0.9 / 2.1) and ct == pytest.approx(4 / 9)  # ... the title only partly in the query


def test_bm25_prefers_the_shorter_title_for_the_same_match() -> None:
    q = ["咒术回战"]
    short = _overlap(q, ["咒术回战"], "咒术回战", "咒术回战")[5]
    long = _overlap(q, ["咒术回战", "剧情"], "咒术回战", "咒术回战" + "剧情" * 10)[5]
    assert short > long > 0


def test_longest_block_measures_the_longest_shared_run() -> None:
    block = _overlap(["咒术回战", "剧情"], ["咒术回战"], "咒术回战剧情", "咒术回战的剧照")[6]
    assert block == pytest.approx(4 / 6)


def test_another_episode_is_an_unmatched_rare_word_and_a_swap() -> None:
    q, t = ["咒术回战", "236", "剧情"], ["咒术回战", "238", "剧情"]
    q_un, q_max, _t_un, t_max, n_words = word_features(q, t, "咒术回战236剧情", "咒术回战238剧情", _idf, _no_synonyms)
    assert q_max == 0.8 and t_max == 0.8 and n_words == 1
    assert q_un == pytest.approx(0.8 / 2.1)
    swaps, swap_idf, rare_cover = swap_features(q, t, "咒术回战236剧情", "咒术回战238剧情", _idf, _no_synonyms)
    assert swaps == 1 and swap_idf == 0.8 and rare_cover == pytest.approx(1 / 2)


def test_feature_names_are_unique() -> None:
    assert len(set(FEATURES)) == len(FEATURES)


def test_one_alignment_gives_rapidfuzz_ratio() -> None:
    rng = random.Random(0)
    alphabet = "的是了我你在有不人大学生活费一二三"
    for _ in range(500):
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 15)))
        b = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 25)))
        lcs, block = common_runs(a, b)
        assert 2 * lcs / (len(a) + len(b)) == pytest.approx(fuzz.ratio(a, b) / 100, abs=1e-12)
        assert block <= lcs <= min(len(a), len(b))
