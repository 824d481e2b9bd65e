"""Building a segment in bounded memory: documents are analysed in batches, each batch becomes a sorted
run of ``(term, doc)`` postings (numpy arrays, no Python object per posting), and the runs are merged into
one CSR by a scatter pass.  Titles are kept between the two passes (archive words first, then terms) as
joined text, not as one object per title.
"""

from __future__ import annotations

import itertools
import json
import re
import tempfile
from array import array
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from bot.bulk import bulk
from bot.search.analysis import Analysis, Analyzer
from bot.search.batch import BatchAnalyzer, TermBatch
from bot.search.segment import IndexData, blob, finish

#: Documents per run.
BATCH = 1 << 16
#: Titles normalised at once (``Normalizer.normalize_many``).
NORMALIZE_BATCH = 1 << 12
#: ASCII words (with a letter, 2+ chars) that at least this many titles use are added to the tokenizer.
ARCHIVE_WORD_MIN = 2
_WORD_RE = re.compile(r"[a-z][a-z0-9]+|[0-9]+[a-z][a-z0-9]*")


def title_words(normalized: str) -> set[str]:
    """The ASCII words of a normalised title that count towards the archive words."""
    return set(_WORD_RE.findall(normalized))


def archive_words(kwords: dict[str, list[str]]) -> list[str]:
    """Sorted words used by at least ``ARCHIVE_WORD_MIN`` titles (``kwords``: key -> words per title)."""
    counts: dict[str, int] = {}
    for words in kwords.values():
        for w in words:
            counts[w] = counts.get(w, 0) + 1
    return sorted(w for w, c in counts.items() if c >= ARCHIVE_WORD_MIN)


