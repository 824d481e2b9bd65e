"""Inverted index: build, save, load."""

from __future__ import annotations

import dataclasses
import json
import struct
import zlib

import numpy as np
import pytest

from bot.search.analysis import Analyzer
from bot.search.index import (
    FORMAT_VERSION,
    MAGIC,
    IndexData,
    build_index,
    load_index,
    save_index,
    verify_index,
)
from bot.search.segment import ARRAYS, doc_totals

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


@pytest.mark.parametrize("damage", ["truncate", "header", "garbage", "empty"])
def test_corrupt_file_gives_none(data, tmp_path, damage):
    path = tmp_path / "idx.bin"
    save_index(path, data, "fp1", META)
    raw = bytearray(path.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) - 20]
    elif damage == "header":
        raw[40] ^= 0xFF  # inside the JSON header: its crc no longer matches
    elif damage == "garbage":
        raw = bytearray(b"\x00not an index" * 10)
    else:
        raw = bytearray()
    path.write_bytes(bytes(raw))
    assert load_index(path, "fp1", META) is None


def _mapped(arr: np.ndarray) -> bool:
    base = arr.base
    while base is not None and not isinstance(base, np.memmap):
        base = getattr(base, "base", None)
    return isinstance(base, np.memmap)


def test_loaded_arrays_are_read_only_file_mappings(data, tmp_path):
    path = tmp_path / "idx.bin"
    save_index(path, data, "fp1", META)
    back = load_index(path, "fp1", META)
    assert back is not None
    for name in ARRAYS:
        arr = getattr(back, name)
        assert not arr.flags.writeable
        assert arr.size == 0 or _mapped(arr)
    with pytest.raises(ValueError):
        back.postings[0] = 1


def test_flipped_array_byte_is_found_by_full_verify(data, tmp_path):
    path = tmp_path / "idx.bin"
    save_index(path, data, "fp1", META)
    assert verify_index(path) is None
    raw = bytearray(path.read_bytes())
    hlen = struct.unpack("<Q", raw[8:16])[0]
    start = -(-(20 + hlen) // 64) * 64
    spec = next(a for a in json.loads(raw[20 : 20 + hlen])["arrays"] if a["name"] == "content")
    raw[start + spec["offset"] + 1] ^= 0x01  # a title's text: not read on open, caught by the crc check
    path.write_bytes(bytes(raw))
    assert load_index(path, "fp1", META) is not None
    assert verify_index(path) is not None


def _crafted(data: IndexData, **arrays: np.ndarray) -> IndexData:
    return dataclasses.replace(data, **arrays)


@pytest.mark.parametrize(
    "craft",
    ["descending_indptr", "posting_out_of_range", "doc_key_out_of_range", "unsorted_vocab", "content_offsets"],
)
def test_crafted_file_with_valid_crcs_but_bad_structure_is_rejected(data, tmp_path, craft):
    if craft == "descending_indptr":
        indptr = np.array(data.indptr)
        indptr[1], indptr[2] = indptr[2], indptr[1]
        bad = _crafted(data, indptr=indptr)
    elif craft == "posting_out_of_range":
        postings = np.array(data.postings)
        postings[len(postings) // 2] = data.n_docs + 7
        bad = _crafted(data, postings=postings)
    elif craft == "doc_key_out_of_range":
        bad = _crafted(data, doc_key=np.full_like(data.doc_key, data.n_keys))
    elif craft == "unsorted_vocab":
        bad = _crafted(data, vocab=np.array(data.vocab[::-1]))
    else:
        off = np.array(data.content_off)
        off[-1] += 5
        bad = _crafted(data, content_off=off)
    path = tmp_path / "idx.bin"
    save_index(path, bad, "fp1", META)  # crcs are computed over the bad arrays: they match
    assert load_index(path, "fp1", META) is None
    assert verify_index(path) is not None


def test_old_format_file_gives_none(data, tmp_path):
    path = tmp_path / "idx.bin"
    save_index(path, data, "fp1", META)
    raw = path.read_bytes()
    hlen, _crc = struct.unpack("<QI", raw[8:20])
    header = json.loads(raw[20 : 20 + hlen])
    assert header["version"] == FORMAT_VERSION
    header["version"] = 1
    new = json.dumps(header).encode()[:hlen].ljust(hlen)
    path.write_bytes(raw[:8] + struct.pack("<QI", hlen, zlib.crc32(new)) + new + raw[20 + hlen :])
    assert load_index(path, "fp1", META) is None


def test_version_1_file_gives_none(tmp_path):
    # the previous layout: magic, header length, JSON header (no header crc)
    header = json.dumps({"version": 1, "fingerprint": "fp1", "meta": META, "end": 0, "arrays": []}).encode()
    path = tmp_path / "idx.bin"
    path.write_bytes(MAGIC + struct.pack("<Q", len(header)) + header)
    assert load_index(path, "fp1", META) is None


@pytest.mark.parametrize("chunk", [3, 7, 1 << 22])
def test_document_totals_sum_each_documents_term_weights_whatever_the_chunking(monkeypatch, chunk):
    """Terms of weight 0 (character bigrams) at a chunk's ends are skipped; the totals stay exact."""
    monkeypatch.setattr("bot.search.segment.CHUNK", chunk)
    rng = np.random.default_rng(4)
    n_docs, n_terms = 9, 12
    lens = rng.integers(1, 5, n_terms)
    indptr = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
    postings = np.concatenate([np.sort(rng.choice(n_docs, n, replace=False)) for n in lens]).astype(np.uint32)
    tw = rng.random(n_terms)
    tw[[0, 1, 2, 5, 6, 11]] = 0.0  # leading, inner and trailing terms of weight 0
    want = np.zeros(n_docs)
    for t in range(n_terms):
        for d in postings[indptr[t] : indptr[t + 1]]:
            want[d] += tw[t]
    got = doc_totals(indptr, postings, tw, n_docs)
    assert got.dtype == np.float32 and np.allclose(got, want, rtol=1e-6, atol=0)
