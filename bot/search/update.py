"""Incremental update: replace the documents of some keys without re-analysing the others.

A change of k questions costs k normalisations + analyses (the expensive, Python-level part) and one
numpy pass over the existing arrays: the changed keys' documents are dropped (a tombstone mask over the
documents), the new ones are merged in at the place a full build would put them (documents in key
order), and ``idf``/``doc_total`` are derived again by :func:`bot.search.segment.finish`.  The result is
the same arrays a full build over the new archive gives, so search results are identical.

Why not a delta segment merged at query time: every change moves ``n_docs`` and so every term's idf and
every document's idf-weighted total, and ties in the matcher are broken by document order; a query-time
merge would give other scores and orders than a full rebuild.  The merge pass is bounded in memory
(blocks of postings) and runs at numpy speed (about a second per 10^7 postings).

The archive words (ASCII words used by two or more titles) are part of the tokenizer, so the index records
each key's words.  When an update makes a word come or go, the tokenizer changes: the keys whose titles
contain such a word are re-analysed as well (they are found by one regex pass over the content blob), with
an analyzer for the new words.  Texts without the word tokenise the same either way, because a word
without CJK characters leaves jieba's frequency total alone (see ``Analyzer.add_words``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Collection, Iterable

import numpy as np

from bot.bulk import bulk
from bot.search.analysis import Analyzer
from bot.search.batch import BatchAnalyzer, spans
from bot.search.build import archive_words, kwords_blob, kwords_of, title_words
from bot.search.segment import CHUNK, IndexData, finish


def _lower_bound(data: IndexData, key: bytes) -> int:
    lo, hi = 0, data.n_keys
    keys, off = data.keys, data.key_off
    while lo < hi:
        mid = (lo + hi) // 2
        if bytes(keys[off[mid] : off[mid + 1]]) < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _key_positions(data: IndexData, keys: list[str]) -> np.ndarray:
    """For each key, :func:`_lower_bound` (the index of the first stored key not below it): one numpy search
    when every stored key is as long in bytes (question ids: 12) and none wanted is longer (NUL-padding then
    keeps the byte order), else one binary search each."""
    want = [k.encode("utf-8") for k in keys]
    n = data.n_keys
    width = int(data.key_off[1] - data.key_off[0]) if n else 0
    if (
        want and width and max(map(len, want)) <= width and not any(b"\0" in w for w in want)
        and bool(np.all(np.diff(data.key_off) == width))
    ):
        blob = np.asarray(data.keys[: n * width])
        if not bool(np.any(blob == 0)):
            return np.searchsorted(blob.view(f"S{width}"), np.array(want, dtype=f"S{width}")).astype(np.int64)
    return np.array([_lower_bound(data, w) for w in want], dtype=np.int64)


def _merge_ragged(
    blob: np.ndarray, off: np.ndarray, old_ids: np.ndarray, old_pos: np.ndarray, new_items: list[bytes],
    new_pos: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """A ragged (blob + offsets) array: old rows ``old_ids`` at ``old_pos``, new rows at ``new_pos``."""
    n = old_ids.shape[0] + len(new_items)
    lens = np.zeros(n, dtype=np.int64)
    lens[old_pos] = off[old_ids + 1] - off[old_ids]
    lens[new_pos] = np.fromiter((len(b) for b in new_items), dtype=np.int64, count=len(new_items))
    out_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=out_off[1:])
    out = np.empty(int(out_off[-1]), dtype=np.uint8)
    if old_ids.shape[0]:
        # runs of consecutive old rows landing on consecutive positions: one copy each
        brk = np.flatnonzero((np.diff(old_ids) != 1) | (np.diff(old_pos) != 1)) + 1
        starts = np.concatenate(([0], brk)).tolist()
        ends = np.concatenate((brk, [old_ids.shape[0]])).tolist()
        for a, b in zip(starts, ends, strict=True):
            src0, src1 = int(off[old_ids[a]]), int(off[old_ids[b - 1] + 1])
            dst0 = int(out_off[old_pos[a]])
            out[dst0 : dst0 + src1 - src0] = blob[src0:src1]
    for item, p in zip(new_items, new_pos.tolist(), strict=True):
        out[out_off[p] : out_off[p + 1]] = np.frombuffer(item, dtype=np.uint8)
    return out, out_off


def _merge_postings(
    data: IndexData, remap: np.ndarray, dkeys: np.ndarray, ddocs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vocab, indptr, postings): old postings renumbered by ``remap`` (-1: dropped; increasing over the
    kept documents, so each term's kept postings stay in order) merged with the new ``(dkeys, ddocs)``
    entries (sorted by key, then doc), block by block of old terms.

    A block's kept postings are copied as they are; each new entry goes in at its place, found by a
    binary search inside its term's kept postings (all of them at once, with numpy) or, for a term the
    block lacks, at the boundary where the term sorts.  Work per old posting: a gather, a compress and a
    masked copy (int32), with no per-posting term numbers or sort keys."""
    vocab_o, indptr_o, post_o = data.vocab, data.indptr, data.postings
    n_terms, n_post = int(vocab_o.shape[0]), int(post_o.shape[0])
    step = CHUNK // 4  # a block's temporaries: ~10 bytes per posting
    cuts = np.unique(np.searchsorted(indptr_o, np.arange(step, n_post, step, dtype=np.int64)))
    bounds = [0, *[int(c) for c in cuts if 0 < c < n_terms], n_terms]
    out_post = np.empty(n_post + int(ddocs.shape[0]), dtype=np.uint32)  # untouched tail is never paged in
    vocabs, counts = [], []
    filled = 0
    d_at = [0, *np.searchsorted(dkeys, vocab_o[bounds[1:-1]]).tolist(), int(dkeys.shape[0])]
    remap32 = remap.astype(np.int32)  # n_docs < 2^31: half the memory traffic of the gathers
    for (t0, t1), (a, b) in zip(itertools.pairwise(bounds), itertools.pairwise(d_at), strict=True):
        s0 = int(indptr_o[t0])
        nd = remap32[post_o[s0 : int(indptr_o[t1])]]
        starts = indptr_o[t0 : t1 + 1] - s0  # each term's first posting in the block (and the block's end)
        dropped = np.flatnonzero(nd < 0)  # few: the changed documents' postings
        kept = np.diff(starts) - np.bincount(
            np.searchsorted(starts, dropped, side="right") - 1, minlength=t1 - t0
        )  # kept postings per old term
        kb = np.zeros(t1 - t0 + 1, dtype=np.int64)  # kept postings before each term
        np.cumsum(kept, out=kb[1:])
        ndk = np.delete(nd, dropped) if dropped.shape[0] else nd
        del nd
        bvocab = vocab_o[t0:t1]
        dk, dd = dkeys[a:b], ddocs[a:b].astype(np.int32)
        at = np.searchsorted(bvocab, dk)  # each new entry's term in the block, or where its term would go
        ins = kb[at]
        found = np.flatnonzero(bvocab[np.minimum(at, max(t1 - t0 - 1, 0))] == dk) if t1 > t0 else at[:0]
        if found.shape[0]:  # lower bound of the doc among its term's kept postings
            lo, hi, want = ins[found], kb[at[found] + 1], dd[found]
            active = np.flatnonzero(lo < hi)
            while active.shape[0]:
                mid = (lo[active] + hi[active]) >> 1
                less = ndk[mid] < want[active]
                lo[active[less]] = mid[less] + 1
                hi[active[~less]] = mid[~less]
                active = active[lo[active] < hi[active]]
            ins[found] = lo
        # entries sorted by (term, doc) have non-decreasing places: shifted by their rank, all distinct
        at_new = ins + np.arange(dk.shape[0], dtype=np.int64)
        n_out = ndk.shape[0] + dk.shape[0]
        dst = out_post[filled : filled + n_out]
        old_place = np.ones(n_out, dtype=bool)
        old_place[at_new] = False
        dst[at_new] = dd
        dst[old_place] = ndk
        filled += n_out
        live = kept > 0
        new_keys, new_counts = np.unique(dk, return_counts=True)
        ukeys = np.union1d(bvocab[live], new_keys).astype(np.int64)
        cnt = np.zeros(ukeys.shape[0], dtype=np.int64)
        cnt[np.searchsorted(ukeys, bvocab[live])] += kept[live]
        cnt[np.searchsorted(ukeys, new_keys)] += new_counts
        vocabs.append(ukeys)
        counts.append(cnt)
    vocab = np.concatenate(vocabs) if vocabs else np.zeros(0, np.int64)
    indptr = np.zeros(vocab.shape[0] + 1, dtype=np.int64)
    if counts:
        np.cumsum(np.concatenate(counts), out=indptr[1:])
    return vocab, indptr, out_post[:filled]


