"""jieba's prefix dictionary from this project's cache equals jieba's own, and a bad cache is never used."""

from __future__ import annotations

import os
import shutil
import tempfile

import jieba
import numpy as np
import pytest

from bot.search import jiebadict
from bot.search.analysis import Analyzer


@pytest.fixture(scope="module")
def reference() -> tuple[dict[str, int], int]:
    tok = jieba.Tokenizer()
    tok.tmp_dir = tempfile.gettempdir()
    tok.cache_file = jiebadict.JIEBA_CACHE_NAME
    tok.initialize()
    return tok.FREQ, tok.total


@pytest.fixture
def cache_dir(tmp_path, reference):
    """A directory holding jieba's own cache (so jieba's loading is quick), not this module's."""
    shutil.copy(os.path.join(tempfile.gettempdir(), jiebadict.JIEBA_CACHE_NAME), tmp_path)
    return str(tmp_path)


def _loaded(cache_dir: str) -> jieba.Tokenizer:
    tok = jieba.Tokenizer()
    jiebadict.initialize(tok, cache_dir)
    return tok


def test_the_cached_dictionary_equals_jiebas_own(cache_dir, reference):
    first = _loaded(cache_dir)  # jieba's loading, then the cache written
    assert os.path.isfile(jiebadict.cache_path(cache_dir, jiebadict.source()))
    second = _loaded(cache_dir)  # from the cache
    assert first.FREQ == second.FREQ == reference[0] and first.total == second.total == reference[1]
    text = "残差网络为什么有效"
    assert second.initialized and second.lcut(text, HMM=False) == jieba.lcut(text, HMM=False)


def test_a_cache_made_from_another_dictionary_is_not_used(cache_dir, reference):
    path = jiebadict.cache_path(cache_dir, jiebadict.source())
    assert jiebadict.write(path, "jieba 0.0 /elsewhere/dict.txt 1 1", {"假": 1}, 1)
    freq, total = reference
    tok = _loaded(cache_dir)
    assert (tok.FREQ, tok.total) == (freq, total)
    assert jiebadict.read(path, jiebadict.source()) == reference  # written again from jieba's


@pytest.mark.parametrize("damage", ["garbage", "truncated", "counts"])
def test_a_damaged_cache_falls_back_to_jieba(cache_dir, reference, damage):
    path = jiebadict.cache_path(cache_dir, jiebadict.source())
    _loaded(cache_dir)
    if damage == "garbage":
        with open(path, "wb") as f:
            f.write(b"not an npz file")
    elif damage == "truncated":
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
    else:  # whole, but one frequency short of the words
        words = "\n".join(reference[0]).encode("utf-8")
        np.savez(path, source=np.array(jiebadict.source()), words=np.frombuffer(words, dtype=np.uint8),
                 freq=np.ones(len(reference[0]) - 1, dtype=np.int64), total=np.array(1))
    freq, total = reference
    tok = _loaded(cache_dir)
    assert (tok.FREQ, tok.total) == (freq, total)


def test_an_unwritable_cache_dir_still_gives_the_dictionary(tmp_path, reference):
    missing = str(tmp_path / "no" / "such" / "dir")
    assert not jiebadict.write(jiebadict.cache_path(missing, "x"), "x", {"词": 1}, 1)
    assert jiebadict.read(jiebadict.cache_path(missing, "x"), "x") is None


def test_words_with_a_newline_are_not_cached(tmp_path):
    assert not jiebadict.write(str(tmp_path / "d.npz"), "x", {"两\n行": 1, "词": 2}, 3)
    assert not (tmp_path / "d.npz").exists()


def test_an_analyzer_tokenizes_as_jiebas_own_dictionary_does(reference):
    an = Analyzer()
    own = jieba.Tokenizer()
    own.FREQ, own.total, own.initialized = dict(reference[0]), reference[1], True
    assert an.tokenizer.initialized and an.tokenizer.FREQ == own.FREQ and an.tokenizer.total == own.total
    for text in ["残差网络为什么能解决深度网络的退化问题", "晨跑时我所在的地方空气很差怎么办", "如何评价MLP-Mixer"]:
        assert an.tokenizer.lcut(text, HMM=False) == own.lcut(text, HMM=False)


def test_two_installations_keep_a_cache_each(cache_dir, reference):
    ours, theirs = jiebadict.source(), "jieba 0.42.1 /other/venv/jieba/dict.txt 1 1"
    assert jiebadict.cache_path(cache_dir, ours) != jiebadict.cache_path(cache_dir, theirs)
    assert jiebadict.write(jiebadict.cache_path(cache_dir, theirs), theirs, {"别的": 1}, 1)
    _loaded(cache_dir)  # ours, written beside theirs
    assert jiebadict.read(jiebadict.cache_path(cache_dir, theirs), theirs) == ({"别的": 1}, 1)
    assert jiebadict.read(jiebadict.cache_path(cache_dir, ours), ours) == reference
