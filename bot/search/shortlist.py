"""The shortlist and its hand-made score: candidates from the index, coverage both ways, synonyms,
substitutions, rapidfuzz; and the learned features of each shortlisted candidate (see docs/matcher.md)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import LCSseq, Levenshtein

from bot.search.analysis import BOILERPLATE, CJK_RE, Analysis, char_bigram_key
from bot.search.features import (
    N_FEATURES,
    QueryOverlap,
    common_runs,
    length_ratio,
    number_features,
    overlap_features,
    swap_features,
    word_features,
)
from bot.search.index import WORD_WEIGHT

#: Confidence floor of a title that equals the query (after normalisation) when no other title does.
EXACT_CONFIDENCE = 99.0
#: Titles are normalised with this cap (queries use ``MatcherSettings.max_query_chars``).
TITLE_MAX_CHARS = 400
#: Factor per number / ASCII word of the query that the title lacks (2023 vs 2024 is another question).
UNMATCHED_NUMBER = 0.85
UNMATCHED_ASCII = 0.92
_RUNS_RE = re.compile(r"[a-z]+|[0-9]+")
#: The postings of a query's rare terms are summed by sorting them while there are fewer than 1/this of the
#: documents, else by a pass over every document (measured crossover: ~1/12 at 180k, ~1/10 at 10^6).
SORT_POSTINGS_BELOW = 12
#: Share of a position's weight earned by a pinyin-only (homophone) match; the rest needs the same chars.
PINYIN_CREDIT = 0.85
#: Share of an unmatched query word's weight recovered when the title has a synonym of it.
SYNONYM_CREDIT = 0.9
#: Synonyms up to this long are looked up among the query's substrings (a set); longer ones by search.
SUBSTRING_CHECK = 8
#: Words whose synonyms, sound, query weight and idf the matcher remembers across queries (each memo cleared
#: when full).
ALTERNATES_MEMO = 1 << 15
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
#: A query character that sounds like a candidate title's character in its place is read as an IME typo of it
#: (录闃 for 录取) when the title's character between the query's neighbours is this many times as well attested
#: by the archive's bigram counts (each + 1, multiplied) as the typed one; the square of it when every bigram of
#: the typed character is in use.
TYPO_EVIDENCE = 4
#: Longest question frame (characters) that a typo repair looks for.
FRAME_MAX_CHARS = 4
#: Candidates (best rank score first) whose titles a query's typos are repaired against.
TYPO_TITLES = 3
#: Equal context (characters) needed on a side of a substitution for it to count as "in the same slot".
SUB_CONTEXT = 2


@dataclass
class Candidate:
    """One shortlisted question: key index, the matcher's rank score and hand-made confidence (0..100),
    the best title's normalised content, the learned scorer's feature vector (``FEATURES`` order) and the
    best title's document."""

    kidx: int
    rank: float
    confidence: float
    title: str
    features: list[float] = field(default_factory=list)
    doc: int = -1