def kwords_blob(kwords: dict[str, list[str]]) -> np.ndarray:
    raw = json.dumps(kwords, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return np.frombuffer(raw, dtype=np.uint8).copy()


def kwords_of(data: IndexData) -> dict[str, list[str]]:
    return json.loads(bytes(data.kwords).decode("utf-8")) if data.kwords.shape[0] else {}


class SegmentBuilder:
    """Accumulates ``(key, analysis)`` documents; :meth:`finish` returns the segment.  Documents with the
    same key and content are merged; documents without content are skipped.  Each run's doc ids wait in a
    temporary file until the merge, so memory holds the final postings and one run."""

    def __init__(self, batch: int = BATCH) -> None:
        self._batch = batch
        self._keys = array("q")
        self._lens = array("q")
        self._texts: list[bytes] = []
        # each run: its terms, their counts, and where its doc ids wait in the spill file
        self._runs: list[tuple[np.ndarray, np.ndarray, int, int]] = []
        self._spill = tempfile.TemporaryFile(prefix="archive-bot-index-")  # noqa: SIM115 - closed by finish
        self._content = bytearray()
        self._content_lens = array("q")
        self.doc_keys: list[str] = []
        self._seen: set[int] = set()
        self._start = 0

    @property
    def n_docs(self) -> int:
        return len(self.doc_keys)

    def add(self, key: str, an: Analysis) -> bool:
        """Add one document; False when it is empty or a duplicate."""
        if not an.content:
            return False
        h = hash((key, an.content))
        if h in self._seen:
            return False
        self._seen.add(h)
        ks = an.keys()
        self._keys.extend(ks)
        self._lens.append(len(ks))
        self._texts.append(an.content.encode("utf-8", "replace"))
        if self.doc_keys and self.doc_keys[-1] == key:
            key = self.doc_keys[-1]  # share the string with the previous title of the same key
        self.doc_keys.append(key)
        if self.n_docs - self._start >= self._batch:
            self._flush()
        return True

    def add_batch(self, keys: Sequence[str], terms: TermBatch) -> int:
        """Add the documents of a :class:`TermBatch` (``keys[i]`` is text i's key) as one run, as
        :meth:`add` of each would; the number added."""
        self._flush()
        kept = np.zeros(len(keys), dtype=bool)
        for i, (key, content) in enumerate(zip(keys, terms.contents, strict=True)):
            if not content:
                continue
            h = hash((key, content))
            if h in self._seen:
                continue
            self._seen.add(h)
            kept[i] = True
            self._texts.append(content.encode("utf-8", "replace"))
            if self.doc_keys and self.doc_keys[-1] == key:
                key = self.doc_keys[-1]
            self.doc_keys.append(key)
        n = int(kept.sum())
        if n:
            doc_id = np.cumsum(kept) - 1 + self._start  # ascending over kept texts: the key order stays
            m = kept[terms.doc]
            tk, docs = terms.key[m], doc_id[terms.doc[m]].astype(np.uint32)
            del m
            order = np.argsort(tk, kind="stable")  # documents ascend: stable keeps them so per term
            self._run(tk[order], docs[order])
        return n

    def _flush(self) -> None:
        n = self.n_docs - self._start
        if n == 0:
            return
        keys = np.frombuffer(self._keys, dtype=np.int64) if len(self._keys) else np.zeros(0, np.int64)
        lens = np.frombuffer(self._lens, dtype=np.int64)
        docs = np.repeat(np.arange(self._start, self.n_docs, dtype=np.uint32), lens)
        order = np.argsort(keys, kind="stable")
        sk, sd = keys[order], docs[order]
        del order, keys, docs
        self._run(sk, sd)

    def _run(self, sk: np.ndarray, sd: np.ndarray) -> None:
        """Spill one run (postings sorted by term, then doc) of the documents since the last run."""
        starts = np.flatnonzero(np.concatenate(([True], sk[1:] != sk[:-1]))) if sk.shape[0] else np.zeros(0, np.int64)
        rv, rc = sk[starts], np.diff(np.append(starts, sk.shape[0]))
        at = self._spill.seek(0, 2)
        sd.tofile(self._spill)
        self._runs.append((rv, rc, at, int(sd.shape[0])))
        del sd, sk
        self._content += b"".join(self._texts)
        self._content_lens.extend(len(t) for t in self._texts)
        self._keys, self._lens, self._texts = array("q"), array("q"), []
        self._start = self.n_docs

    def finish(self, extra_words: Sequence[str] = (), kwords: np.ndarray | None = None) -> IndexData:
        self._flush()
        self._seen = set()
        runs = self._runs
        # the runs' sorted vocabularies, merged (a stable sort finds the sorted runs) and deduplicated
        vocab = np.concatenate([np.zeros(0, np.int64), *(r[0] for r in runs)]).astype(np.int64)
        vocab.sort(kind="stable")
        vocab = vocab[np.concatenate(([True], vocab[1:] != vocab[:-1]))] if vocab.shape[0] else vocab
        counts = np.zeros(vocab.shape[0], dtype=np.int64)
        where = []
        for rv, rc, _, _ in runs:
            g = np.searchsorted(vocab, rv)
            counts[g] += rc
            where.append(g)
        indptr = np.zeros(vocab.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        postings = np.empty(int(indptr[-1]), dtype=np.uint32)
        fill = indptr[:-1].copy()
        while runs:  # runs hold ascending doc ranges: appending each run's docs keeps every term sorted
            rv, rc, at, n = runs.pop(0)
            self._spill.seek(at)
            sd = np.fromfile(self._spill, dtype=np.uint32, count=n)
            g = where.pop(0)
            local = np.zeros(rc.shape[0], dtype=np.int64)
            np.cumsum(rc[:-1], out=local[1:])
            postings[np.repeat(fill[g] - local, rc) + np.arange(sd.shape[0])] = sd
            fill[g] += rc
            del rv, rc, sd, g, local
        del fill
        self._spill.close()
        keys_sorted = sorted(set(self.doc_keys))
        kidx = {k: i for i, k in enumerate(keys_sorted)}
        doc_key = np.fromiter((kidx[k] for k in self.doc_keys), dtype=np.int32, count=self.n_docs)
        del kidx
        self.doc_keys = []
        content = np.frombuffer(self._content, dtype=np.uint8)
        self._content = bytearray()
        content_off = np.zeros(len(self._content_lens) + 1, dtype=np.int64)
        if len(self._content_lens):
            np.cumsum(np.frombuffer(self._content_lens, dtype=np.int64), out=content_off[1:])
        kblob, key_off = blob(keys_sorted)
        return finish(
            vocab, indptr, postings, doc_key, content, content_off, kblob, key_off,
            tuple(extra_words), kwords if kwords is not None else np.zeros(0, np.uint8),
        )


def build_index(docs: Iterable[tuple[str, Analysis]], extra_words: Sequence[str] = ()) -> IndexData:
    """Build from ``(key, analysis)`` pairs.  Documents with the same key and content are merged."""
    b = SegmentBuilder()
    for key, an in docs:
        b.add(key, an)
    return b.finish(extra_words)


class _Titles:
    """Normalised ``(key, title)`` pairs kept compactly between the two build passes."""

    def __init__(self) -> None:
        self._chunks: list[str] = []
        self._keys: list[list[str]] = []
        self._cur: list[str] = []
        self._cur_keys: list[str] = []

    def append(self, key: str, normalized: str) -> None:
        self._cur.append(normalized)
        if self._cur_keys and self._cur_keys[-1] == key:
            key = self._cur_keys[-1]
        self._cur_keys.append(key)
        if len(self._cur) >= BATCH:
            self._seal()

    def _seal(self) -> None:
        if self._cur:
            self._chunks.append("\n".join(self._cur))  # a normalised title has no newline
            self._keys.append(self._cur_keys)
            self._cur, self._cur_keys = [], []

    def drain(self) -> Iterable[tuple[str, str]]:
        """Every pair once, freeing the storage as it goes."""
        for keys, texts in self.chunks():
            yield from zip(keys, texts, strict=True)

    def chunks(self) -> Iterable[tuple[list[str], list[str]]]:
        """The keys and titles, ``BATCH`` at a time, freeing the storage as it goes."""
        self._seal()
        while self._chunks:
            yield self._keys.pop(0), self._chunks.pop(0).split("\n")


@bulk
def index_titles(
    pairs: Iterable[tuple[str, str]],
    analyzer: Analyzer,
    *,
    first_words: Sequence[str] = (),
    title_max_chars: int,
    on_words: Callable[[list[str]], None] | None = None,
) -> IndexData:
    """Build from ``(key, title)`` pairs: normalise and collect archive words (pass 1), add ``first_words``
    and the archive words to ``analyzer``'s tokenizer, then analyse and index in batches (pass 2)."""
    norm = analyzer.normalizer.normalize_many
    kept = _Titles()
    kwords: dict[str, list[str]] = {}
    it = iter(pairs)
    while chunk := list(itertools.islice(it, NORMALIZE_BATCH)):
        for (k, _), s in zip(chunk, norm([t for _, t in chunk], max_chars=title_max_chars), strict=True):
            key = str(k)
            kept.append(key, s)
            words = title_words(s)
            if words:
                kwords.setdefault(key, []).extend(sorted(words))
    words = archive_words(kwords)
    analyzer.add_words([*first_words, *words])
    if on_words is not None:
        on_words(words)
    b = SegmentBuilder()
    terms = BatchAnalyzer(analyzer)
    for keys, texts in kept.chunks():
        b.add_batch(keys, terms.terms(texts))
    return b.finish(analyzer.extra_words, kwords_blob(kwords))
