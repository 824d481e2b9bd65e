"""Fuzzy matching of a user's message against archived question titles.

Pipeline per query (see docs/matcher.md):

1. normalise + tokenise (:class:`bot.search.analysis.Analyzer`) into word, char-bigram and pinyin-bigram keys;
2. candidate generation from the inverted index: IDF-weighted accumulation over the postings of the
   query's terms (very common terms are not accumulated, only checked on the shortlisted candidates);
3. exact weighted coverage both ways (query covered by title, title covered by query);
4. rerank the best few dozen with rapidfuzz and combine into a rank score and a 0-100 confidence (the
   same product with a softer query-coverage exponent);
5. aggregate per key (best title wins), order by rank score, break ties by key;
6. learned scorer (:mod:`bot.search.scorer`, parameters in ``bot/search/scorer_params.json``): features per
   candidate (:mod:`bot.search.features`), a ranker orders the hits, a confidence model gives the reported
   score = the estimated percent chance that the top hit is the question meant.  Without it
   (``learned_scorer=False``) the reported scores are the hand-made confidences, each capped by the one
   above, the top one lifted by its lead over the runner-up.

``decide`` first sets small talk apart and strips politeness (:mod:`bot.search.smalltalk`), and answers a
bare topic word shared by many titles with the TOPIC band.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

import jieba
import numpy as np
import pypinyin
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from bot.config import MatcherSettings
from bot.models import Band, Decision, Hit
from bot.search.analysis import Analysis, Analyzer, load_synonyms, word_key
from bot.search.features import length_ratio, number_features, swap_features, word_features
from bot.search.index import WORD_WEIGHT, IndexData, index_titles, load_index, save_index, update_index
from bot.search.scorer import Contribution, Scorer, confidence_rows
from bot.search.smalltalk import SmallTalk

#: Confidence floor of a title that equals the query (after normalisation) when no other title does.
EXACT_CONFIDENCE = 99.0
#: Titles are normalised with this cap (queries use ``MatcherSettings.max_query_chars``).
TITLE_MAX_CHARS = 400
#: Factor per number / ASCII word of the query that the title lacks (2023 vs 2024 is another question).
UNMATCHED_NUMBER = 0.85
UNMATCHED_ASCII = 0.92
_RUNS_RE = re.compile(r"[a-z]+|[0-9]+")
#: Share of a position's weight earned by a pinyin-only (homophone) match; the rest needs the same chars.
PINYIN_CREDIT = 0.85
#: Share of an unmatched query word's weight recovered when the title has a synonym of it.
SYNONYM_CREDIT = 0.9
#: Longest side (characters) of a diff block that counts as a substitution (longer: a rephrasing).
SUB_MAX_CHARS = 4
#: Function characters: a diff block made of them (的/中的, 了/情况) is rephrasing, not a substitution.
LIGHT_CHARS = "的是了在和与把被给里中也都就还会要能可想让有个这那么很更最比得地着过吧呢吗啊"
#: Words whose insertion or deletion flips a question (更配 / 更不配).
NEGATIONS = frozenset(["不", "没", "没有", "无", "非", "别", "未", "不是"])
#: Factor for a query number missing from a title that has another number instead (2023 vs 2024).
SWAPPED_NUMBER = 0.7
#: Share of the query's characters that must align with equal title characters before a diff block
#: counts as a substitution (below it the query is a rephrasing and diff blocks are normal).
SUB_MIN_EQUAL = 0.75
#: Equal context (characters) needed on a side of a substitution for it to count as "in the same slot".
SUB_CONTEXT = 2


@dataclass
class Candidate:
    """One shortlisted question: key index, the matcher's rank score and hand-made confidence (0..100),
    the best title's normalised content, and the learned scorer's feature vector (``FEATURES`` order)."""

    kidx: int
    rank: float
    confidence: float
    title: str
    features: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class ScoreExplanation:
    """The learned confidence of one title for one query and each feature's share of its log-odds."""

    confidence: float
    ranker: float
    base: float
    contributions: tuple[Contribution, ...]

    def lines(self) -> list[str]:
        out = [f"learned confidence {self.confidence:.2f} as the top hit (ranker {self.ranker:.2f};"
               f" base log-odds {self.base:+.3f}); feature = value, contribution to the log-odds:"]
        for c in sorted(self.contributions, key=lambda c: -abs(c.logit)):
            out.append(f"  {c.feature:18s} = {c.value:8.3f}  {c.logit:+.3f}")
        return out


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
        self._syn = load_synonyms()
        members: dict[int, list[str]] = {}
        for word, groups in self._syn.items():
            for g in groups:
                members.setdefault(g, []).append(word)
        self._syn_members = {g: tuple(words) for g, words in members.items()}
        # Terms in more titles than this are only checked on the shortlist, not accumulated: a share of
        # the archive, bounded so that per-query work stops growing with very large archives.
        self._cap = max(2000, min(int(settings.common_df * data.n_docs), settings.common_df_max))
        # each character -> a private-use character per toneless syllable: homophones become equal strings
        self._sound_table = {ord(ch): chr(0xE000 + (code & 0x1FFF)) for ch, code in analyzer._py.items()}
        self._smalltalk = SmallTalk(analyzer.normalizer.normalize)
        self._scorer = Scorer.load() if settings.learned_scorer else None

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
        data = index_titles(
            pairs, analyzer, first_words=_alias_words(aliases, analyzer), title_max_chars=TITLE_MAX_CHARS
        )
        return cls(data, analyzer, aliases, settings)

    def updated(
        self, changed: Iterable[str], titles_of: Callable[[Collection[str]], Iterable[tuple[str, str]]]
    ) -> Matcher | None:
        """This matcher after the questions ``changed`` changed in the archive: ``titles_of(keys)`` gives
        the current ``(key, title)`` pairs of some keys in key order, main title first, as
        ``Store.iter_titles_of`` does (none for a removed key).  The same index a full rebuild gives, in
        time proportional to the change plus a numpy pass over the arrays; None when the index cannot
        tell (an index without its archive words, or not in key order): then rebuild in full."""

        def analyzer_with(words: list[str]) -> Analyzer:
            an = Analyzer(self.settings.max_query_chars)
            an.add_words([*_alias_words(self._raw_aliases, an), *words])
            return an

        got = update_index(
            self._data, self._an, changed, titles_of, title_max_chars=TITLE_MAX_CHARS, analyzer_with=analyzer_with
        )
        return None if got is None else type(self)(got[0], got[1], self._raw_aliases, self.settings)

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
        """Up to ``k`` ``(key, score)`` best first, score 0..100 (with the learned scorer: the estimated
        percent chance that this is the question meant); [] when nothing is near."""
        if k <= 0:
            return []
        cands = self.candidates(text)
        data = self._data
        if self._scorer is None or not cands:
            scores = _confidences([c.confidence for c in cands], self.settings.gap_weight)
            return [(data.key_at(c.kidx), sc) for c, sc in zip(cands[:k], scores, strict=False)]
        order, conf = self._scorer.score(np.array([c.features for c in cands]), k)
        top = cands[order[0]].features
        if _is_exact(top) and not (len(order) > 1 and _is_exact(cands[order[1]].features)):
            conf[0] = max(conf[0], EXACT_CONFIDENCE / 100.0)  # the title as typed, and only that one
        elif top[17] >= 1 or top[15] > 0:  # one slot swapped (四级/六级, 2023/2024): suggest, never answer
            conf[0] = min(conf[0], self.settings.substitution_cap / 100.0)
        out: list[tuple[str, float]] = []
        for i, p in zip(order[:k].tolist(), conf[:k].tolist(), strict=False):
            sc = round(100.0 * p, 2)  # a lower-ranked hit never shows a higher score
            out.append((data.key_at(cands[i].kidx), min(sc, out[-1][1]) if out else sc))
        return out

    def candidates(self, text: str) -> list[Candidate]:
        """The reranked shortlist (best rank score first, ties by key) with every learned feature filled
        in; the raw material of :meth:`search` and of the scorer's training (``bench/train_scorer.py``)."""
        q = self._an.normalizer.normalize(text)
        if not q:
            return []
        best: dict[int, Candidate] = {}
        for variant in self._variants(q):
            for c in self._search_one(variant):
                old = best.get(c.kidx)
                if old is None or (c.rank, c.confidence) > (old.rank, old.confidence):
                    best[c.kidx] = c
        cands = sorted(best.values(), key=lambda c: (-c.rank, c.kidx))
        if cands:
            self._fill_features(q, cands)
        return cands

    def decide(self, text: str, k: int = 3) -> Decision:
        """The band and hits for a user's message.

        SMALLTALK (no hits) for greetings, thanks, laughter, goodbyes, questions about the bot,
        complaints and emoji; otherwise greetings and politeness around the question are stripped, and a
        bare topic word that many titles share gives TOPIC (its most relevant titles and their count);
        else ANSWER (confident, clear margin), DID_YOU_MEAN (medium or too close) or NO_MATCH."""
        s = self.settings
        kind = self._smalltalk.kind(text) if isinstance(text, str) else None
        if kind is not None:
            return Decision(Band.SMALLTALK, (), smalltalk=kind, query="")
        query = self._smalltalk.strip_politeness(text) if isinstance(text, str) else ""
        hits = self.search(query, max(k, 2))
        topic = self._topic(query)
        if topic is not None and not (hits and hits[0][1] >= s.answer_threshold):
            word, count = topic
            return Decision(Band.TOPIC, tuple(Hit(key, sc) for key, sc in hits[: max(k, 0)]),
                            topic=word, topic_count=count, query=query)
        if not hits:
            return Decision(Band.NO_MATCH, (), query=query)
        top = hits[0][1]
        second = hits[1][1] if len(hits) > 1 else 0.0
        if top >= s.answer_threshold and top - second >= s.margin:
            band = Band.ANSWER
        elif top >= s.suggest_threshold:
            band = Band.DID_YOU_MEAN
        else:
            band = Band.NO_MATCH
        return Decision(band, tuple(Hit(key, score) for key, score in hits[: max(k, 0)]), query=query)

    def explain(self, text: str, title: str) -> str:
        """Why ``title`` gets its score for ``text`` (debugging): per-term weights and matches, synonyms,
        substitutions and the score parts, for each query variant; then the title's rank in ``search``."""
        q = self._an.normalizer.normalize(text)
        t_an = self._an.analyze(self._an.normalizer.normalize(title, max_chars=TITLE_MAX_CHARS), normalized=True)
        data = self._data
        docs = np.array([d for d in range(data.n_docs) if data.content_at(d) == t_an.content], dtype=np.int64)
        lines = [f"query {q!r} -> content {self._an.analyze(q, normalized=True).content!r}",
                 f"title content {t_an.content!r}: {docs.size} doc(s) in the index"]
        if not q or docs.size == 0:
            return "\n".join(lines)
        for variant in self._variants(q):
            an = self._an.analyze(variant, normalized=True)
            labels: dict[int, str] = {wk: f"[{tok}]" for tok in an.content.split(" ") for wk in (word_key(tok),)}
            flat = an.content.replace(" ", "")
            for i in range(len(flat) - 1):
                for ck, pk in self._an.analyze(flat[i : i + 2], normalized=True).positions:
                    labels.setdefault(pk, f"{flat[i : i + 2]}(py)")
                    if ck is not None:
                        labels.setdefault(ck, flat[i : i + 2])
            trace: list[dict[str, object]] = []
            self._search_one(variant, only=docs[:1], trace=trace)
            lines.append(f"variant {variant!r}:")
            if not trace:
                lines.append("  no known terms")
                continue
            head = trace[0]
            hits = head.get("hits", {})
            lines.append(f"  query weight {head['qtotal']:.2f}")
            for i, (tid, wt, df) in enumerate(zip(head["tids"].tolist(), head["tw"].tolist(),
                                                  head["df"].tolist(), strict=True)):
                got = bool(hits[i][0]) if i in hits else False
                lab = labels.get(int(data.vocab[tid]), str(int(data.vocab[tid])))
                lines.append(f"  {'+' if got else '-'} {lab:12s} w={wt:5.2f} df={df}")
            for part in trace[1:]:
                lines.append(
                    "  qcov {qcov:.3f} tcov {tcov:.3f} ov {ov:.3f} evidence {evidence:.3f}"
                    " synonyms +{synonym_weight:.2f} fuzz {fuzz:.3f} substitutions {substitutions}"
                    " -> rank score {score}, confidence {confidence}".format(**part)
                )
        learned = self.explain_score(text, title)
        if learned is not None:
            lines += learned.lines()
        hits = self.search(text, k=10)
        keys = {data.key_at(int(data.doc_key[d])) for d in docs.tolist()}
        for rank, (key, score) in enumerate(hits, 1):
            mark = "<- this title" if key in keys else ""
            lines.append(f"#{rank} {score:6.2f} {key} {mark}")
        return "\n".join(lines)

    def explain_score(self, text: str, title: str) -> ScoreExplanation | None:
        """Each learned feature's value and contribution to the confidence that ``title`` is the question
        meant by ``text`` (as if it were the top hit); None when the title is not among the query's
        candidates or no scorer is loaded."""
        if self._scorer is None:
            return None
        t_content = self._an.analyze(self._an.normalizer.normalize(title, max_chars=TITLE_MAX_CHARS),
                                     normalized=True).content
        cands = self.candidates(self._smalltalk.strip_politeness(text))
        pos = next((i for i, c in enumerate(cands) if c.title == t_content), None)
        if pos is None:
            return None
        x = np.array([c.features for c in cands])
        p = self._scorer.ranker.probability(x)
        order = np.array([pos, *(i for i in np.argsort(-p, kind="stable").tolist() if i != pos)])
        row = confidence_rows(x[order], p[order])[0]
        base, contribs = self._scorer.confidence.contributions(row)
        logit = base + sum(c.logit for c in contribs)
        conf = round(100.0 / (1.0 + math.exp(-logit)), 2)
        return ScoreExplanation(conf, round(100.0 * float(p[pos]), 2), base, tuple(contribs))

    def _topic(self, query: str) -> tuple[str, int] | None:
        """``(term, number of questions whose title contains it)`` when ``query`` is one short term (no
        space, no question words, at most ``topic_max_chars`` characters, or one Latin word) that at
        least ``topic_min_titles`` questions share."""
        s = self.settings
        q = self._an.normalizer.normalize(query)
        if not q or " " in q:
            return None
        if not (len(q) <= s.topic_max_chars or (q.isascii() and q.isalnum() and len(q) <= 24)):
            return None
        segs = self._an.tokens(q)
        if len(segs) != 1 or "".join(segs[0]) != q or len(segs[0]) > 2:
            return None  # question words were removed, or several words: a question, not a topic
        an = self._an.analyze(q, normalized=True)
        data = self._data
        # titles containing the term: those with all its character bigrams (or its word, for one unit)
        keys = [ck if ck is not None else pk for ck, pk in an.positions] or [word_key(q)]
        docs: np.ndarray | None = None
        for key in keys:
            i = int(np.searchsorted(data.vocab, key))
            if i >= data.vocab.shape[0] or int(data.vocab[i]) != key:
                return None
            p = data.postings[data.indptr[i] : data.indptr[i + 1]]
            docs = p if docs is None else np.intersect1d(docs, p, assume_unique=True)
        if docs is None or docs.shape[0] < s.topic_min_titles:
            return None
        found = [d for d in docs[: 20 * s.topic_min_titles].tolist() if q in data.content_at(d).replace(" ", "")]
        if len(found) < s.topic_min_titles:
            return None
        share = len(found) / min(docs.shape[0], 20 * s.topic_min_titles)
        count = int(np.unique(data.doc_key[docs]).shape[0] * share)
        return (q, count) if count >= s.topic_min_titles else None

    def _fill_features(self, q: str, cands: list[Candidate]) -> None:
        """Complete each candidate's feature vector (word-level, number and lead features)."""
        an = self._an.analyze(q, normalized=True)
        q_toks = an.content.split(" ")
        q_ns = an.content.replace(" ", "")
        titles = [c.title.split(" ") for c in cands]
        idf = self._word_idfs([*q_toks, *(t for ts in titles for t in ts)])
        syn, members, table = self._syn, self._syn_members, self._sound_table
        sounds: dict[str, str] = {}

        alts: dict[str, tuple[tuple[str, ...], str]] = {}

        def has_synonym(tok: str, other: str) -> bool:
            """A synonym of ``tok`` in ``other``, or the same sound (an IME typo: 连接/链接)."""
            if len(tok) < 2:
                return False
            alt = alts.get(tok)
            if alt is None:
                groups = syn.get(tok, ())
                alt = alts[tok] = (tuple(w for g in groups for w in members[g] if w != tok), tok.translate(table))
            if alt[0] and any(w in other for w in alt[0]):
                return True
            snd = sounds.get(other)
            if snd is None:
                snd = sounds[other] = other.translate(table)
            return alt[1] in snd

        ranks = [c.rank for c in cands]
        confs = [c.confidence for c in cands]
        r1, r2 = _top2(ranks)
        c1, c2 = _top2(confs)
        for pos, (c, t_toks) in enumerate(zip(cands, titles, strict=True)):
            t_ns = c.title.replace(" ", "")
            f = c.features
            f[6] = fuzz.ratio(q_ns, t_ns) / 100.0
            f[9] = length_ratio(len(q_ns), len(t_ns))
            f[10], f[11], f[12], f[13], f[22] = word_features(q_toks, t_toks, q_ns, t_ns, idf.__getitem__,
                                                              has_synonym)
            f[14], f[15], f[16] = number_features(an.content, c.title)
            f[23], f[24], f[25] = swap_features(q_toks, t_toks, q_ns, t_ns, idf.__getitem__, has_synonym)
            f[19] = (c.rank - (r2 if c.rank == r1 and pos == 0 else r1)) / 100.0
            f[20] = (c.confidence - (c2 if c.confidence == c1 else c1)) / 100.0
            f[21] = float(pos)

    def _word_idfs(self, toks: list[str]) -> dict[str, float]:
        """Word -> idf of its word key relative to that of an unseen term (0..1, whatever the archive's
        size; unknown words: 1)."""
        uniq = list(dict.fromkeys(toks))
        data = self._data
        if not uniq or data.vocab.shape[0] == 0:
            return dict.fromkeys(uniq, 1.0)
        karr = np.fromiter((word_key(t) for t in uniq), dtype=np.int64, count=len(uniq))
        idx = np.minimum(np.searchsorted(data.vocab, karr), data.vocab.shape[0] - 1)
        vals = np.where(data.vocab[idx] == karr, data.idf[idx], self._missing_idf) / max(self._missing_idf, 1e-9)
        return dict(zip(uniq, vals.tolist(), strict=True))

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

    def _synonym_weights(self, q_toks: list[str]) -> tuple[dict[str, float], dict[str, str]]:
        """Query tokens that have synonyms -> their share of the query weight; and each of their synonyms
        (that is not itself such a query token) -> the query token it may stand in for."""
        weights: dict[str, float] = {}
        for tok in q_toks:
            if tok not in weights and self._syn.get(tok):
                weights[tok] = self._weight_of(self._an.analyze(tok, normalized=True))
        stand_ins: dict[str, str] = {}
        for tok in weights:
            for g in sorted(self._syn[tok]):
                for word in self._syn_members[g]:
                    if word not in weights:
                        stand_ins.setdefault(word, tok)
        return weights, stand_ins

    def _weight_of(self, an: Analysis) -> float:
        """Query weight of an analysed text (word terms at WORD_WEIGHT, each bigram position once)."""
        data = self._data
        keys = [*an.words, *(pk for _ck, pk in an.positions)]
        mult = np.array([WORD_WEIGHT] * len(an.words) + [1.0] * len(an.positions))
        if not keys or data.vocab.shape[0] == 0:
            return 0.0
        karr = np.fromiter(keys, dtype=np.int64, count=len(keys))
        idx = np.minimum(np.searchsorted(data.vocab, karr), data.vocab.shape[0] - 1)
        idf = np.where(data.vocab[idx] == karr, data.idf[idx], self._missing_idf)
        return float(np.dot(mult, idf))

    @staticmethod
    def _apply_synonyms(
        title: str, syn_w: Mapping[str, float], stand_ins: Mapping[str, str]
    ) -> tuple[str, float]:
        """The title without spaces, with a synonym of each unmatched query token replaced by that token,
        and the query weight so recovered."""
        if not syn_w:
            return title.replace(" ", ""), 0.0
        t_toks = title.split(" ")
        recovered = 0.0
        done: set[str] = set()
        for i, tt in enumerate(t_toks):
            tok = stand_ins.get(tt)
            if tok is None or tok in done or tok in title:
                continue
            t_toks[i] = tok
            done.add(tok)
            recovered += SYNONYM_CREDIT * syn_w[tok]
        return "".join(t_toks), recovered

    def _substitutions(self, q: str, t: str) -> list[tuple[str, str]]:
        """Diff blocks of query vs title where a short query part stands in the slot of a different short
        title part (后期/初期, 白/黑, 2022/2021, 她/跑男) with equal text around it; homophones (typos) are not."""
        ops = Levenshtein.opcodes(q, t)
        same = sum(op.src_end - op.src_start for op in ops if op.tag == "equal")
        if same < SUB_MIN_EQUAL * len(q):  # a rephrasing, not the same question with one slot changed
            return []
        blocks: list[list[int]] = []  # [q_start, q_end, t_start, t_end, left_ctx, right_ctx]
        prev_equal = 0
        for op in ops:
            if op.tag == "equal":
                if blocks and blocks[-1][5] < 0:
                    blocks[-1][5] = op.src_end - op.src_start
                prev_equal = op.src_end - op.src_start
                continue
            if blocks and (blocks[-1][5] < 0 or (blocks[-1][5] == 1 and blocks[-1][1] + 1 == op.src_start)):
                b = blocks[-1]  # merge adjacent non-equal ops (and ones one equal character apart: 26/62)
                b[1], b[3], b[5] = op.src_end, op.dest_end, -1
            else:
                blocks.append([op.src_start, op.src_end, op.dest_start, op.dest_end, prev_equal, -1])
        out = []
        py = self._an._py
        for qs, qe, ts, te, left, right in blocks:
            a, b = q[qs:qe], t[ts:te]
            if not a and not b:
                continue
            if not (a and b) and (a or b) not in NEGATIONS:  # a plain insertion/deletion, unless 不/没…
                continue
            if len(a) > SUB_MAX_CHARS or len(b) > SUB_MAX_CHARS:
                continue
            right = right if right >= 0 else 0
            left = left if qs else (SUB_CONTEXT if right > SUB_CONTEXT else 0)  # edge + long right context
            right = right if qe < len(q) else (SUB_CONTEXT if left > SUB_CONTEXT else 0)
            if min(left, right) < 1 or left + right < SUB_CONTEXT + 1:
                continue
            if _same_sound(a, b, py):
                continue
            a_core, b_core = a.strip(LIGHT_CHARS), b.strip(LIGHT_CHARS)
            if (a or b) not in NEGATIONS and (
                not a_core or not b_core or set(a_core) <= set(b) or set(b_core) <= set(a)
            ):
                continue  # function characters or an expansion (当/要当好), not another slot value
            out.append((a, b))
        return out

    def _search_one(
        self, q: str, only: np.ndarray | None = None, trace: list[dict[str, object]] | None = None
    ) -> list[Candidate]:
        """The shortlist as :class:`Candidate` (key index, rank score, confidence, the matcher's part of
        the features; see :func:`_confidences`); with ``only``
        (doc ids) just those docs are scored, and ``trace`` collects the score parts (for :meth:`explain`)."""
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
        jw = s.junction_weight
        for (ck, _pk), junction in zip(an.positions, an.junctions or (False,) * len(an.positions), strict=True):
            wi = float(idf[j]) * (jw if junction else 1.0)
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
        if trace is not None:
            trace.append({"qtotal": qtotal, "tids": tids, "tw": tw, "df": df})
        # ---- candidate generation
        if only is not None:
            cand, acc = only.astype(np.int64), np.zeros(only.shape[0])
            rare = np.zeros(tids.shape[0], dtype=bool)  # every term by membership below
        elif rare.any():
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
        if only is None and cand.shape[0] > s.candidates:
            s1 = acc / qtotal + 0.1 * acc / np.maximum(doc_total[cand], 1e-6)
            top = np.argpartition(-s1, s.candidates - 1)[: s.candidates]
            cand, acc = cand[top], acc[top]
        # ---- exact coverage on the shortlist: add the common terms by membership
        for i in np.flatnonzero(~rare).tolist():
            p = postings[starts[i] : ends[i]]
            pos = np.searchsorted(p, cand)
            hit = p[np.minimum(pos, p.shape[0] - 1)] == cand
            acc = acc + hit * tw[i]
            if trace is not None:
                trace[0].setdefault("hits", {})[i] = hit
        qcov = np.minimum(acc / qtotal, 1.0)
        tcov = np.minimum(acc / np.maximum(doc_total[cand], 1e-6), 1.0)
        ov = qcov**s.coverage_power * (1.0 - s.title_weight + s.title_weight * np.sqrt(tcov))
        if cand.shape[0] > s.rerank:
            top = np.argpartition(-ov, s.rerank - 1)[: s.rerank]
            cand, ov, acc, tcov = cand[top], ov[top], acc[top], tcov[top]
        # ---- rapidfuzz rerank + synonyms + substitutions -> one confidence
        evidence = min(1.0, qtotal / s.evidence_weight) ** 0.5 if s.evidence_weight > 0 else 1.0
        q_toks = an.content.split(" ")
        q_ns = an.content.replace(" ", "")
        q_runs = set(_RUNS_RE.findall(an.content))
        syn_w, stand_ins = self._synonym_weights(q_toks)
        best: dict[int, tuple[float, float, str]] = {}
        parts: dict[int, tuple[float, float, float, float, float, int]] = {}
        doc_key = data.doc_key
        cp_extra = s.confidence_power - s.coverage_power
        for d, o, a, tc in zip(cand.tolist(), ov.tolist(), acc.tolist(), tcov.tolist(), strict=True):
            t = data.content_at(d)
            t_ns, recovered = self._apply_synonyms(t, syn_w, stand_ins)
            qc = min(a / qtotal, 1.0)
            if recovered > 0:
                qc_syn = min((a + recovered) / qtotal, 1.0)
                o_syn = qc_syn**s.coverage_power * (1.0 - s.title_weight + s.title_weight * np.sqrt(tc))
                if o_syn > o:
                    o, qc = o_syn, qc_syn
            fz_set = fuzz.token_set_ratio(an.content, t) / 100.0
            fz_part = fuzz.partial_ratio(q_ns, t_ns) / 100.0
            fz = max(fz_set, fz_part)
            score = 100.0 * evidence * o * (1.0 - s.fuzz_weight + s.fuzz_weight * fz)
            if q_runs:
                t_runs = set(_RUNS_RE.findall(t))
                other_num = any(r[0].isdigit() for r in t_runs.difference(q_runs))
                for run in q_runs.difference(t_runs):
                    if run[0].isdigit():
                        score *= SWAPPED_NUMBER if other_num else UNMATCHED_NUMBER
                    else:
                        score *= UNMATCHED_ASCII
            n_sub = len(self._substitutions(q_ns, t_ns))
            if n_sub:
                score *= s.substitution_penalty ** min(n_sub, 2)
            # confidence: the same product with the softer coverage exponent (qcov^confidence_power)
            conf = score * qc**cp_extra if qc > 0 else 0.0
            conf = round(min(100.0, max(0.0, conf)), 2)
            score = round(min(100.0, max(0.0, score)), 2)
            if trace is not None:
                trace.append(
                    {"doc": d, "title": t, "qcov": a / qtotal, "tcov": tc, "ov": o, "evidence": evidence,
                     "synonym_weight": recovered, "fuzz": fz, "substitutions": self._substitutions(q_ns, t_ns),
                     "score": score, "confidence": conf}
                )
            kidx = int(doc_key[d])
            if (score, conf) > best.get(kidx, (-1.0, -1.0, ""))[:2]:
                best[kidx] = (score, conf, t)
                parts[kidx] = (qc, tc, fz_set, fz_part, recovered / qtotal, n_sub)
        out = []
        for kidx, (sc, cf, t) in best.items():
            if sc <= 0.0:
                continue
            qc, tc, fz_set, fz_part, syn, n_sub = parts[kidx]
            out.append(Candidate(kidx, sc, cf, t, [
                sc / 100.0, cf / 100.0, qc, tc, fz_set, fz_part, 0.0, qtotal / self._missing_idf, float(len(q_toks)),
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, float(n_sub), syn, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            ]))
        return out


