"""Inverted index over term keys: build, save, load.

Layout (all numpy, no Python object per title or per term, so 10^6 titles load in well under a second):

* ``vocab``    int64[V]   sorted term keys (see :mod:`bot.search.analysis`); lookup is ``searchsorted``
* ``indptr``   int64[V+1] CSR offsets into ``postings``
* ``postings`` uint32[P]  document ids, ascending within a term
* ``idf``      float32[V] BM25-style idf of each term
* ``doc_key``  int32[D]   key index of each document (a document is one (key, title) pair)
* ``doc_total`` float32[D] total term weight of each document (title-side coverage denominator)
* ``content``/``content_off`` UTF-8 blob + offsets: each document's normalised content (for rapidfuzz)
* ``keys``/``key_off``  UTF-8 blob + offsets: the distinct keys, sorted (so key index order = key order)

File format: magic, a JSON header (format version, fingerprint, library versions, array table with
crc32 of each array) and the raw arrays.  ``load_index`` returns None on any mismatch or damage.
"""

from __future__ import annotations

import json
import math
import os
import struct
import zlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.search.analysis import T_PINYIN, T_WORD, Analysis

FORMAT_VERSION = 1
MAGIC = b"ABOTIDX\x00"
#: Weight of a word term relative to a bigram position (words and bigrams overlap in information).
WORD_WEIGHT = 0.5
_ALIGN = 64
_ARRAYS = (
    "vocab",
    "indptr",
    "postings",
    "idf",
    "doc_key",
    "doc_total",
    "content",
    "content_off",
    "keys",
    "key_off",
)


def idf_of(df: np.ndarray | float, n_docs: int) -> np.ndarray | float:
    """BM25 idf, always positive."""
    return np.log1p((n_docs - df + 0.5) / (df + 0.5))


@dataclass
class IndexData:
    vocab: np.ndarray
    indptr: np.ndarray
    postings: np.ndarray
    idf: np.ndarray
    doc_key: np.ndarray
    doc_total: np.ndarray
    content: np.ndarray
    content_off: np.ndarray
    keys: np.ndarray
    key_off: np.ndarray
    extra_words: tuple[str, ...] = ()

    @property
    def n_docs(self) -> int:
        return int(self.doc_key.shape[0])

    @property
    def n_keys(self) -> int:
        return int(self.key_off.shape[0] - 1)

    def key_at(self, i: int) -> str:
        return bytes(self.keys[self.key_off[i] : self.key_off[i + 1]]).decode("utf-8")

    def content_at(self, d: int) -> str:
        return bytes(self.content[self.content_off[d] : self.content_off[d + 1]]).decode("utf-8")

    def missing_idf(self) -> float:
        return float(idf_of(0.0, self.n_docs))


