"""Train the learned confidence (bot/search/scorer_params.json) and choose its bands.

    python bench/train_scorer.py --jobs 2                # data from ../shared/data, writes the params file
    python bench/train_scorer.py --cache /tmp/m180.idx   # reuse a saved matcher between runs
    python bench/train_scorer.py --report-only           # out-of-fold figures, no file written

Training data (never a ``held`` line):
* the ``tune`` lines of queries_human.tsv (colloquial: the target is right; hardneg, offtopic: no
  candidate is right) and queries_edits.tsv (the archive without any ``exclude_id``, as eval_human.py);
* perturbations of archive titles, seeded: a title with a word or its question frame dropped (positive),
  a title with a number or its rarest word swapped for another (a hard negative: the original title is
  among the candidates and is wrong);
* IME typos of the tune lines, seeded: a character replaced by a common one of the same pinyin, as a
  pinyin keyboard offers it (``--typos`` of the lines, same label; a copy shares its line's fold);
* ``--clauses``: the first clause of titles of several clauses (positive: people type the start of a long
  question);
* every query again against a small archive (``--small`` random titles plus those the queries are about)
  and, for ``--tiny`` of them, against tiny archives of a few dozen titles (shortlists of one to a few
  candidates, as in an owner's first test); those copies teach the ranker only (``--tiny-in``).

The ranker also reads the shortlist features (``--shortlist``; scorer.SHORTLIST_FEATURES); the relevance and
confidence models read each candidate alone (docs/matcher.md says why).  The defaults write the shipped file.

Each query's candidates (``Matcher.candidates``, the rerank shortlist) become rows labelled 1 when the
candidate is the target.  Model: scikit-learn GradientBoostingClassifier, depth 3, exported as complete
trees (see bot/search/scorer.py).  Bands: chosen on out-of-fold predictions over the tune queries
(5 folds grouped by query) to maximise right direct answers with hard negatives and off-topic questions
answered at most ``--max-neg`` of the time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pickle
import random
import re
import sys
import time

import numpy as np
from _common import cached_matcher, read_human_sets

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bot.matcher import Matcher, MatcherSettings
from bot.search.features import FEATURES
from bot.search.scorer import RANK_FEATURES, confidence_features, confidence_rows, with_shortlist


def _default_data() -> str:
    """The nearest ``shared/data`` above this script (../shared/data from the project's root)."""
    d = os.path.dirname(os.path.abspath(__file__))
    while d != os.path.dirname(d):
        d = os.path.dirname(d)
        if os.path.isdir(os.path.join(d, "shared", "data")):
            return os.path.join(d, "shared", "data")
    return os.path.join("..", "shared", "data")


DEFAULT_DATA = _default_data()
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bot", "search", "scorer_params.json")
FRAMES = ("如何看待", "如何评价", "怎么看待", "怎样看待", "为什么", "怎么办", "有哪些", "是什么", "吗", "如何", "怎么")
_NUM_RE = re.compile(r"[0-9]+|[一二三四五六七八九十百]+")
_CLAUSE_RE = re.compile(r"[，,？?！!；;：:。]+")


def load(data: str) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]], set[str]]:
    """(archive items without the edits' exclude ids, tune rows ``(query, target, kind)``, the ids of
    the titles those rows are about: targets and the near titles of hard negatives)."""
    items, human, edits = read_human_sets(data)
    out = [(q, t, k) for q, t, k, _n, sp in human if sp == "tune" and k != "smalltalk"]
    out += [(q, t, k) for q, t, k, _e, sp in edits if sp == "tune"]
    about = {t for _q, t, _k in out} | {n for _q, _t, k, n, sp in human if sp == "tune" and k == "hardneg"}
    return items, out, about - {"-1"}