def affected_keys(data: IndexData, words: Iterable[str]) -> set[str]:
    """Keys with a document whose text may contain one of ``words`` (ASCII words): their tokens change
    when the tokenizer gains or loses the word.  One regex pass over the content blob; a word split by
    the tokenizer shows there with spaces, so spaces are allowed between its characters."""
    alts = [b" ?".join(re.escape(bytes([c])) for c in w.encode("ascii")) for w in sorted(set(words))]
    if not alts or data.n_docs == 0:
        return set()
    text = bytes(data.content)
    pos = [m.start() for m in re.finditer(b"|".join(alts), text)]
    if not pos:
        return set()
    docs = np.searchsorted(data.content_off, np.array(pos, dtype=np.int64), side="right") - 1
    return {data.key_at(int(k)) for k in np.unique(data.doc_key[docs])}


@bulk
def update_index(
    data: IndexData,
    analyzer: Analyzer,
    changed: Iterable[str],
    titles_of: Callable[[Collection[str]], Iterable[tuple[str, str]]],
    *,
    title_max_chars: int,
    analyzer_with: Callable[[list[str]], Analyzer],
) -> tuple[IndexData, Analyzer] | None:
    """The index (and the analyzer that goes with it) after the keys ``changed`` were changed in the
    archive.  ``titles_of(keys)`` gives those keys' current ``(key, title)`` pairs in key order, main title
    first, as the store lists them (none for a removed key).  When the archive words change, the keys
    whose titles contain a word that came or went are re-analysed too, with ``analyzer_with(words)``: a
    fresh analyzer for the new archive words.  None when ``data`` has no record of its archive words
    or its documents are not in key order (then only a full build is right)."""
    if data.kwords.shape[0] == 0 or (data.n_docs and not bool(np.all(np.diff(data.doc_key) >= 0))):
        return None
    kw = kwords_of(data)
    old_words = archive_words(kw)
    changed_set = {str(k) for k in changed}
    normalizer = analyzer.normalizer

    def normalized(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        got = list(pairs)
        texts = normalizer.normalize_many([t for _, t in got], max_chars=title_max_chars)
        return [(str(k), s) for (k, _), s in zip(got, texts, strict=True)]

    new_pairs = normalized(titles_of(sorted(changed_set)))
    for key in changed_set:
        kw.pop(key, None)
    for key, s in new_pairs:
        changed_set.add(key)
        words = title_words(s)
        if words:
            kw.setdefault(key, []).extend(sorted(words))
    words = archive_words(kw)
    if words != old_words:
        analyzer = analyzer_with(words)
        more = affected_keys(data, set(words).symmetric_difference(old_words)) - changed_set
        if more:
            new_pairs += normalized(titles_of(sorted(more)))
            new_pairs.sort(key=lambda p: p[0])  # stable: each key's titles keep their order
            changed_set |= more

    # ---- new documents, deduplicated as a full build does, grouped by key in input order
    batch = BatchAnalyzer(analyzer).terms([s for _, s in new_pairs])
    seen: set[tuple[str, str]] = set()
    picked: list[int] = []
    for i, (key, _) in enumerate(new_pairs):
        content = batch.contents[i]
        if content and (key, content) not in seen:
            seen.add((key, content))
            picked.append(i)
    picked.sort(key=lambda i: new_pairs[i][0])  # stable: titles of one key keep their order
    docs = [(new_pairs[i][0], batch.contents[i]) for i in picked]
    new_keys = sorted({d[0] for d in docs})

    # ---- keys: old keys minus the changed ones, plus the new ones, sorted
    n_old_keys = data.n_keys
    wanted = sorted(changed_set)
    removed = sorted({p for k, p in zip(wanted, _key_positions(data, wanted).tolist(), strict=True)
                      if p < n_old_keys and data.key_at(p) == k})
    removed_arr = np.array(removed, dtype=np.int64)
    kept_old = np.ones(n_old_keys, dtype=bool)
    kept_old[removed_arr] = False
    kept_ids = np.flatnonzero(kept_old)
    # position of each new key among the kept old keys
    lb = _key_positions(data, new_keys)
    new_at = lb - np.searchsorted(removed_arr, lb, side="left")
    kept_rank = np.arange(kept_ids.shape[0], dtype=np.int64)
    kept_new_kidx = kept_rank + np.searchsorted(new_at, kept_rank, side="right")
    new_key_kidx = new_at + np.arange(len(new_keys), dtype=np.int64)
    old_to_new = np.full(n_old_keys, -1, dtype=np.int64)
    old_to_new[kept_ids] = kept_new_kidx
    keys, key_off = _merge_ragged(
        data.keys, data.key_off, kept_ids, kept_new_kidx, [k.encode("utf-8") for k in new_keys], new_key_kidx
    )

    # ---- documents: kept old ones and new ones, in key order
    nk = dict(zip(new_keys, new_key_kidx.tolist(), strict=True))
    doc_new_kidx = np.array([nk[d[0]] for d in docs], dtype=np.int64)
    old_doc_kidx = old_to_new[np.asarray(data.doc_key, dtype=np.int64)]
    kept_docs = np.flatnonzero(old_doc_kidx >= 0)
    kept_kidx = old_doc_kidx[kept_docs]
    new_doc_pos = np.searchsorted(kept_kidx, doc_new_kidx, side="left") + np.arange(len(docs), dtype=np.int64)
    kept_doc_pos = np.arange(kept_docs.shape[0], dtype=np.int64) + np.searchsorted(
        doc_new_kidx, kept_kidx, side="right"
    )
    n_docs = kept_docs.shape[0] + len(docs)
    doc_key = np.empty(n_docs, dtype=np.int32)
    doc_key[kept_doc_pos] = kept_kidx
    doc_key[new_doc_pos] = doc_new_kidx
    content, content_off = _merge_ragged(
        data.content, data.content_off, kept_docs, kept_doc_pos, [d[1].encode("utf-8") for d in docs],
        new_doc_pos,
    )

    # ---- postings
    remap = np.full(data.n_docs, -1, dtype=np.int64)
    remap[kept_docs] = kept_doc_pos
    texts = np.array(picked, dtype=np.int64)
    starts = np.searchsorted(batch.doc, texts, side="left")
    lens = np.searchsorted(batch.doc, texts, side="right") - starts
    dkeys = np.asarray(batch.key, dtype=np.int64)[spans(starts, lens)]
    ddocs = np.repeat(new_doc_pos, lens)
    order = np.lexsort((ddocs, dkeys))
    vocab, indptr, postings = _merge_postings(data, remap, dkeys[order], ddocs[order])
    data = finish(
        vocab, indptr, postings, doc_key, content, content_off, keys, key_off, analyzer.extra_words,
        kwords_blob(kw),
    )
    return data, analyzer