def _confidences(confs: list[float], gap_weight: float) -> list[float]:
    """Displayed scores of hits in rank order: each hit's confidence, capped by the one above it (a lower
    ranked title never shows a higher score), and the top one raised towards 100 by its relative lead over
    the runner-up: ``100 - (100 - top) * (1 - gap_weight * (top - second) / top)``.  A right title usually
    stands far above the rest; a query that is not in the archive tends to meet a cluster of similar
    weak candidates."""
    out: list[float] = []
    for c in confs:
        out.append(min(c, out[-1]) if out else c)
    if out and out[0] > 0 and gap_weight > 0:
        top, second = out[0], (out[1] if len(out) > 1 else 0.0)
        out[0] = round(min(100.0, 100.0 - (100.0 - top) * (1.0 - gap_weight * (top - second) / top)), 2)
    return out


def _is_exact(f: list[float]) -> bool:
    """The candidate covers the query and the query covers it: the title itself, as typed."""
    return f[2] >= 0.999 and f[6] >= 0.97 and f[10] == 0.0 and f[12] == 0.0 and f[14] == 0.0


def _top2(values: list[float]) -> tuple[float, float]:
    """The largest and second largest value (0 when missing)."""
    first = second = 0.0
    for v in values:
        if v > first:
            first, second = v, first
        elif v > second:
            second = v
    return first, second


def _same_sound(a: str, b: str, py: Mapping[str, int]) -> bool:
    return len(a) == len(b) and all(x == y or py.get(x, -1) == py.get(y, -2) for x, y in zip(a, b, strict=True))


def _alias_words(aliases: Mapping[str, str], analyzer: Analyzer) -> list[str]:
    out = []
    for left, right in aliases.items():
        for side in (left, right):
            n = analyzer.normalizer.normalize(side)
            if n and " " not in n:
                out.append(n)
    return out