def perturb(items: list[tuple[str, str]], m: Matcher, n: int, seed: int = 7) -> list[tuple[str, str, str]]:
    """Seeded title perturbations: ``(query, target or "-1", kind)``."""
    rng = random.Random(seed)
    an = m._an
    out: list[tuple[str, str, str]] = []
    pool = rng.sample(items, min(len(items), 4 * n))
    donors = [an.analyze(t).content.split(" ") for _, t in rng.sample(items, 2000)]
    donor_words = [w for ws in donors for w in ws if len(w) >= 2]
    for key, title in pool:
        if len(out) >= n:
            break
        toks = an.analyze(title).content.split(" ")
        if len(toks) < 3:
            continue
        r = rng.random()
        if r < 0.4:  # positive: drop a word (not the rarest), or keep words and drop the frame
            idf = m._word_idfs(toks)
            rare = max(toks, key=lambda t: idf[t])
            drop = rng.choice([t for t in toks if t != rare] or toks)
            q = "".join(t for t in toks if t != drop) + rng.choice(["", "吗", "啊", "呢", "咋样", "怎么办"])
            out.append((q, key, "p_drop"))
        elif r < 0.7:  # hard negative: another number
            nums = _NUM_RE.findall(title)
            if not nums:
                continue
            old = rng.choice(nums)
            new = str(int(old) + rng.choice([-3, -2, -1, 1, 2, 5])) if old.isdigit() else rng.choice("二三五七九")
            if new == old or new.startswith("-"):
                continue
            out.append((title.replace(old, new, 1), "-1", "n_number"))
        else:  # hard negative: the rarest word swapped for a word of another title
            idf = m._word_idfs(toks)
            rare = max((t for t in toks if len(t) >= 2), key=lambda t: idf[t], default=None)
            if rare is None:
                continue
            new = rng.choice(donor_words)
            if new == rare or new in title:
                continue
            out.append((title.replace(rare, new, 1), "-1", "n_word"))
    return out


def clause_rows(items: list[tuple[str, str]], n: int, seed: int = 8) -> list[tuple[str, str, str]]:
    """Seeded positives ``(first clause, key, "p_clause")``: the first clause of a title of several, as people
    type the start of a long question (at least 4 characters, the rest of the title dropped)."""
    rng = random.Random(seed)
    out: list[tuple[str, str, str]] = []
    for key, title in rng.sample(items, min(len(items), 10 * n)):
        if len(out) >= n:
            break
        parts = [p for p in _CLAUSE_RE.split(title) if p.strip()]
        if len(parts) >= 2 and len(parts[0].strip()) >= 4:
            out.append((parts[0].strip(), key, "p_clause"))
    return out


def tiny_archives(
    items: list[tuple[str, str]], rows: list[tuple[str, str, str]], info: list, share: float,
    group: int = 12, others: int = 8, absent_share: float = 0.5, seed: int = 12,
) -> list[tuple[list[tuple[str, str]], list[int]]]:
    """Seeded tiny archives for a ``share`` of the rows: ``(titles, rows asked of them)``.  Each group of
    ``group`` rows gets an archive of their targets (each left out with ``absent_share``), the top candidate
    each had in the big archive (``info``: the near miss that makes a negative hard) and ``others`` random
    titles, a few dozen questions in all: shortlists of one to a few titles, as in an archive owner's first
    test."""
    rng = random.Random(seed)
    title_of = dict(items)
    picked = [n for n in range(len(rows)) if rng.random() < share]
    rng.shuffle(picked)
    out = []
    for a in range(0, len(picked), group):
        part = sorted(picked[a:a + group])
        keys = {rows[n][1] for n in part} | {info[n][2][0] for n in part if info[n][2]}
        # half the questions asked are not in the archive (as most of what people ask a tiny archive):
        # their targets left out, their near misses kept
        absent = {rows[n][1] for n in part if rng.random() < absent_share}
        keys = [k for k in sorted(keys - absent) if k in title_of]
        titles = [(k, title_of[k]) for k in keys] + rng.sample(items, others)
        out.append((list(dict(titles).items()), part))
    return out


def homophones(per_sound: int = 8) -> dict[str, list[str]]:
    """Toneless pinyin -> its most frequent characters (jieba's single-character counts), the first
    candidates a pinyin keyboard shows."""
    import jieba
    from pypinyin import Style, lazy_pinyin

    tok = jieba.Tokenizer()
    tok.initialize()
    chars = sorted(((f, w) for w, f in tok.FREQ.items() if len(w) == 1 and "\u4e00" <= w <= "\u9fff" and f > 0),
                   reverse=True)
    out: dict[str, list[str]] = {}
    for _f, ch in chars:
        group = out.setdefault(lazy_pinyin(ch, style=Style.NORMAL)[0], [])
        if len(group) < per_sound:
            group.append(ch)
    return out