class ShortlistScorer:
    """What :class:`~bot.search.matcher.Matcher` does per query below ``search``/``decide``: the
    shortlist with rank scores and hand-made confidences, and each candidate's learned features.
    The attributes it reads are set by ``Matcher.__init__``."""

    def _fill_features(self, q: str, cands: list[Candidate]) -> None:
        """Complete each candidate's feature vector (word-level, number and lead features)."""
        an = self._an.analyze(q, normalized=True)
        q_toks = an.content.split(" ")
        q_ns = an.content.replace(" ", "")
        titles = [c.title.split(" ") for c in cands]
        idf = self._word_idfs([*q_toks, *(t for ts in titles for t in ts)])
        syn, members, table = self._syn, self._syn_members, self._sound_table
        sounds: dict[str, str] = {}

        alts = self._alternates
        in_query: dict[str, bool] = {}  # title words already checked against the query
        in_titles: dict[str, tuple[str, ...]] = {}
        all_titles = "\x00".join(c.title.replace(" ", "") for c in cands)
        q_subs = {q_ns[i : i + n] for n in range(1, SUBSTRING_CHECK + 1) for i in range(len(q_ns) - n + 1)}
        q_sound = q_ns.translate(table)

        def has_synonym(tok: str, other: str) -> bool:
            """A synonym of ``tok`` in ``other``, or the same sound (an IME typo: 连接/链接)."""
            if len(tok) < 2:
                return False
            alt = alts.get(tok)
            if alt is None:
                if len(alts) >= ALTERNATES_MEMO:
                    alts.clear()
                groups = syn.get(tok, ())
                others = tuple(w for g in groups for w in members[g] if w != tok)
                alt = alts[tok] = (others, tok.translate(table), tuple(w for w in others if len(w) > SUBSTRING_CHECK))
            if other is q_ns:  # a title word against the query: once per word, substrings by set
                got = in_query.get(tok)
                if got is None:
                    got = in_query[tok] = not q_subs.isdisjoint(alt[0]) or any(
                        w in other for w in alt[2]) or alt[1] in q_sound
                return got
            near = in_titles.get(tok)  # a query word against a title: only synonyms some title has
            if near is None:
                near = in_titles[tok] = tuple(w for w in alt[0] if w in all_titles)
            if near and any(w in other for w in near):
                return True
            snd = sounds.get(other)
            if snd is None:
                snd = sounds[other] = other.translate(table)
            return alt[1] in snd

        q_side = QueryOverlap.of(q_toks, q_ns, idf.__getitem__)
        title_words: dict[str, tuple[float, bool, bool]] = {}
        ranks = [c.rank for c in cands]
        confs = [c.confidence for c in cands]
        r1, r2 = _top2(ranks)
        c1, c2 = _top2(confs)
        place = 0  # position in the rank-score order; equal rank scores share one (ties stay ties)
        for pos, (c, t_toks) in enumerate(zip(cands, titles, strict=True)):
            if pos and c.rank != cands[pos - 1].rank:
                place = pos
            t_ns = c.title.replace(" ", "")
            f = c.features
            f[9] = length_ratio(len(q_ns), len(t_ns))
            f[10], f[11], f[12], f[13], f[22] = word_features(q_toks, t_toks, q_ns, t_ns, idf.__getitem__,
                                                              has_synonym, title_words)
            f[14], f[15], f[16] = number_features(an.content, c.title)
            f[23], f[24], f[25] = swap_features(q_toks, t_toks, q_ns, t_ns, idf.__getitem__, has_synonym)
            runs = common_runs(q_ns, t_ns)
            f[6] = 2.0 * runs[0] / max(len(q_ns) + len(t_ns), 1)  # = rapidfuzz fuzz.ratio / 100
            f[26:33] = overlap_features(q_side, t_toks, t_ns, idf.__getitem__, runs)
            f[19] = (c.rank - (r2 if c.rank == r1 and pos == 0 else r1)) / 100.0
            f[20] = (c.confidence - (c2 if c.confidence == c1 else c1)) / 100.0
            f[21] = float(place)

    def _word_idfs(self, toks: list[str]) -> dict[str, float]:
        """Word -> idf of its word key relative to that of an unseen term (0..1, whatever the archive's
        size; unknown words: 1), remembered across queries."""
        data, memo = self._data, self._idfs
        out: dict[str, float] = dict.fromkeys(toks, 1.0)  # 1.0: a placeholder for a word looked up below
        new: list[str] = []
        for tok in out:
            got = memo.get(tok)
            if got is None:
                new.append(tok)
            else:
                out[tok] = got
        if not new or data.vocab.shape[0] == 0:
            return out
        vals = self._key_idfs(np.array(self._an.word_keys(new), dtype=np.int64)) / max(self._missing_idf, 1e-9)
        if len(memo) + len(new) > ALTERNATES_MEMO:
            memo.clear()
        for tok, v in zip(new, vals.tolist(), strict=True):
            out[tok] = memo[tok] = v
        return out

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
        memo = self._token_weights
        for tok in q_toks:
            if tok not in weights and self._syn.get(tok):
                w = memo.get(tok)
                if w is None:
                    if len(memo) >= ALTERNATES_MEMO:
                        memo.clear()
                    w = memo[tok] = self._weight_of(self._an.analyze(tok, normalized=True))
                weights[tok] = w
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
        return float(np.dot(mult, self._key_idfs(np.fromiter(keys, dtype=np.int64, count=len(keys)))))

    def _key_idfs(self, karr: np.ndarray) -> np.ndarray:
        """The idf of each term key in this index; an unseen term's for a key it lacks (non-empty vocabulary)."""
        vocab = self._data.vocab
        idx = np.minimum(np.searchsorted(vocab, karr), vocab.shape[0] - 1)
        return np.where(vocab[idx] == karr, self._data.idf[idx], self._missing_idf)

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

    def _repair_typos(self, q: str, titles: list[str]) -> str:
        """``q`` with its IME typos corrected as the archive spells them (``q`` itself when there is none):
        mistyped question frames (:meth:`_frame_typos`), then characters that sound like those of
        ``titles`` (candidates' contents, best first) in their place (:meth:`_title_typos`)."""
        sound = q.translate(self._sound_table)
        fixes, kept = self._frame_typos(q, sound)
        if titles:  # what the best candidate has as typed stays as typed
            for op in LCSseq.opcodes(q, titles[0].replace(" ", "")):
                if op.tag == "equal":
                    kept.update(range(op.src_start, op.src_end))
        self._title_typos(q, sound, titles, fixes, kept)
        if not fixes:
            return q
        return "".join(fixes.get(i, ch) for i, ch in enumerate(q))

    def _frame_typos(self, q: str, sound: str) -> tuple[dict[int, str], set[int]]:
        """``(fixes, kept)``: position -> frame character for each window of ``q`` that sounds like a
        question frame (儒何 for 如何, 为婶么 for 为什么) but is no word jieba knows, where no title has a
        bigram of a changed character with its neighbours (神魔 and 可疑 stay: words in use; so does
        全球问题, though 球问 sounds like 求问); and the positions of every frame found, typed right or not."""
        fixes: dict[int, str] = {}
        kept: set[int] = set()
        freq = self._an.tokenizer.FREQ
        i = 0
        while i < len(q) - 1:
            for n in range(min(FRAME_MAX_CHARS, len(q) - i), 1, -1):
                frame = self._frame_sounds.get(sound[i : i + n])
                w = q[i : i + n]
                if frame is None or (frame != w and freq.get(w)):
                    continue
                changed = [i + k for k in range(n) if w[k] != frame[k]]
                pairs = {(q[a], q[a + 1]) for k in changed for a in (k - 1, k) if 0 <= a < len(q) - 1}
                if changed and any(self._bigram_dfs(list(pairs))):  # a typed char in use there (全球问: 球)
                    continue
                fixes.update((k, frame[k - i]) for k in changed)
                kept.update(range(i, i + n))
                i += n - 1
                break
            i += 1
        return fixes, kept

    def _title_typos(self, q: str, sound: str, titles: list[str], fixes: dict[int, str], kept: set[int]) -> None:
        """Add to ``fixes`` each CJK character of ``q`` (not in ``kept``) that differs from the character
        aligned with it by sound in one of ``titles``, where the title's character between the query's
        neighbours is ``TYPO_EVIDENCE`` times as well attested by the archive's bigram counts as the typed
        one (its square when every bigram of the typed character is in use): 录闃分 -> 录取分, 大街局 ->
        大结局; 治愈以前 stays though a title says 治愈一切, and 触点 though 触电 is more common."""
        table = self._sound_table
        for title in titles:
            t = title.replace(" ", "")
            for op in LCSseq.opcodes(sound, t.translate(table)):
                n = op.src_end - op.src_start
                if op.tag != "equal" or n < 2:
                    continue
                for k in range(n):
                    i, j = op.src_start + k, op.dest_start + k
                    if q[i] == t[j] or i in kept or i in fixes or not CJK_RE.match(q[i]):
                        continue
                    left = fixes.get(i - 1, q[i - 1]) if i else ""
                    right = q[i + 1] if i + 1 < len(q) else ""
                    typed = self._context_dfs(left, q[i], right)
                    if not typed:
                        continue
                    meant = self._context_dfs(left, t[j], right)
                    odds = TYPO_EVIDENCE if min(typed) == 0 else TYPO_EVIDENCE**2
                    if math.prod(df + 1 for df in meant) >= odds * math.prod(df + 1 for df in typed):
                        fixes[i] = t[j]

    def _context_dfs(self, left: str, ch: str, right: str) -> list[int]:
        """How many titles have each bigram of ``ch`` with its neighbours (characters or "": none), for
        those neighbours that are CJK characters."""
        pairs = [(a, b) for a, b in ((left, ch), (ch, right)) if a and b and CJK_RE.match(a) and CJK_RE.match(b)]
        return self._bigram_dfs(pairs)

    def _bigram_dfs(self, pairs: list[tuple[str, str]]) -> list[int]:
        """How many titles each character bigram occurs in (0 when it is not two CJK characters or not in
        the index)."""
        data = self._data
        return [data.term_postings(char_bigram_key(ord(a), ord(b))).shape[0]
                if CJK_RE.match(a) and CJK_RE.match(b) else 0 for a, b in pairs]

    def _substitutions(self, q: str, t: str, q_sound: str | None = None) -> list[tuple[str, str]]:
        """Diff blocks of query vs title where a short query part stands in the slot of a different short
        title part (后期/初期, 白/黑, 2022/2021, 她/跑男) with equal text around it; homophones (typos) are not.
        Aligned by sound: an IME typo elsewhere in the query (谈练爱 for 谈恋爱) is equal text, so it neither
        hides the slot's context nor lowers the equal share below ``SUB_MIN_EQUAL``.  ``q_sound``: ``q`` by
        sound, when the caller has it (one query against many titles)."""
        table = self._sound_table
        q_sound, t_sound = q.translate(table) if q_sound is None else q_sound, t.translate(table)
        if LCSseq.similarity(q_sound, t_sound) < SUB_MIN_EQUAL * len(q):
            return []  # no alignment has that many equal characters: a rephrasing (the check below, cheaply)
        ops = Levenshtein.opcodes(q_sound, t_sound)
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
        py = self._an.pinyin
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
        the features; see :func:`hand_confidences`); with ``only``
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
        tids, tw = sum_by_key(tids, tw)
        starts, ends = data.indptr[tids], data.indptr[tids + 1]
        df = ends - starts
        rare = df <= self._cap
        postings = data.postings
        if trace is not None:
            trace.append({"qtotal": qtotal, "tids": tids, "tw": tw, "df": df})
        # ---- candidate generation
        if only is not None:
            cand, acc = only, np.zeros(only.shape[0])
            rare = np.zeros(tids.shape[0], dtype=bool)  # every term by membership below
        elif rare.any():
            cand, acc = sum_postings(postings, starts[rare], ends[rare], tw[rare], data.n_docs)
        else:  # only very common terms: their rarest one's first postings are the pool
            i = int(np.argmin(df))
            cand = postings[starts[i] : starts[i] + self._cap]
            acc = np.zeros(cand.shape[0])
        doc_total = data.doc_total
        if only is None and cand.shape[0] > s.candidates:
            s1 = acc / qtotal + 0.1 * acc / np.maximum(doc_total[cand], 1e-6)
            top = np.argpartition(-s1, s.candidates - 1)[: s.candidates]
            cand, acc = cand[top], acc[top]
        # ---- exact coverage on the shortlist: add the common terms by membership (the candidates in the
        # postings' dtype: searchsorted would otherwise convert each posting list to theirs)
        cand = cand.astype(postings.dtype, copy=False)
        for i in np.flatnonzero(~rare).tolist():
            p = postings[starts[i] : ends[i]]
            pos = np.searchsorted(p, cand)
            hit = p[np.minimum(pos, p.shape[0] - 1)] == cand
            acc = acc + hit * tw[i]
            if trace is not None:
                trace[0].setdefault("hits", {})[i] = hit
        qcov = np.minimum(acc / qtotal, 1.0)
        tcov = np.minimum(acc / np.maximum(doc_total[cand], 1e-6), 1.0)
        if cand.shape[0] > s.rerank:  # chosen with more weight on the title's coverage than ranked with
            pick = coverage_product(qcov, tcov, s.shortlist_title_weight, s.coverage_power)
            top = np.argpartition(-pick, s.rerank - 1)[: s.rerank]
            cand, qcov, acc, tcov = cand[top], qcov[top], acc[top], tcov[top]
        ov = coverage_product(qcov, tcov, s.title_weight, s.coverage_power)
        # ---- rapidfuzz rerank + synonyms + substitutions -> one confidence
        evidence = min(1.0, qtotal / s.evidence_weight) ** 0.5 if s.evidence_weight > 0 else 1.0
        q_toks = an.content.split(" ")
        q_ns = an.content.replace(" ", "")
        q_runs = set(_RUNS_RE.findall(an.content))
        q_sound = q_ns.translate(self._sound_table)
        syn_w, stand_ins = self._synonym_weights(q_toks)
        best: dict[int, tuple[float, float, str, int]] = {}
        parts: dict[int, tuple[float, float, float, float, float, int]] = {}
        doc_key = data.doc_key
        cp_extra = s.confidence_power - s.coverage_power
        for d, o, a, tc in zip(cand.tolist(), ov.tolist(), acc.tolist(), tcov.tolist(), strict=True):
            t = data.content_at(d)
            t_ns, recovered = self._apply_synonyms(t, syn_w, stand_ins)
            qc = min(a / qtotal, 1.0)
            if recovered > 0:
                qc_syn = min((a + recovered) / qtotal, 1.0)
                o_syn = coverage_product(qc_syn, tc, s.title_weight, s.coverage_power)
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
            n_sub = len(self._substitutions(q_ns, t_ns, q_sound))
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
            if (score, conf) > best.get(kidx, (-1.0, -1.0, "", -1))[:2]:
                best[kidx] = (score, conf, t, d)
                parts[kidx] = (qc, tc, fz_set, fz_part, recovered / qtotal, n_sub)
        out = []
        for kidx, (sc, cf, t, d) in best.items():
            if sc <= 0.0:
                continue
            qc, tc, fz_set, fz_part, syn, n_sub = parts[kidx]
            out.append(Candidate(kidx, sc, cf, t, [
                sc / 100.0, cf / 100.0, qc, tc, fz_set, fz_part, 0.0, qtotal / self._missing_idf, float(len(q_toks)),
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, float(n_sub), syn,
            ] + [0.0] * (N_FEATURES - 19), d))
        return out


