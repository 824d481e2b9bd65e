"""Features of one (query, candidate title) pair for the learned confidence (:mod:`bot.search.scorer`).

The matcher computes the coverage and fuzzy parts while reranking its shortlist; this module adds the
word-level view: which content words of either side the other side lacks and how rare they are (an
unmatched name, place, work or number matters; an unmatched particle does not), and the lead of a
candidate over the others.  Every feature is a plain float; ``FEATURES`` fixes their order.  IDF values
are relative to the idf of an unseen term (0..1), so the features mean the same in a small archive as
in a large one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import LCSseq, Levenshtein

#: Feature names in vector order (the scorer's parameter file lists them and must agree).
FEATURES: tuple[str, ...] = (
    "rank_score",        # the matcher's rank score / 100 (IDF coverage x fuzz x penalties)
    "confidence",        # the matcher's hand-made confidence / 100
    "qcov",              # share of the query's IDF weight found in the title (synonyms included)
    "tcov",              # share of the title's IDF weight found in the query
    "fuzz_set",          # rapidfuzz token_set_ratio / 100
    "fuzz_partial",      # rapidfuzz partial_ratio / 100 (synonyms applied)
    "fuzz_ratio",        # rapidfuzz ratio / 100 of the joined contents
    "query_weight",      # total IDF weight of the query / idf of an unseen term: how much the query says
    "query_words",       # number of content words in the query
    "length_ratio",      # log((1 + title chars) / (1 + query chars))
    "q_unmatched",       # IDF mass of query words the title lacks / the query's word IDF mass
    "q_unmatched_max",   # highest IDF of a query word (2+ chars, or number/Latin) the title lacks
    "t_unmatched",       # IDF mass of title words the query lacks / the title's word IDF mass
    "t_unmatched_max",   # highest IDF of a title word (2+ chars, or number/Latin) the query lacks
    "numbers_missing",   # query numbers the title lacks
    "number_swapped",    # 1 when a query number is missing and the title has another number
    "latin_missing",     # query Latin words the title lacks
    "substitutions",     # one-slot substitutions (潍坊 -> 东营) in the character alignment
    "synonyms",          # share of the query weight recovered through synonyms
    "lead",              # rank score minus the best other candidate's rank score (/100)
    "conf_lead",         # confidence minus the best other candidate's confidence (/100)
    "rank",              # position in the rank-score order (0 = first; equal scores share a position)
    "q_unmatched_words",  # query words (2+ chars) the title lacks
    "swaps",             # word-level substitutions: 1-2 unmatched words each side between equal words
    "swap_idf",          # the rarest such substitution (min of both sides' highest idf)
    "rare_coverage",     # share of the query's rare words (idf >= RARE_IDF) found in the title (1: none)
    "word_qcov",         # share of the query's word IDF weight found as whole title words (no synonyms)
    "word_tcov",         # share of the title's word IDF weight found as whole query words
    "char_qcov",         # share of the query's distinct characters found in the title
    "char_tcov",         # share of the title's distinct characters found in the query
    "lcs_ratio",         # longest common subsequence of the joined contents / query characters
    "bm25",              # BM25 over whole words (relative idf, k1 1.2, b 0.75 against TYPICAL_TITLE_CHARS)
    "longest_block",     # longest run of equal characters in that alignment / query characters
)
N_FEATURES = len(FEATURES)
_RUN_RE = re.compile(r"[a-z]+|[0-9]+")
#: A word at least this rare (idf relative to an unseen term's) is a name, work, place or term the title
#: must contain (0.58: about idf 7 in a 180k-title archive).
RARE_IDF = 0.58
#: Title length (content characters) at which BM25's length normalisation is neutral.
TYPICAL_TITLE_CHARS = 14.0
BM25_K1, BM25_B = 1.2, 0.75


def _significant(tok: str) -> bool:
    return len(tok) >= 2 or (tok.isascii() and tok.isalnum())


def word_features(
    q_toks: Sequence[str], t_toks: Sequence[str], q_text: str, t_text: str, idf: Callable[[str], float],
    synonyms: Callable[[str, str], bool], title_words: dict[str, tuple[float, bool, bool]] | None = None,
) -> tuple[float, float, float, float, float]:
    """``(q_unmatched, q_unmatched_max, t_unmatched, t_unmatched_max, q_unmatched_words)``: a word is
    matched when it occurs in the other side's joined text or ``synonyms(word, other_text)`` (a synonym
    or a homophone there).  ``title_words``: a memo of title words against this query (one per query)."""
    total = missing = top = n_words = 0.0
    for tok in dict.fromkeys(q_toks):
        w = idf(tok)
        total += w
        if tok in t_text or (len(tok) >= 2 and synonyms(tok, t_text)):  # synonyms: words of 2+ chars
            continue
        missing += w
        if _significant(tok):
            top = max(top, w)
            n_words += 1
    q_unmatched, q_top = missing / total if total > 0 else 0.0, top
    memo = {} if title_words is None else title_words
    total = missing = top = 0.0
    for tok in dict.fromkeys(t_toks):
        seen = memo.get(tok)
        if seen is None:
            seen = memo[tok] = (idf(tok), tok in q_text or (len(tok) >= 2 and synonyms(tok, q_text)),
                                _significant(tok))
        w, matched, significant = seen
        total += w
        if matched:
            continue
        missing += w
        if significant:
            top = max(top, w)
    return q_unmatched, q_top, missing / total if total > 0 else 0.0, top, n_words


def number_features(q_text: str, t_text: str) -> tuple[float, float, float]:
    """``(numbers_missing, number_swapped, latin_missing)`` from the digit and Latin runs of both sides."""
    q_runs = set(_RUN_RE.findall(q_text))
    if not q_runs:
        return 0.0, 0.0, 0.0
    t_runs = set(_RUN_RE.findall(t_text))
    miss = q_runs - t_runs
    nums = sum(1 for r in miss if r[0].isdigit())
    other = any(r[0].isdigit() for r in t_runs - q_runs)
    latin = sum(1 for r in miss if not r[0].isdigit())
    return float(nums), float(nums > 0 and other), float(latin)


def length_ratio(q_chars: int, t_chars: int) -> float:
    return math.log((1 + t_chars) / (1 + q_chars))


def swap_features(
    q_toks: Sequence[str], t_toks: Sequence[str], q_text: str, t_text: str, idf: Callable[[str], float],
    synonyms: Callable[[str, str], bool],
) -> tuple[float, float, float]:
    """``(swaps, swap_idf, rare_coverage)``: word-level substitutions in the token alignment (六级 for
    四级, 水浒 for 三国) with an equal word beside them, and the share of rare query words matched."""
    swaps = 0.0
    swap_idf = 0.0
    ops = Levenshtein.opcodes(list(q_toks), list(t_toks))
    blocks = list(ops)
    for n, op in enumerate(blocks):
        if op.tag != "replace" or op.src_end - op.src_start > 2 or op.dest_end - op.dest_start > 2:
            continue
        if not ((n > 0 and blocks[n - 1].tag == "equal") or (n + 1 < len(blocks) and blocks[n + 1].tag == "equal")):
            continue
        qa = [w for w in q_toks[op.src_start : op.src_end] if _significant(w) and w not in t_text
              and not synonyms(w, t_text)]
        tb = [w for w in t_toks[op.dest_start : op.dest_end] if _significant(w) and w not in q_text
              and not synonyms(w, q_text)]
        if qa and tb:
            swaps += 1
            swap_idf = max(swap_idf, min(max(idf(w) for w in qa), max(idf(w) for w in tb)))
    rare = [w for w in dict.fromkeys(q_toks) if idf(w) >= RARE_IDF]
    cover = sum(1 for w in rare if w in t_text or synonyms(w, t_text)) / len(rare) if rare else 1.0
    return swaps, swap_idf, cover


@dataclass(frozen=True)
class QueryOverlap:
    """The query's side of :func:`overlap_features`, computed once per query."""

    words: dict[str, float]  # distinct content words -> idf
    weight: float  # their idf sum
    chars: frozenset[str]
    length: int

    @classmethod
    def of(cls, q_toks: Sequence[str], q_text: str, idf: Callable[[str], float]) -> QueryOverlap:
        words = {w: idf(w) for w in q_toks}
        return cls(words, sum(words.values()), frozenset(q_text), len(q_text))