def _blob(strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    enc = [s.encode("utf-8", "replace") for s in strings]
    off = np.zeros(len(enc) + 1, dtype=np.int64)
    if enc:
        np.cumsum([len(b) for b in enc], out=off[1:])
    return np.frombuffer(b"".join(enc), dtype=np.uint8).copy(), off


def build_index(docs: Iterable[tuple[str, Analysis]], extra_words: Sequence[str] = ()) -> IndexData:
    """Build from ``(key, analysis)`` pairs.  Documents with the same key and content are merged."""
    all_keys = array("q")
    lens = array("I")
    contents: list[str] = []
    doc_key_str: list[str] = []
    seen: set[tuple[str, str]] = set()
    for key, an in docs:
        if not an.content or (key, an.content) in seen:
            continue
        seen.add((key, an.content))
        ks = an.keys()
        all_keys.extend(ks)
        lens.append(len(ks))
        contents.append(an.content)
        doc_key_str.append(key)
    del seen
    n_docs = len(contents)
    keys_sorted = sorted(set(doc_key_str))
    key_index = {k: i for i, k in enumerate(keys_sorted)}
    doc_key = np.fromiter((key_index[k] for k in doc_key_str), dtype=np.int32, count=n_docs)
    del doc_key_str, key_index
    flat = np.frombuffer(all_keys, dtype=np.int64) if len(all_keys) else np.zeros(0, np.int64)
    vocab, inv = np.unique(flat, return_inverse=True)
    del flat, all_keys
    inv = inv.astype(np.int64, copy=False).ravel()
    lens_np = np.frombuffer(lens, dtype=np.uint32) if len(lens) else np.zeros(0, np.uint32)
    doc_of = np.repeat(np.arange(n_docs, dtype=np.uint32), lens_np)
    counts = np.bincount(inv, minlength=vocab.shape[0])
    indptr = np.zeros(vocab.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    order = np.argsort(inv, kind="stable")
    postings = doc_of[order]
    del order
    idf = idf_of(counts.astype(np.float64), max(n_docs, 1)).astype(np.float32)
    ktype = (vocab >> 56).astype(np.int8)
    tw = np.where(ktype == T_WORD, WORD_WEIGHT, np.where(ktype == T_PINYIN, 1.0, 0.0)) * idf
    doc_total = np.bincount(doc_of, weights=tw[inv], minlength=n_docs).astype(np.float32)
    del inv, doc_of
    content, content_off = _blob(contents)
    kblob, key_off = _blob(keys_sorted)
    return IndexData(
        vocab,
        indptr,
        postings.astype(np.uint32, copy=False),
        idf,
        doc_key,
        doc_total,
        content,
        content_off,
        kblob,
        key_off,
        tuple(extra_words),
    )


def save_index(path: str | os.PathLike[str], data: IndexData, fingerprint: str, meta: dict[str, str]) -> None:
    """Write atomically (temp file + rename)."""
    arrays = {name: np.ascontiguousarray(getattr(data, name)) for name in _ARRAYS}
    table = []
    offset = end = 0
    for name, arr in arrays.items():
        table.append(
            {
                "name": name,
                "dtype": arr.dtype.str,
                "shape": list(arr.shape),
                "offset": offset,
                "nbytes": int(arr.nbytes),
                "crc": zlib.crc32(memoryview(arr).cast("B")),
            }
        )
        end = offset + int(arr.nbytes)
        offset += int(math.ceil(arr.nbytes / _ALIGN) * _ALIGN)
    header = json.dumps(
        {
            "version": FORMAT_VERSION,
            "fingerprint": fingerprint,
            "meta": meta,
            "end": end,
            "extra_words": list(data.extra_words),
            "arrays": table,
        }
    ).encode("utf-8")
    start = len(MAGIC) + 8 + len(header)
    start = int(math.ceil(start / _ALIGN) * _ALIGN)
    tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<Q", len(header)) + header)
        f.write(b"\0" * (start - f.tell()))
        for arr, spec in zip(arrays.values(), table, strict=True):
            f.seek(start + spec["offset"])
            f.write(memoryview(arr).cast("B"))
        f.truncate(start + end)
    os.replace(tmp, path)


def load_index(path: str | os.PathLike[str], fingerprint: str, meta: dict[str, str]) -> IndexData | None:
    """The saved index, or None if missing, damaged, of another format/library version, or stale."""
    try:
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                return None
            (hlen,) = struct.unpack("<Q", f.read(8))
            if hlen > 1 << 28:
                return None
            header = json.loads(f.read(hlen).decode("utf-8"))
            if header.get("version") != FORMAT_VERSION or header.get("fingerprint") != fingerprint:
                return None
            if header.get("meta") != meta:
                return None
            start = int(math.ceil((len(MAGIC) + 8 + hlen) / _ALIGN) * _ALIGN)
            size = os.fstat(f.fileno()).st_size
            if size != start + int(header["end"]):
                return None
            arrays: dict[str, np.ndarray] = {}
            for spec in header["arrays"]:
                dtype = np.dtype(spec["dtype"])
                count = int(np.prod(spec["shape"], dtype=np.int64))
                if count * dtype.itemsize != spec["nbytes"] or start + spec["offset"] + spec["nbytes"] > size:
                    return None
                f.seek(start + spec["offset"])
                arr = np.fromfile(f, dtype=dtype, count=count).reshape(spec["shape"])
                if arr.nbytes != spec["nbytes"] or zlib.crc32(memoryview(arr).cast("B")) != spec["crc"]:
                    return None
                arrays[spec["name"]] = arr
        if set(arrays) != set(_ARRAYS):
            return None
        data = IndexData(**arrays, extra_words=tuple(header.get("extra_words", ())))
        v = data.vocab.shape[0]
        if (
            data.indptr.shape[0] != v + 1
            or data.idf.shape[0] != v
            or data.indptr[-1] != data.postings.shape[0]
        ):
            return None
        if data.doc_total.shape[0] != data.n_docs or data.content_off.shape[0] != data.n_docs + 1:
            return None
        if data.n_docs and (
            int(data.postings.max(initial=0)) >= data.n_docs or int(data.doc_key.max()) >= data.n_keys
        ):
            return None
        return data
    except (OSError, ValueError, KeyError, TypeError, struct.error, UnicodeDecodeError, json.JSONDecodeError):
        return None
