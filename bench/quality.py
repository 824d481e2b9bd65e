"""Matching quality on the dev queries: the Matcher vs BM25 (bm25s over jieba words) vs a rapidfuzz scan.

    python bench/quality.py                      # full run, prints Markdown tables
    python bench/quality.py --per-kind 200 --fuzz-sample 20 --no-bm25   # quick run
    python bench/quality.py --tune               # also grid-search thresholds on odd lines

Thresholds are tuned on odd query lines only; the "held-out" tables use even lines.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict

from _common import KINDS, Bm25Baseline, auc, read_archive, read_queries, table

from bot.models import Band
from bot.search.matcher import Matcher


def rank_metrics(results: dict[str, list], kinds=KINDS, neg_kind: str = "neg") -> list[list[object]]:
    """results[kind] = list of (target, ranked_keys, top_score, band) -> one row per kind."""
    rows = []
    pos_top, neg_top = [], []
    for kind in kinds:
        rs = results.get(kind, [])
        if not rs:
            continue
        if kind == neg_kind:
            neg_top += [r[2] for r in rs]
            ans = [r[3] == Band.ANSWER for r in rs if r[3] is not None]
            rows.append([kind, len(rs), "-", "-", "-", "-", sum(ans) / len(ans) if ans else "-"])
            continue
        r1 = sum(1 for t, keys, *_ in rs if keys[:1] == [t]) / len(rs)
        r3 = sum(1 for t, keys, *_ in rs if t in keys[:3]) / len(rs)
        mrr = sum(1.0 / (keys.index(t) + 1) for t, keys, *_ in rs if t in keys[:10]) / len(rs)
        right = [r[3] == Band.ANSWER and r[1][:1] == [r[0]] for r in rs if r[3] is not None]
        pos_top += [r[2] for r in rs if r[1][:1] == [r[0]]]
        rows.append([kind, len(rs), r1, r3, mrr, sum(right) / len(right) if right else "-", "-"])
    pos = [r for k in kinds if k != neg_kind for r in results.get(k, [])]
    if pos:
        allrow = [
            "all positives",
            len(pos),
            sum(1 for t, keys, *_ in pos if keys[:1] == [t]) / len(pos),
            sum(1 for t, keys, *_ in pos if t in keys[:3]) / len(pos),
            sum(1.0 / (keys.index(t) + 1) for t, keys, *_ in pos if t in keys[:10]) / len(pos),
        ]
        right = [r[3] == Band.ANSWER and r[1][:1] == [r[0]] for r in pos if r[3] is not None]
        allrow += [sum(right) / len(right) if right else "-", f"AUC {auc(pos_top, neg_top):.3f}"]
        rows.append(allrow)
    return rows


HEAD = ["kind", "n", "R@1", "R@3", "MRR@10", "right ANSWER", "neg ANSWER / AUC"]


def tune(
    records, target_neg: float, min_margin: float = 2.0, neg_kinds=("neg",)
) -> tuple[float, float, float, float]:
    """Grid search (answer_threshold, margin) on the given records maximising right-ANSWER share of
    positives subject to the neg ANSWER share <= target_neg."""
    best = (-1.0, 0.0, 0.0, 0.0)
    negs = [(top, gap) for kind, t, keys, top, gap in records if kind in neg_kinds]
    poss = [(top, gap, keys[:1] == [t]) for kind, t, keys, top, gap in records if kind not in neg_kinds]
    for thr in [x / 2 for x in range(60, 200)]:
        for margin in [x for x in (0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15) if x >= min_margin]:
            neg = sum(1 for top, gap in negs if top >= thr and gap >= margin) / max(len(negs), 1)
            if neg > target_neg:
                continue
            pos = sum(1 for top, gap, ok in poss if ok and top >= thr and gap >= margin) / max(len(poss), 1)
            if pos > best[0] + 1e-9:
                best = (pos, thr, float(margin), neg)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-kind", type=int, default=1000, help="queries per kind (default all 1000)")
    ap.add_argument(
        "--fuzz-sample", type=int, default=30, help="queries per kind for the rapidfuzz scan (0: skip)"
    )
    ap.add_argument("--no-bm25", action="store_true")
    ap.add_argument("--tune", action="store_true", help="grid-search thresholds on odd lines")
    ap.add_argument("--min-margin", type=float, default=2.0, help="smallest margin the tuner may pick")
    ap.add_argument("--target-neg", type=float, default=0.10, help="neg ANSWER share allowed when tuning")
    args = ap.parse_args()

    archive = read_archive()
    queries = read_queries()
    per_kind: dict[str, int] = defaultdict(int)
    sel = []
    for q in queries:
        if per_kind[q[3]] < args.per_kind:
            per_kind[q[3]] += 1
            sel.append(q)
    print(f"archive: {len(archive)} titles, queries: {len(sel)}\n")

    t0 = time.perf_counter()
    m = Matcher.from_titles(archive)
    print(f"matcher build: {time.perf_counter() - t0:.1f} s, settings: {m.settings}\n")

    res_all: dict[str, list] = defaultdict(list)
    res_even: dict[str, list] = defaultdict(list)
    records = []
    t0 = time.perf_counter()
    for line, q, target, kind in sel:
        d = m.decide(q, k=10)
        keys = [h.key for h in d.hits]
        top = d.hits[0].score if d.hits else 0.0
        gap = top - (d.hits[1].score if len(d.hits) > 1 else 0.0)
        r = (target, keys, top, d.band)
        res_all[kind].append(r)
        if line % 2 == 0:
            res_even[kind].append(r)
        else:
            records.append((kind, target, keys, top, gap))
    dt = time.perf_counter() - t0
    print(f"matcher: {len(sel)} queries in {dt:.1f} s ({1000 * dt / max(len(sel), 1):.2f} ms/query)\n")
    print("### Matcher, held-out half (even lines; thresholds were tuned on odd lines)\n")
    print(table(HEAD, rank_metrics(res_even)) + "\n")
    print("### Matcher, all dev queries\n")
    print(table(HEAD, rank_metrics(res_all)) + "\n")

    if args.tune:
        for target in (0.05, args.target_neg, 0.15, 0.20):
            pos, thr, margin, neg = tune(records, target, args.min_margin)
            print(
                f"tune (odd lines) neg<={target:.2f}: answer_threshold={thr} margin={margin} -> "
                f"right ANSWER {pos:.3f}, neg ANSWER {neg:.3f}"
            )
        negs = sorted(top for kind, _t, _k, top, _g in records if kind == "neg")
        if negs:
            print(
                f"neg top-1 score quantiles (odd lines): 50% {negs[len(negs) // 2]:.1f}, "
                f"75% {negs[3 * len(negs) // 4]:.1f}, 90% {negs[9 * len(negs) // 10]:.1f}\n"
            )

    if not args.no_bm25:
        t0 = time.perf_counter()
        bm = Bm25Baseline(archive)
        print(f"bm25s build: {time.perf_counter() - t0:.1f} s")
        res_b: dict[str, list] = defaultdict(list)
        for _line, q, target, kind in sel:
            keys, top = bm.search(q)
            res_b[kind].append((target, keys, top, None))
        print("\n### Baseline: BM25 (bm25s over jieba words), same queries\n")
        print(table(HEAD, rank_metrics(res_b)) + "\n")

    if args.fuzz_sample > 0:
        from rapidfuzz import fuzz, process

        titles = [t for _, t in archive]
        rng = random.Random(7)
        res_f: dict[str, list] = defaultdict(list)
        t0 = time.perf_counter()
        for kind in KINDS:
            ks = [x for x in sel if x[3] == kind]
            for _line, q, target, _k in rng.sample(ks, min(args.fuzz_sample, len(ks))):
                hits = process.extract(q, titles, scorer=fuzz.WRatio, limit=10)
                res_f[kind].append(
                    (target, [archive[i][0] for _t, _s, i in hits], hits[0][1] if hits else 0.0, None)
                )
        n = sum(len(v) for v in res_f.values())
        print(
            f"\n### Baseline: rapidfuzz WRatio full scan, {args.fuzz_sample} queries per kind "
            f"({1000 * (time.perf_counter() - t0) / max(n, 1):.0f} ms/query)\n"
        )
        print(table(HEAD, rank_metrics(res_f)) + "\n")


if __name__ == "__main__":
    main()
