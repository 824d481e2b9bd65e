"""Fuzzy matching of a user's message against archived question titles.

Pipeline per query (see docs/matcher.md):

1. normalise + tokenise (:class:`bot.text.Analyzer`) into word, char-bigram and pinyin-bigram keys;
2. candidate generation from the inverted index: IDF-weighted accumulation over the postings of the
   query's terms (very common terms are not accumulated, only checked on the shortlisted candidates);
3. exact weighted coverage both ways (query covered by title, title covered by query);
4. rerank the best few dozen with rapidfuzz and combine into one 0-100 confidence;
5. aggregate per key (best title wins) and break ties by key.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import jieba
import numpy as np
import pypinyin
from rapidfuzz import fuzz

from bot.index import WORD_WEIGHT, IndexData, build_index, load_index, save_index
from bot.models import Band, Decision, Hit
from bot.text import Analyzer

#: Titles are normalised with this cap (queries use ``MatcherSettings.max_query_chars``).
TITLE_MAX_CHARS = 400
#: Factor per number / ASCII word of the query that the title lacks (2023 vs 2024 is another question).
UNMATCHED_NUMBER = 0.85
UNMATCHED_ASCII = 0.92
_RUNS_RE = re.compile(r"[a-z]+|[0-9]+")
#: Share of a position's weight earned by a pinyin-only (homophone) match; the rest needs the same chars.
PINYIN_CREDIT = 0.85


@dataclass(frozen=True)
class MatcherSettings:
    """Matcher knobs; field names map 1:1 to the YAML keys ``matcher.<field>``."""

    answer_threshold: float = 62.0
    suggest_threshold: float = 35.0
    margin: float = 2.0
    max_query_chars: int = 200
    candidates: int = 200
    rerank: int = 30
    common_df: float = 0.02
    max_alias_variants: int = 4
    coverage_power: float = 1.5
    title_weight: float = 0.25
    fuzz_weight: float = 0.25
    evidence_weight: float = 12.0


def _meta(aliases: Mapping[str, str]) -> dict[str, str]:
    alias_digest = hashlib.sha256(
        json.dumps(sorted(aliases.items()), ensure_ascii=False).encode()
    ).hexdigest()
    return {
        "jieba": jieba.__version__,
        "pypinyin": pypinyin.__version__,
        "title_max_chars": str(TITLE_MAX_CHARS),
        "aliases": alias_digest[:16],
    }


class Matcher:
    """Public matcher: build with `from_titles` or `load`, query with `search` / `decide`."""

    def __init__(
        self, data: IndexData, analyzer: Analyzer, aliases: Mapping[str, str], settings: MatcherSettings
    ) -> None:
        self._data = data
        self._an = analyzer
        self._raw_aliases = dict(aliases)
        self.settings = settings
        pairs = []
        for left, right in aliases.items():
            a, b = analyzer.normalizer.normalize(left), analyzer.normalizer.normalize(right)
            if a and b and a != b:
                pairs.append((a, b))
        self._aliases = tuple(pairs)
        self._missing_idf = data.missing_idf()
        self._cap = max(2000, int(settings.common_df * data.n_docs))

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_titles(
        cls,
        pairs: Iterable[tuple[str, str]],
        *,
        aliases: Mapping[str, str] | None = None,
        settings: MatcherSettings | None = None,
    ) -> Matcher:
        """Build from ``(key, title)`` pairs; several pairs may share a key (alternate titles)."""
        settings = settings or MatcherSettings()
        aliases = dict(aliases or {})
        analyzer = Analyzer(settings.max_query_chars)
        norm = analyzer.normalizer.normalize
        normed = [(str(k), norm(t, max_chars=TITLE_MAX_CHARS)) for k, t in pairs]
        analyzer.add_words(_alias_words(aliases, analyzer) + _archive_words(s for _, s in normed))
        docs = ((k, analyzer.analyze(s, normalized=True)) for k, s in normed)
        data = build_index(docs, extra_words=analyzer.extra_words)
        return cls(data, analyzer, aliases, settings)

    def save(self, path: str | os.PathLike[str], fingerprint: str) -> None:
        """Write the index to ``path`` (atomically), tagged with ``fingerprint``."""
        save_index(path, self._data, fingerprint, _meta(self._raw_aliases))

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        fingerprint: str,
        *,
        aliases: Mapping[str, str] | None = None,
        settings: MatcherSettings | None = None,
    ) -> Matcher | None:
        """The saved matcher, or None when the file is missing, damaged, of another version or stale."""
        settings = settings or MatcherSettings()
        aliases = dict(aliases or {})
        data = load_index(path, fingerprint, _meta(aliases))
        if data is None:
            return None
        analyzer = Analyzer(settings.max_query_chars, extra_words=data.extra_words)
        return cls(data, analyzer, aliases, settings)

    def __len__(self) -> int:
        return self._data.n_keys

    # ---------------------------------------------------------------- queries
    def search(self, text: str, k: int = 10) -> list[tuple[str, float]]:
        """Up to ``k`` ``(key, score)`` best first, score 0..100; [] when nothing is near."""
        if k <= 0:
            return []
        q = self._an.normalizer.normalize(text)
        if not q:
            return []
        best: dict[int, float] = {}
        for variant in self._variants(q):
            for kidx, score in self._search_one(variant):
                if score > best.get(kidx, -1.0):
                    best[kidx] = score
        data = self._data
        ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return [(data.key_at(kidx), score) for kidx, score in ranked]

    def decide(self, text: str, k: int = 3) -> Decision:
        """Band + hits: ANSWER (confident, clear margin), DID_YOU_MEAN (medium or too close), NO_MATCH."""
        s = self.settings
        hits = self.search(text, max(k, 2))
        if not hits:
            return Decision(Band.NO_MATCH, ())
        top = hits[0][1]
        second = hits[1][1] if len(hits) > 1 else 0.0
        if top >= s.answer_threshold and top - second >= s.margin:
            band = Band.ANSWER
        elif top >= s.suggest_threshold:
            band = Band.DID_YOU_MEAN
        else:
            band = Band.NO_MATCH
        return Decision(band, tuple(Hit(key, score) for key, score in hits[: max(k, 0)]))

    # ---------------------------------------------------------------- internals
    def _variants(self, q: str) -> list[str]:
        out = [q]
        for a, b in self._aliases:
            for src, dst in ((a, b), (b, a)):
                if src in q:
                    v = q.replace(src, dst)
                    if v not in out:
                        out.append(v)
            if len(out) > self.settings.max_alias_variants:
                break
        return out[: self.settings.max_alias_variants + 1]

    def _search_one(self, q: str) -> list[tuple[int, float]]:
        data, s = self._data, self.settings
        an = self._an.analyze(q, normalized=True)
        if not an.words and not an.positions:
            return []
        # ---- term weights: a position is worth the idf of its pinyin bigram (typo-invariant)
        qkeys: list[int] = list(an.words)
        for ck, pk in an.positions:
            qkeys.append(pk)
            if ck is not None:
                qkeys.append(ck)
        karr = np.fromiter(qkeys, dtype=np.int64, count=len(qkeys))
        vocab = data.vocab
        idx = np.searchsorted(vocab, karr)
        idx_c = np.minimum(idx, max(vocab.shape[0] - 1, 0))
        found = (vocab.shape[0] > 0) & (vocab[idx_c] == karr) if vocab.shape[0] else np.zeros(len(karr), bool)
        idf = np.where(found, data.idf[idx_c] if vocab.shape[0] else 0.0, self._missing_idf)
        nw = len(an.words)
        w = np.empty(len(qkeys), dtype=np.float64)
        w[:nw] = WORD_WEIGHT * idf[:nw]
        qtotal = float(w[:nw].sum())
        j = nw
        for ck, _pk in an.positions:
            wi = float(idf[j])
            qtotal += wi
            if ck is None:
                w[j] = wi
                j += 1
            else:
                w[j] = PINYIN_CREDIT * wi
                w[j + 1] = (1.0 - PINYIN_CREDIT) * wi
                j += 2
        if qtotal <= 0:
            return []
        # merge duplicate term ids (a word can equal another word's key only by hash collision)
        tids = idx_c[found]
        tw = w[found]
        if tids.size == 0:
            return []
        tids, inv = np.unique(tids, return_inverse=True)
        tw = np.bincount(inv.ravel(), weights=tw)
        starts, ends = data.indptr[tids], data.indptr[tids + 1]
        df = ends - starts
        rare = df <= self._cap
        postings = data.postings
        # ---- candidate generation
        if rare.any():
            r_starts, r_ends, r_w = starts[rare], ends[rare], tw[rare]
            docs = np.concatenate(
                [postings[a:b] for a, b in zip(r_starts.tolist(), r_ends.tolist(), strict=True)]
            )
            wts = np.repeat(r_w, (r_ends - r_starts))
            if docs.size * 8 < data.n_docs:
                cand, dinv = np.unique(docs, return_inverse=True)
                acc = np.bincount(dinv.ravel(), weights=wts)
            else:
                full = np.bincount(docs, weights=wts, minlength=data.n_docs)
                cand = np.flatnonzero(full)
                acc = full[cand]
        else:  # only very common terms: their rarest one's first postings are the pool
            i = int(np.argmin(df))
            cand = postings[starts[i] : starts[i] + self._cap].astype(np.int64)
            acc = np.zeros(cand.shape[0])
        doc_total = data.doc_total
        if cand.shape[0] > s.candidates:
            s1 = acc / qtotal + 0.1 * acc / np.maximum(doc_total[cand], 1e-6)
            top = np.argpartition(-s1, s.candidates - 1)[: s.candidates]
            cand, acc = cand[top], acc[top]
        # ---- exact coverage on the shortlist: add the common terms by membership
        for i in np.flatnonzero(~rare).tolist():
            p = postings[starts[i] : ends[i]]
            pos = np.searchsorted(p, cand)
            hit = p[np.minimum(pos, p.shape[0] - 1)] == cand
            acc = acc + hit * tw[i]
        qcov = np.minimum(acc / qtotal, 1.0)
        tcov = np.minimum(acc / np.maximum(doc_total[cand], 1e-6), 1.0)
        ov = qcov**s.coverage_power * (1.0 - s.title_weight + s.title_weight * np.sqrt(tcov))
        if cand.shape[0] > s.rerank:
            top = np.argpartition(-ov, s.rerank - 1)[: s.rerank]
            cand, ov = cand[top], ov[top]
        # ---- rapidfuzz rerank + one confidence
        evidence = min(1.0, qtotal / s.evidence_weight) ** 0.5 if s.evidence_weight > 0 else 1.0
        q_ns = an.content.replace(" ", "")
        q_runs = set(_RUNS_RE.findall(an.content))
        best: dict[int, float] = {}
        doc_key = data.doc_key
        for d, o in zip(cand.tolist(), ov.tolist(), strict=True):
            t = data.content_at(d)
            fz = (
                max(fuzz.token_set_ratio(an.content, t), fuzz.partial_ratio(q_ns, t.replace(" ", ""))) / 100.0
            )
            score = 100.0 * evidence * o * (1.0 - s.fuzz_weight + s.fuzz_weight * fz)
            if q_runs:
                for run in q_runs.difference(_RUNS_RE.findall(t)):
                    score *= UNMATCHED_NUMBER if run[0].isdigit() else UNMATCHED_ASCII
            score = round(min(100.0, max(0.0, score)), 2)
            kidx = int(doc_key[d])
            if score > best.get(kidx, -1.0):
                best[kidx] = score
        return [(kidx, sc) for kidx, sc in best.items() if sc > 0.0]


def _alias_words(aliases: Mapping[str, str], analyzer: Analyzer) -> list[str]:
    out = []
    for left, right in aliases.items():
        for side in (left, right):
            n = analyzer.normalizer.normalize(side)
            if n and " " not in n:
                out.append(n)
    return out


def _archive_words(normalized_titles: Iterable[str]) -> list[str]:
    """ASCII words (with a letter, 2+ chars) used by at least two titles: added to the tokenizer."""
    counts: dict[str, int] = {}
    pat = re.compile(r"[a-z][a-z0-9]+|[0-9]+[a-z][a-z0-9]*")
    for t in normalized_titles:
        for wd in set(pat.findall(t)):
            counts[wd] = counts.get(wd, 0) + 1
    return sorted(w for w, c in counts.items() if c >= 2)