def typo_rows(rows: list[tuple[str, str, str]], share: float, seed: int = 5) -> list[tuple[int, tuple[str, str, str]]]:
    """``(source line, (query with one or two IME typos, same target, "p_typo"/"n_typo"))`` for a seeded
    ``share`` of the lines."""
    from pypinyin import Style, lazy_pinyin

    rng = random.Random(seed)
    sounds = homophones()
    out: list[tuple[int, tuple[str, str, str]]] = []
    for n, (q, target, _kind) in enumerate(rows):
        if rng.random() >= share:
            continue
        chars = list(q)
        spots = [i for i, ch in enumerate(chars) if "\u4e00" <= ch <= "\u9fff"]
        rng.shuffle(spots)
        changed = 0
        for i in spots:
            alts = [c for c in sounds.get(lazy_pinyin(chars[i], style=Style.NORMAL)[0], ()) if c != chars[i]]
            if alts:
                chars[i] = rng.choice(alts)
                changed += 1
                if changed >= (2 if len(spots) >= 12 else 1):
                    break
        if changed:
            out.append((n, ("".join(chars), target, "p_typo" if target != "-1" else "n_typo")))
    return out


def keyword_rows(
    rows: list[tuple[str, str, str]], share: float, seed: int = 6, keep: float = 0.85,
) -> list[tuple[int, tuple[str, str, str]]]:
    """``(source line, (its words as bare keywords, same target, "p_kw"/"n_kw"))`` for a seeded ``share`` of
    the lines: jieba's words without punctuation or question frames, each kept with probability ``keep``,
    half the time shuffled, joined by spaces (how people type a search)."""
    import jieba

    from bot.search.analysis import BOILERPLATE

    tok = jieba.Tokenizer()
    tok.initialize()
    rng = random.Random(seed)
    out: list[tuple[int, tuple[str, str, str]]] = []
    for n, (q, target, _kind) in enumerate(rows):
        if rng.random() >= share:
            continue
        words = [w for w in tok.lcut(re.sub(r"[^\w]+", " ", q)) if w.strip() and w not in BOILERPLATE]
        if len(words) < 2:
            continue
        kept = [w for w in words if rng.random() < keep] or words
        if rng.random() < 0.5:
            rng.shuffle(kept)
        out.append((n, (" ".join(kept), target, "p_kw" if target != "-1" else "n_kw")))
    return out


