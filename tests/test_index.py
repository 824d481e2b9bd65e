"""Inverted index: build, save, load."""

from __future__ import annotations

import numpy as np
import pytest

from bot.search.analysis import Analyzer
from bot.search.index import build_index, load_index, save_index

TITLES = [
    ("1", "残差网络为什么有效"),
    ("2", "如何评价MLP-Mixer"),
    ("3", "大家觉得跑男好看吗"),
    ("1", "ResNet 为什么有效"),
]
META = {"v": "1"}


@pytest.fixture(scope="module")
def data():
    an = Analyzer()
    return build_index(((k, an.analyze(t)) for k, t in TITLES), extra_words=("mlp",))


def test_postings_are_sorted_and_cover_every_document(data):
    assert data.n_docs == 4 and data.n_keys == 3
    for i in range(data.vocab.shape[0]):
        p = data.postings[data.indptr[i] : data.indptr[i + 1]]
        assert np.all(np.diff(p.astype(np.int64)) > 0)
    assert set(data.postings.tolist()) == {0, 1, 2, 3}


def test_vocab_is_sorted_unique(data):
    assert np.all(np.diff(data.vocab) > 0)


def test_save_load_round_trip(data, tmp_path):
    path = tmp_path / "idx.bin"
    save_index(path, data, "fp1", META)
    back = load_index(path, "fp1", META)
    assert back is not None
    for name in ("vocab", "indptr", "postings", "idf", "doc_key", "doc_total", "content", "content_off"):
        assert np.array_equal(getattr(back, name), getattr(data, name))
    assert back.extra_words == ("mlp",)
    assert [back.key_at(i) for i in range(back.n_keys)] == ["1", "2", "3"]


def test_stale_fingerprint_gives_none(data, tmp_path):
    path = tmp_path / "idx.bin"
    save_index(path, data, "fp1", META)
    assert load_index(path, "fp2", META) is None
    assert load_index(path, "fp1", {"v": "2"}) is None


def test_missing_file_gives_none(tmp_path):
    assert load_index(tmp_path / "nope.bin", "fp", META) is None


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_corrupt_file_gives_none(data, tmp_path, damage):
    path = tmp_path / "idx.bin"
    save_index(path, data, "fp1", META)
    raw = bytearray(path.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) - 20]
    elif damage == "flip":
        raw[-30] ^= 0xFF
    elif damage == "garbage":
        raw = bytearray(b"\x00not an index" * 10)
    else:
        raw = bytearray()
    path.write_bytes(bytes(raw))
    assert load_index(path, "fp1", META) is None
