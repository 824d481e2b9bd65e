"""The index's arrays (one immutable CSR segment) and the numpy kernels every path shares.

Layout (all numpy, no Python object per title or per term):

* ``vocab``    int64[V]   sorted term keys (see :mod:`bot.search.analysis`); lookup is ``searchsorted``
* ``indptr``   int64[V+1] CSR offsets into ``postings``
* ``postings`` uint32[P]  document ids, ascending within a term
* ``idf``      float32[V] BM25-style idf of each term
* ``doc_key``  int32[D]   key index of each document (a document is one (key, title) pair)
* ``doc_total`` float32[D] total term weight of each document (title-side coverage denominator)
* ``content``/``content_off`` UTF-8 blob + offsets: each document's normalised content (for rapidfuzz)
* ``keys``/``key_off``  UTF-8 blob + offsets: the distinct keys, sorted (so key index order = key order)
* ``kwords``   uint8      JSON ``{key: [ascii word, ...]}``: the archive words of each key's titles (one list
  entry per title that has the word), so an incremental update can tell whether the tokenizer would change

A full build and an incremental update both finish with :func:`finish`, which derives ``idf`` and
``doc_total`` from the postings in one fixed order, so the two give bit-identical arrays.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from bot.search.analysis import T_PINYIN, T_WORD

#: Weight of a word term relative to a bigram position (words and bigrams overlap in information).
WORD_WEIGHT = 0.5
#: Postings per step of the chunked passes (bounds temporary memory at any archive size).
CHUNK = 1 << 22

ARRAYS = (
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
    "kwords",
)


def idf_of(df: np.ndarray | float, n_docs: int) -> np.ndarray | float:
    """BM25 idf, always positive."""
    return np.log1p((n_docs - df + 0.5) / (df + 0.5))


def _empty_u8() -> np.ndarray:
    return np.zeros(0, dtype=np.uint8)


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
    kwords: np.ndarray = field(default_factory=_empty_u8)

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

    def term_postings(self, term: int) -> np.ndarray:
        """The documents that have the term key ``term``, ascending (none when the index lacks it)."""
        i = int(np.searchsorted(self.vocab, term))
        if i >= self.vocab.shape[0] or int(self.vocab[i]) != term:
            return self.postings[:0]
        return self.postings[self.indptr[i] : self.indptr[i + 1]]

    def missing_idf(self) -> float:
        return float(idf_of(0.0, self.n_docs))

    def key_list(self) -> list[str]:
        """Every key, in key-index order (one decode of the key blob)."""
        blob = bytes(self.keys)
        off = self.key_off.tolist()
        return [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(off)]

    def key_index(self, key: str) -> int:
        """Index of ``key`` (binary search over the sorted key blob), or -1."""
        lo, hi = 0, self.n_keys
        want = key.encode("utf-8")
        while lo < hi:
            mid = (lo + hi) // 2
            k = bytes(self.keys[self.key_off[mid] : self.key_off[mid + 1]])
            if k < want:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < self.n_keys and self.key_at(lo) == key else -1


def term_weights(vocab: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """Title-side weight of each term: words at WORD_WEIGHT, pinyin bigrams (one per position) at 1,
    character bigrams 0 (a position is counted once, through its pinyin bigram)."""
    ktype = (vocab >> 56).astype(np.int8)
    return np.where(ktype == T_WORD, WORD_WEIGHT, np.where(ktype == T_PINYIN, 1.0, 0.0)) * idf


def doc_totals(indptr: np.ndarray, postings: np.ndarray, tw: np.ndarray, n_docs: int) -> np.ndarray:
    """Per document, the sum of its terms' weights: one term-major pass in fixed chunks of postings.

    A chunk's leading and trailing terms of weight 0 are left out (the character bigrams, a third of
    the postings, sort together): adding 0.0 changes no sum, so the totals are the same to the bit."""
    total = np.zeros(n_docs, dtype=np.float64)
    n = int(postings.shape[0])
    for a in range(0, n, CHUNK):
        b = min(n, a + CHUNK)
        # terms overlapping [a, b), but those of weight 0 at either end: their postings clipped to the chunk
        t0 = int(np.searchsorted(indptr, a, side="right")) - 1
        weighted = np.flatnonzero(tw[t0 : int(np.searchsorted(indptr, b, side="left"))])
        if not weighted.shape[0]:
            continue
        t0, t1 = t0 + int(weighted[0]), t0 + int(weighted[-1]) + 1
        lo = np.clip(indptr[t0:t1], a, b)
        hi = np.clip(indptr[t0 + 1 : t1 + 1], a, b)
        w = np.repeat(tw[t0:t1], hi - lo)
        total += np.bincount(postings[lo[0] : hi[-1]], weights=w, minlength=n_docs)
    return total.astype(np.float32)


def finish(
    vocab: np.ndarray,
    indptr: np.ndarray,
    postings: np.ndarray,
    doc_key: np.ndarray,
    content: np.ndarray,
    content_off: np.ndarray,
    keys: np.ndarray,
    key_off: np.ndarray,
    extra_words: tuple[str, ...],
    kwords: np.ndarray,
) -> IndexData:
    """The index with ``idf`` and ``doc_total`` derived from the postings."""
    n_docs = int(doc_key.shape[0])
    counts = np.diff(indptr)
    idf = idf_of(counts.astype(np.float64), max(n_docs, 1)).astype(np.float32)
    doc_total = doc_totals(indptr, postings, term_weights(vocab, idf), n_docs)
    return IndexData(
        vocab, indptr, postings, idf, doc_key, doc_total, content, content_off, keys, key_off, extra_words, kwords
    )


def blob(strings: list[str] | tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 blob + int64 offsets of some strings."""
    enc = [s.encode("utf-8", "replace") for s in strings]
    off = np.zeros(len(enc) + 1, dtype=np.int64)
    if enc:
        np.cumsum(np.fromiter((len(b) for b in enc), dtype=np.int64, count=len(enc)), out=off[1:])
    return np.frombuffer(b"".join(enc), dtype=np.uint8).copy(), off