def overlap_features(
    q: QueryOverlap, t_toks: Sequence[str], t_text: str, idf: Callable[[str], float], runs: tuple[int, int],
) -> tuple[float, float, float, float, float, float, float]:
    """``(word_qcov, word_tcov, char_qcov, char_tcov, lcs_ratio, bm25, longest_block)``: overlap judged
    both ways at the word and the character level, with no synonym or sound help, so the ranker can
    weigh exact wording against the matcher's looser coverage.  ``runs``: :func:`common_runs` of the
    query's and the title's texts."""
    t_set = set(t_toks)
    t_w = sum(idf(w) for w in t_set)
    hit = sum(w for word, w in q.words.items() if word in t_set)
    norm = BM25_K1 * (1.0 - BM25_B + BM25_B * len(t_text) / TYPICAL_TITLE_CHARS)
    t_chars = set(t_text)
    both = len(q.chars & t_chars)
    n_q = max(q.length, 1)
    lcs, block = runs
    return (
        hit / q.weight if q.weight > 0 else 0.0,
        hit / t_w if t_w > 0 else 0.0,
        both / max(len(q.chars), 1),
        both / max(len(t_chars), 1),
        lcs / n_q,
        hit * (BM25_K1 + 1.0) / (1.0 + norm),
        block / n_q,
    )


def common_runs(a: str, b: str) -> tuple[int, int]:
    """``(length of the longest common subsequence, longest equal run in that alignment)``: one
    alignment gives the LCS ratios and rapidfuzz's ``fuzz.ratio`` (``2 * lcs / (len(a) + len(b))``)."""
    lcs = block = 0
    for op in LCSseq.opcodes(a, b):
        if op.tag == "equal":
            n = op.src_end - op.src_start
            lcs += n
            block = max(block, n)
    return lcs, block