def coverage_product(
    qcov: np.ndarray | float, tcov: np.ndarray | float, title_weight: float, power: float
) -> np.ndarray | float:
    """The coverage part of a rank score: ``qcov^power × (1 − title_weight + title_weight √tcov)``."""
    return qcov**power * (1.0 - title_weight + title_weight * np.sqrt(tcov))


def sum_postings(
    postings: np.ndarray, starts: np.ndarray, ends: np.ndarray, weights: np.ndarray, n_docs: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(docs, sums)``: the documents in the postings ``postings[starts[i]:ends[i]]`` (ascending) and, per
    document, the sum of the ``weights[i]`` of the lists it is in, added in list order (so the sums are the
    same bit for bit either way below)."""
    docs = np.concatenate([postings[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)])
    wts = np.repeat(weights, ends - starts)
    if docs.size * SORT_POSTINGS_BELOW < n_docs:  # few postings: sorting beats a pass over every doc
        return sum_by_key(docs, wts)
    full = np.bincount(docs, weights=wts, minlength=n_docs)
    cand = np.flatnonzero(full != 0)  # a bool array: 2-3x faster than flatnonzero of floats
    return cand, full[cand]


def sum_by_key(keys: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(distinct keys ascending, the sum of each one's weights)``, the weights of a key added in their
    order in ``keys`` (as ``np.unique(..., return_inverse=True)`` and ``np.bincount`` add them; a stable
    sort does the same in about half the time)."""
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    first = np.empty(keys.shape[0], dtype=bool)
    first[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    return keys[first], np.bincount(np.cumsum(first) - 1, weights=weights[order])


def hand_confidences(confs: list[float], gap_weight: float) -> list[float]:
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


def is_exact(f: list[float]) -> bool:
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


def frame_sounds(table: Mapping[int, str], freq: Mapping[str, int]) -> dict[str, str]:
    """Sound -> the question frame of 2..``FRAME_MAX_CHARS`` CJK characters with that sound (the one jieba
    knows best when several share it), for :meth:`ShortlistScorer._repair_typos`."""
    out: dict[str, str] = {}
    for w in sorted(BOILERPLATE):
        if not 2 <= len(w) <= FRAME_MAX_CHARS or not all(CJK_RE.match(ch) for ch in w):
            continue
        key = w.translate(table)
        old = out.get(key)
        if old is None or (freq.get(w) or 0) > (freq.get(old) or 0):
            out[key] = w
    return out


def _same_sound(a: str, b: str, py: Mapping[str, int]) -> bool:
    return len(a) == len(b) and all(x == y or py.get(x, -1) == py.get(y, -2) for x, y in zip(a, b, strict=True))