def featurize(m: Matcher, rows: list[tuple[str, str, str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Rows -> (X, y, query index per row, per-query info ``(kind, target, keys)``)."""
    xs, ys, qi, info = [], [], [], []
    st = m._smalltalk
    for n, (q, target, kind) in enumerate(rows):
        cands = m.candidates(st.strip_politeness(q))
        keys = [m._data.key_at(c.kidx) for c in cands]
        info.append((kind, target, keys))
        for c, key in zip(cands, keys, strict=True):
            xs.append(c.features)
            ys.append(1 if key == target else 0)
            qi.append(n)
    return np.array(xs, dtype=np.float64), np.array(ys), np.array(qi), info


def featurize_archives(
    m: Matcher, items: list[tuple[str, str]], rows: list[tuple[str, str, str]], source: list[int],
    about: set[str], settings: MatcherSettings, small: int, tiny: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list, list[int]]:
    """:func:`featurize` of ``rows`` on the big archive ``m``, then again on a small archive (``small``
    random titles plus those the rows are about: the model also knows archives of a few thousand
    questions) and, for a share ``tiny`` of them, on tiny archives (:func:`tiny_archives`); plus, per query,
    the line whose fold it shares (``source`` of its row)."""
    xs, ys, qis, info, src = [], [], [], [], []

    def ask(matcher: Matcher, asked: list[int], suffix: str) -> None:
        x, y, qi, got = featurize(matcher, [rows[n] for n in asked])
        xs.append(x.reshape(-1, len(FEATURES)))
        ys.append(y)
        qis.append(qi + len(info))
        info.extend((f"{k}{suffix}", t, keys) for k, t, keys in got)
        src.extend(source[n] for n in asked)

    everyone = list(range(len(rows)))
    ask(m, everyone, "")
    big_info = list(info)
    if small:
        rng = random.Random(11)
        keep = about | {t for _q, t, _k in rows}
        titles = [it for it in items if it[0] in keep]
        titles += rng.sample([it for it in items if it[0] not in keep], small)
        ask(Matcher.from_titles(titles, settings=settings), everyone, "@small")
    if tiny:
        for titles, asked in tiny_archives(items, rows, big_info, tiny):
            ask(Matcher.from_titles(titles, settings=settings), asked, "@tiny")
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(qis), info, src


def query_starts(qi: np.ndarray, n_queries: int) -> np.ndarray:
    """Where each query's candidate rows start (rows grouped by query, in order), and the end: n_queries + 1."""
    return np.searchsorted(qi, np.arange(n_queries + 1))


def per_shortlist(x: np.ndarray, qi: np.ndarray, n_queries: int) -> np.ndarray:
    """The rows with the shortlist features of their query's candidates (rows grouped by query, in order)."""
    starts = query_starts(qi, n_queries).tolist()
    parts = [with_shortlist(x[a:b]) for a, b in itertools.pairwise(starts) if b > a]
    return np.vstack(parts) if parts else np.zeros((0, len(RANK_FEATURES)))


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, args: argparse.Namespace):
    from sklearn.ensemble import GradientBoostingClassifier

    gb = GradientBoostingClassifier(
        n_estimators=args.trees, max_depth=args.depth, learning_rate=args.lr, subsample=0.8,
        min_samples_leaf=20, random_state=0,
    )
    gb.fit(x.astype(np.float32), y, sample_weight=w)
    return gb


def fit_all(tasks: list[tuple[np.ndarray, np.ndarray, np.ndarray, argparse.Namespace]], jobs: int) -> list:
    """:func:`fit` of each ``(x, y, w, args)``, in ``jobs`` processes: the same models as one by one (every
    fit is seeded), in about ``1 / jobs`` of the time."""
    if jobs <= 1:
        return [fit(*task) for task in tasks]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=jobs)(delayed(fit)(*task) for task in tasks)


def export(gb, depth: int) -> dict:
    """Complete trees of ``depth``: splits breadth first, node values (inner: weighted leaf means)."""
    trees = []
    n_inner = 2**depth - 1
    for est in gb.estimators_[:, 0]:
        t = est.tree_
        feat = [0] * n_inner
        thr = [0.0] * n_inner
        val = [0.0] * (2 * n_inner + 1)
        weight = [0.0] * (2 * n_inner + 1)

        def walk(src: int, dst: int, level: int, live: bool, t=t, feat=feat, thr=thr, val=val,
                 weight=weight) -> None:
            leaf = t.children_left[src] == -1
            if level == depth:
                val[dst] = float(t.value[src].ravel()[0])
                weight[dst] = float(t.weighted_n_node_samples[src]) if live else 0.0
                return
            if leaf:  # pad: always go left, both children carry this leaf (the right one weightless)
                feat[dst], thr[dst] = 0, float("inf")
                walk(src, 2 * dst + 1, level + 1, live)
                walk(src, 2 * dst + 2, level + 1, False)
            else:
                feat[dst], thr[dst] = int(t.feature[src]), float(t.threshold[src])
                walk(int(t.children_left[src]), 2 * dst + 1, level + 1, live)
                walk(int(t.children_right[src]), 2 * dst + 2, level + 1, live)

        walk(0, 0, 0, True)
        for node in range(n_inner - 1, -1, -1):  # inner values: weighted means of the children
            a, b = 2 * node + 1, 2 * node + 2
            weight[node] = weight[a] + weight[b]
            val[node] = (val[a] * weight[a] + val[b] * weight[b]) / weight[node] if weight[node] else val[a]
        trees.append({
            "feature": feat,
            "threshold": [round(v, 6) if v != float("inf") else 1e30 for v in thr],
            "value": [round(v, 6) for v in val],
        })
    base = float(gb.init_.class_prior_[1])
    return {"base": round(float(np.log(base / (1 - base))), 6), "trees": trees}


def stage2(x: np.ndarray, y: np.ndarray, qi: np.ndarray, p: np.ndarray, r: np.ndarray, n_queries: int):
    """Per query with candidates: its index, the confidence rows of its candidates in ranker order
    (``p``; row 0: the top) with their relevance ``r``, and whether the top is right."""
    out = []
    starts = query_starts(qi, n_queries)
    for n in range(n_queries):
        a, b = starts[n], starts[n + 1]
        if a == b:
            continue
        order = np.lexsort((np.arange(b - a), -p[a:b]))
        out.append((n, confidence_rows(x[a:b][order], r[a:b][order]), bool(y[a:b][order[0]])))
    return out


def decisions(top_conf: np.ndarray, second_conf: np.ndarray, right: np.ndarray, qn: np.ndarray,
              n_queries: int) -> list[tuple[float, float, bool]]:
    """Per query: (top confidence, runner-up confidence, top is right), 0..100."""
    out = [(0.0, 0.0, False)] * n_queries
    for c1, c2, r, n in zip(top_conf.tolist(), second_conf.tolist(), right.tolist(), qn.tolist(), strict=True):
        out[n] = (100 * c1, 100 * min(c1, c2), bool(r))
    return out


def report(dec: list, info: list, answer: float, margin: float, suggest: float) -> dict[str, dict[str, float]]:
    per: dict[str, dict[str, float]] = {}
    for (top, second, right), (kind, _t, _k) in zip(dec, info, strict=True):
        c = per.setdefault(kind, {"n": 0, "r1": 0, "right": 0, "wrong": 0, "dym": 0})
        c["n"] += 1
        c["r1"] += right
        if top >= answer and top - second >= margin:
            c["right" if right else "wrong"] += 1
        elif top >= suggest:
            c["dym"] += 1
    return {k: {x: (v / c["n"] if x != "n" else v) for x, v in c.items()} for k, c in per.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--cache", help="saved matcher index (built and saved when missing)")
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--trees", type=int, default=200)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--perturb", type=int, default=3000, help="perturbed titles")
    ap.add_argument("--typos", type=float, default=0.0,
                    help="share of the tune lines also trained with IME typos (0.5 was tried: see docs/matcher.md)")
    ap.add_argument("--keywords", type=float, default=0.5, help="share of the tune lines also trained as bare keywords")
    ap.add_argument("--small", type=int, default=3000, help="random titles of the small archive (0: none)")
    ap.add_argument("--clauses", type=int, default=2500, help="first clauses of titles (positives)")
    ap.add_argument("--tiny", type=float, default=0.25,
                    help="share of the queries also asked of tiny archives (a few dozen titles each)")
    ap.add_argument("--tiny-in", choices=("ranker", "all"), default="ranker",
                    help="the models the tiny archives' copies teach: the ranker only, or all three")
    ap.add_argument("--conf-trees", type=int, default=100, help="trees of the confidence model")
    ap.add_argument("--conf-lr", type=float, default=0.05)
    ap.add_argument("--max-neg", type=float, default=0.04,
                    help="hard negatives answered at most (tune, out of fold; below the 8%% target: held-out margin)")
    ap.add_argument("--max-offtopic", type=float, default=0.02, help="off-topic answered at most (tune)")
    ap.add_argument("--shortlist", nargs="?", const="all", default="ranker", choices=("none", "ranker", "all"),
                    help="the shortlist features (scorer.SHORTLIST_FEATURES) in no model, the ranker, or every model"
                         " (all: tried, not shipped: docs/matcher.md)")
    ap.add_argument("--jobs", type=int, default=1, help="processes fitting models at once (same models)")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--features", help="pickle of the computed features (reused when present)")
    args = ap.parse_args()

    items, rows, about = load(args.data)
    settings = MatcherSettings(learned_scorer=False)
    t0 = time.time()
    m = cached_matcher(args.cache, "train", items, settings)
    print(f"matcher ready in {time.time() - t0:.1f} s ({len(items)} titles)", file=sys.stderr)
    typos = typo_rows(rows, args.typos) if args.typos > 0 else []
    typos += keyword_rows(rows, args.keywords) if args.keywords > 0 else []
    rows_big = rows + perturb(items, m, args.perturb) + (clause_rows(items, args.clauses) if args.clauses else [])
    source = list(range(len(rows_big))) + [n for n, _row in typos]  # a copy shares its line's fold
    rows_big += [row for _n, row in typos]
    t0 = time.time()
    if args.features and os.path.exists(args.features):
        with open(args.features, "rb") as f:
            saved = pickle.load(f)
        x, y, qi, info = saved[:4]
        # per query, the line whose fold it shares (a file from before the tiny archives: its line's copies)
        src = saved[4] if len(saved) > 4 else [source[n % len(source)] for n in range(len(info))]
    else:
        x, y, qi, info, src = featurize_archives(m, items, rows_big, source, about, settings, args.small, args.tiny)
        if args.features:
            with open(args.features, "wb") as f:
                pickle.dump((x, y, qi, info, src), f)
    rows_all = info  # one entry per query (every archive)
    # the ranker's input (xr) and the relevance and confidence models' (x): with the shortlist features
    # for "all", for the ranker only with "ranker"
    rank_names = RANK_FEATURES if args.shortlist != "none" else FEATURES
    names = RANK_FEATURES if args.shortlist == "all" else FEATURES
    xr = per_shortlist(x, qi, len(rows_all)) if args.shortlist != "none" else x
    x = xr if args.shortlist == "all" else x
    print(f"{len(rows_all)} queries, {x.shape[0]} candidate rows in {time.time() - t0:.1f} s", file=sys.stderr)
    # weights: every query counts the same, real tune queries twice a perturbation
    counts = np.bincount(qi, minlength=len(rows_all)).astype(np.float64)
    real = np.array([0 if info[n][0].startswith(("p_", "n_")) else 1 for n in range(len(rows_all))])
    big = np.array([0 if "@" in info[n][0] else 1 for n in range(len(rows_all))])
    w = (1.0 + real[qi]) / np.maximum(counts[qi], 1.0) * 10.0

    # stage 1, the ranker: out-of-fold probabilities (5 folds grouped by query) feed stage 2
    # a query and its copies (typos, keywords, the small and tiny archives) share a fold
    fold_of = np.random.default_rng(0).integers(0, 5, size=int(big.sum()))[np.array(src)]
    # the ranker learns from the queries whose shortlist holds the right title (the others have nothing to
    # order); the relevance model from every query (hard negatives teach it what a near miss looks like)
    ranked = (np.bincount(qi, weights=y, minlength=len(rows_all)) > 0)[qi]
    # the queries the relevance and confidence models learn from: all, or all but the tiny archives' copies
    # (--tiny-in ranker: whether the best of a tiny shortlist is right depends on how many of the asked
    # questions the tiny archive holds, a prior the data does not give; docs/matcher.md)
    screened = np.array([args.tiny_in == "all" or "@tiny" not in kind for kind, _t, _k in info])
    screen = screened[qi]
    p_oof, r_oof = np.zeros(x.shape[0]), np.zeros(x.shape[0])
    tasks = []
    for f in range(5):
        tr = fold_of[qi] != f
        tasks += [(xr[tr & ranked], y[tr & ranked], w[tr & ranked], args),
                  (x[tr & screen], y[tr & screen], w[tr & screen], args)]
    models = fit_all(tasks, args.jobs)
    for f in range(5):
        te = fold_of[qi] == f
        p_oof[te] = models[2 * f].predict_proba(xr[te].astype(np.float32))[:, 1]
        r_oof[te] = models[2 * f + 1].predict_proba(x[te].astype(np.float32))[:, 1]
    # stage 2, the confidence: one row per query (its top), trained on out-of-fold ranker/relevance outputs
    s2 = [q for q in stage2(x, y, qi, p_oof, r_oof, len(rows_all)) if screened[q[0]]]
    qn = np.array([n for n, _r, _y in s2])
    x2 = np.array([r[0] for _n, r, _y in s2])
    x2b = np.array([r[1] if r.shape[0] > 1 else r[0] * 0 for _n, r, _y in s2])  # the runner-up, as if top
    y2 = np.array([int(yy) for _n, _r, yy in s2])
    w2 = np.where(real[qn] == 1, 2.0, 1.0)
    args2 = argparse.Namespace(trees=args.conf_trees, depth=args.depth, lr=args.conf_lr)
    c1, c2 = np.zeros(len(qn)), np.zeros(len(qn))
    fold2 = fold_of[qn]
    models = fit_all([(x2[fold2 != f], y2[fold2 != f], w2[fold2 != f], args2) for f in range(5)], args.jobs)
    for f, model in enumerate(models):
        te = fold2 == f
        c1[te] = model.predict_proba(x2[te].astype(np.float32))[:, 1]
        c2[te] = model.predict_proba(x2b[te].astype(np.float32))[:, 1]
    dec = decisions(c1, c2, y2, qn, len(rows_all))
    real_idx = [n for n in range(len(rows_all)) if real[n] and big[n]]  # bands: as judged, big archive
    dec_r = [dec[n] for n in real_idx]
    info_r = [info[n] for n in real_idx]
    best = None
    for answer in np.arange(30, 99, 1.0):
        for margin in (0.0, 5.0, 10.0, 20.0):
            rep = report(dec_r, info_r, answer, margin, 0.0)
            if (rep["hardneg"]["right"] + rep["hardneg"]["wrong"] > args.max_neg
                    or rep["offtopic"]["right"] + rep["offtopic"]["wrong"] > args.max_offtopic):
                continue
            gain = rep["colloquial"]["right"] + rep["edit"]["right"] - 2 * (
                rep["colloquial"]["wrong"] + rep["edit"]["wrong"])
            if best is None or gain > best[0]:
                best = (gain, float(answer), margin)
    assert best is not None
    _, answer, margin = best
    suggest = 0.0
    full = 0.0
    for s in np.arange(1, answer, 1.0):  # highest suggest threshold keeping 95% of reachable right tops
        rep = report(dec_r, info_r, answer, margin, float(s))
        reach = sum(rep[k]["right"] + rep[k]["dym"] * rep[k]["r1"] for k in ("colloquial", "edit"))
        full = full or reach
        if reach >= 0.95 * full:
            suggest = float(s)
    rep = report(dec_r, info_r, answer, margin, suggest)
    print(f"bands (out-of-fold on tune): answer {answer} margin {margin} suggest {suggest}")
    for kind, c in sorted(rep.items()):
        print(f"  {kind:10s} n={int(c['n']):5d} R@1 {c['r1']:.3f} right {c['right']:.3f} wrong {c['wrong']:.3f}"
              f" dym {c['dym']:.3f}")
    if args.report_only:
        return
    ranker, relevance, confidence = fit_all(
        [(xr[ranked], y[ranked], w[ranked], args), (x[screen], y[screen], w[screen], args), (x2, y2, w2, args2)],
        args.jobs)
    params = {
        "bands": {"answer": answer, "margin": margin, "suggest": suggest},
        "meta": {"trained_on": "tune splits of queries_human.tsv/queries_edits.tsv + perturbed titles",
                 "queries": len(rows_all), "rows": int(x.shape[0]), "seed": 7},
        "ranker": {"features": list(rank_names), "depth": args.depth, "learning_rate": args.lr,
                   **export(ranker, args.depth)},
        "relevance": {"features": list(names), "depth": args.depth, "learning_rate": args.lr,
                      **export(relevance, args.depth)},
        "confidence": {"features": list(confidence_features(names)), "depth": args.depth,
                       "learning_rate": args.conf_lr, **export(confidence, args.depth)},
    }
    with open(args.out, "w", encoding="utf-8") as f:  # one tree per line: reviewable diffs
        f.write("{\n")
        f.write(f' "bands": {json.dumps(params["bands"])},\n')
        f.write(f' "meta": {json.dumps(params["meta"], ensure_ascii=False)},\n')
        for n, name in enumerate(("ranker", "relevance", "confidence")):
            model = dict(params[name])
            trees = model.pop("trees")
            head = json.dumps(model, ensure_ascii=False)[:-1]
            f.write(f' "{name}": {head}, "trees": [\n')
            f.write(",\n".join("  " + json.dumps(t, separators=(",", ":")) for t in trees))
            f.write("\n ]}" + (",\n" if n < 2 else "\n"))
        f.write("}\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
