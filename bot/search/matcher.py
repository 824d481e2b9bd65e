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
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

import jieba
import numpy as np

from bot.config import MatcherSettings
from bot.models import Band, Decision, Hit
from bot.search.analysis import NORMALIZER_VERSION, Analyzer, word_key
from bot.search.index import IndexData, index_titles, load_index, save_index, update_index
from bot.search.scorer import Contribution, Scorer
from bot.search.shortlist import (
    EXACT_CONFIDENCE,
    TITLE_MAX_CHARS,
    TYPO_TITLES,
    Candidate,
    ShortlistScorer,
    frame_sounds,
    hand_confidences,
    is_exact,
)
from bot.search.smalltalk import SmallTalk
from bot.search.tables import open_tables, pinyin_version


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
        "pypinyin": pinyin_version(),
        "normalizer": str(NORMALIZER_VERSION),
        "title_max_chars": str(TITLE_MAX_CHARS),
        "aliases": alias_digest[:16],
    }


class Matcher(ShortlistScorer):
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
        self._syn = analyzer.tables.synonyms  # memory-mapped: shared by the processes that map one file
        self._syn_members = analyzer.tables.members
        # Terms in more titles than this are only checked on the shortlist, not accumulated: a share of
        # the archive, bounded so that per-query work stops growing with very large archives.
        self._cap = max(2000, min(int(settings.common_df * data.n_docs), settings.common_df_max))
        # each character -> a private-use character per toneless syllable: homophones become equal strings
        self._sound_table = {ord(ch): chr(0xE000 + (code & 0x1FFF)) for ch, code in analyzer.pinyin.items()}
        # word -> (its synonyms, its sound, its synonyms longer than SUBSTRING_CHECK), across queries
        self._alternates: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {}
        self._token_weights: dict[str, float] = {}  # query word -> its query weight in this index
        self._idfs: dict[str, float] = {}  # word -> its idf relative to an unseen term's, in this index
        self._smalltalk = SmallTalk(analyzer.normalizer.normalize)
        self._frame_sounds = frame_sounds(self._sound_table, analyzer.tokenizer.FREQ)
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
            an = Analyzer(self.settings.max_query_chars, tables=self._an.tables)
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
        tables = open_tables(os.path.dirname(os.path.abspath(path)))  # beside the index: shared like it
        analyzer = Analyzer(settings.max_query_chars, extra_words=data.extra_words, tables=tables)
        return cls(data, analyzer, aliases, settings)

    def __len__(self) -> int:
        return self._data.n_keys

    # ---------------------------------------------------------------- queries
    def search(self, text: str, k: int = 10) -> list[tuple[str, float]]:
        """Up to ``k`` ``(key, score)`` best first, score 0..100 (with the learned scorer: the estimated
        percent chance that this is the question meant); [] when nothing is near."""
        if k <= 0:
            return []
        best: list[tuple[str, float]] = []
        for q in self._an.normalizer.readings(text):  # Traditional text: the reading whose best hit scores more
            hits = self._search(q, k)
            if hits and (not best or hits[0][1] > best[0][1]):
                best = hits
        return best

    def _search(self, q: str, k: int) -> list[tuple[str, float]]:
        """:meth:`search` of one normalised reading of the query."""
        cands = self._candidates(q)
        data = self._data
        if self._scorer is None or not cands:
            scores = hand_confidences([c.confidence for c in cands], self.settings.gap_weight)
            return [(data.key_at(c.kidx), sc) for c, sc in zip(cands[:k], scores, strict=False)]
        order, conf, ranker = self._scorer.ranked(np.array([c.features for c in cands]), k)
        top = cands[order[0]].features
        if is_exact(top) and not (len(order) > 1 and is_exact(cands[order[1]].features)):
            conf[0] = max(conf[0], EXACT_CONFIDENCE / 100.0)  # the title as typed, and only that one
        elif top[17] >= 1 or top[15] > 0 or ranker[0] < self.settings.ranker_doubt / 100.0:
            # one slot swapped (四级/六级, 2023/2024), or the ranker doubts the top: suggest, never answer
            conf[0] = min(conf[0], self.settings.substitution_cap / 100.0)
        elif conf[0] > self.settings.term_cap / 100.0 and self._bare_term(q):
            conf[0] = self.settings.term_cap / 100.0  # 咖啡, 深度学习: a topic, not the question of one title
        out: list[tuple[str, float]] = []
        for i, p in zip(order[:k].tolist(), conf[:k].tolist(), strict=False):
            sc = round(100.0 * p, 2)  # a lower-ranked hit never shows a higher score
            out.append((data.key_at(cands[i].kidx), min(sc, out[-1][1]) if out else sc))
        return out

    def candidates(self, text: str) -> list[Candidate]:
        """The reranked shortlist (best rank score first, ties by key) with every learned feature filled
        in; the raw material of :meth:`search` and of the scorer's training (``bench/train_scorer.py``)."""
        q = self._an.normalizer.normalize(text)
        return self._candidates(q) if q else []

    def _candidates(self, q: str) -> list[Candidate]:
        """:meth:`candidates` of a normalised text."""
        q, cands = self._corrected(q, self._shortlist(q))
        if cands:
            self._fill_features(q, cands)
        return cands

    def corrected(self, text: str) -> str:
        """The normalised query as it is matched: its IME typos (录闃, 儒何评价) repaired as the best
        candidates spell those places (see ``ShortlistScorer._repair_typos``)."""
        q = self._an.normalizer.normalize(text)
        return self._corrected(q, self._shortlist(q))[0] if q else q

    def _corrected(self, q: str, cands: list[Candidate]) -> tuple[str, list[Candidate]]:
        """``(query, shortlist)`` after the typo repair: the repaired query and its own shortlist, or the
        arguments unchanged (no typo, or the repair would make small talk of it: 哈奤哈哈)."""
        if not cands:
            return q, cands
        fixed = self._repair_typos(q, [c.title for c in cands[:TYPO_TITLES]])
        if fixed == q or self._smalltalk.kind(fixed) is not None:
            return q, cands
        # the same titles scored again for the corrected text: the typo changed no sound, so retrieval by
        # the pinyin terms found them already (and this spares a query with a typo a second retrieval)
        return fixed, self._shortlist(fixed, only=np.array(sorted({c.doc for c in cands}), dtype=np.int64))

    def _shortlist(self, q: str, only: np.ndarray | None = None) -> list[Candidate]:
        """The candidates of a normalised query over its alias variants, best rank score first (only
        those of the documents ``only``, when given)."""
        best: dict[int, Candidate] = {}
        for variant in self._variants(q):
            for c in self._search_one(variant, only=only):
                old = best.get(c.kidx)
                if old is None or (c.rank, c.confidence) > (old.rank, old.confidence):
                    best[c.kidx] = c
        return sorted(best.values(), key=lambda c: (-c.rank, c.kidx))

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
        typed = self._an.normalizer.normalize(text)
        q = self.corrected(text)
        t_an = self._an.analyze(self._an.normalizer.normalize(title, max_chars=TITLE_MAX_CHARS), normalized=True)
        data = self._data
        docs = np.array([d for d in range(data.n_docs) if data.content_at(d) == t_an.content], dtype=np.int64)
        lines = [f"query {typed!r}" + (f" -> typos repaired {q!r}" if q != typed else "")
                 + f" -> content {self._an.analyze(q, normalized=True).content!r}",
                 f"title content {t_an.content!r}: {docs.size} doc(s) in the index"]
        readings = self._an.normalizer.readings(text)
        if len(readings) > 1:  # explained below: the first; search() keeps the better-matching one
            lines.insert(1, f"also read with Taiwan phrases as {readings[1]!r} (see search)")
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
        scorer = self._scorer
        views = scorer.views(np.array([c.features for c in cands]))
        p = scorer.ranker.probability(views[scorer.ranker.features])
        order = np.array([pos, *(i for i in np.argsort(-p, kind="stable").tolist() if i != pos)])
        row = scorer.confidence_input(views, p, order)[0]
        base, contribs = scorer.confidence.contributions(row)
        logit = base + sum(c.logit for c in contribs)
        conf = round(100.0 / (1.0 + math.exp(-logit)), 2)
        return ScoreExplanation(conf, round(100.0 * float(p[pos]), 2), base, tuple(contribs))

    def _bare_term(self, q: str) -> bool:
        """Whether the normalised query ``q`` is one short term: no space, no question words, one or two
        words of at most ``topic_max_chars`` characters, or one Latin word (手机, 深度学习, python)."""
        if not q or " " in q:
            return False
        if not (len(q) <= self.settings.topic_max_chars or (q.isascii() and q.isalnum() and len(q) <= 24)):
            return False
        segs = self._an.tokens(q)
        # question words were removed, or several words: a question, not a term
        return len(segs) == 1 and "".join(segs[0]) == q and len(segs[0]) <= 2

    def _topic(self, query: str) -> tuple[str, int] | None:
        """``(term, number of questions whose title contains it)`` when ``query`` is one short term (no
        space, no question words, at most ``topic_max_chars`` characters, or one Latin word) that at
        least ``topic_min_titles`` questions share (of a Traditional term's readings, the one more share:
        軟體 is 软件, not 软体)."""
        best: tuple[str, int] | None = None
        for q in self._an.normalizer.readings(query):
            got = self._topic_of(q)
            if got is not None and (best is None or got[1] > best[1]):
                best = got
        return best

    def _topic_of(self, q: str) -> tuple[str, int] | None:
        """:meth:`_topic` of one normalised reading."""
        s = self.settings
        if not self._bare_term(q):
            return None
        an = self._an.analyze(q, normalized=True)
        data = self._data
        # titles containing the term: those with all its character bigrams (or its word, for one unit)
        keys = [ck if ck is not None else pk for ck, pk in an.positions] or [word_key(q)]
        docs: np.ndarray | None = None
        for key in keys:
            p = data.term_postings(key)
            if p.shape[0] == 0:
                return None
            docs = p if docs is None else np.intersect1d(docs, p, assume_unique=True)
        if docs is None or docs.shape[0] < s.topic_min_titles:
            return None
        found = [d for d in docs[: 20 * s.topic_min_titles].tolist() if q in data.content_at(d).replace(" ", "")]
        if len(found) < s.topic_min_titles:
            return None
        share = len(found) / min(docs.shape[0], 20 * s.topic_min_titles)
        count = int(np.unique(data.doc_key[docs]).shape[0] * share)
        return (q, count) if count >= s.topic_min_titles else None

def _alias_words(aliases: Mapping[str, str], analyzer: Analyzer) -> list[str]:
    out = []
    for left, right in aliases.items():
        for side in (left, right):
            n = analyzer.normalizer.normalize(side)
            if n and " " not in n:
                out.append(n)
    return out
