"""Matching quality on human paraphrases and hard negatives (``bench/paraphrase_dev.tsv``).

    python bench/paraphrases.py                    # tune + held-out tables, matcher and BM25
    python bench/paraphrases.py --index /tmp/m.idx # cache the 180k index between runs (rebuilt if stale)
    python bench/paraphrases.py --show 20          # also list the worst positives / best-scoring negatives
    python bench/paraphrases.py --explain "query" ID   # per-term weights / matches against one archive title

``human``: a natural paraphrase of an archived title (other words and frame, usually shorter);
``hardneg``: an archived title with one key entity / number / time / attribute swapped (not in the archive).
About 40 % of the lines (by a hash of the query, ``_common.is_heldout``) are a held-out split that was
not looked at while tuning; both splits are reported.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

from _common import Bm25Baseline, cached_matcher, is_heldout, read_archive, read_paraphrases, table
from quality import HEAD, rank_metrics, tune

from bot.search.matcher import MatcherSettings

KINDS_P = ("human", "hardneg")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", help="cache file for the matcher index")
    ap.add_argument("--no-bm25", action="store_true")
    ap.add_argument("--show", type=int, default=0, help="list this many worst cases per kind (tune split)")
    ap.add_argument("--explain", nargs=2, metavar=("QUERY", "ID"))
    ap.add_argument("--answer-threshold", type=float)
    ap.add_argument("--margin", type=float)
    ap.add_argument("--rerank", type=int, help="shortlist reranked with rapidfuzz (MatcherSettings.rerank)")
    args = ap.parse_args()

    archive = read_archive()
    titles = dict(archive)
    kw = {}
    if args.answer_threshold is not None:
        kw["answer_threshold"] = args.answer_threshold
    if args.margin is not None:
        kw["margin"] = args.margin
    if args.rerank is not None:
        kw["rerank"] = args.rerank
    settings = MatcherSettings(**kw)
    t0 = time.perf_counter()
    m = cached_matcher(args.index, "paraphrases", archive, settings)
    print(f"matcher ready in {time.perf_counter() - t0:.1f} s, {m.settings}\n")
    if args.explain:
        q, key = args.explain
        print(m.explain(q, titles[key]))
        return

    queries = read_paraphrases()
    res = {"tune": defaultdict(list), "held-out": defaultdict(list)}
    records = []
    worst: dict[str, list] = defaultdict(list)
    for _line, q, target, kind in queries:
        d = m.decide(q, k=10)
        keys = [h.key for h in d.hits]
        top = d.hits[0].score if d.hits else 0.0
        gap = top - (d.hits[1].score if len(d.hits) > 1 else 0.0)
        split = "held-out" if is_heldout(q) else "tune"
        res[split][kind].append((target, keys, top, d.band))
        if split == "tune":
            records.append((kind, target, keys, top, gap))
            tscore = next((h.score for h in d.hits if h.key == target), 0.0)
            worst[kind].append((tscore if kind == "human" else -top, q, target, keys[:1], top, d.band.value))
    for split in ("tune", "held-out"):
        print(f"### Matcher, paraphrase set, {split} split\n")
        print(table(HEAD, rank_metrics(res[split], KINDS_P, neg_kind="hardneg")) + "\n")
    for target in (0.05, 0.10, 0.15):
        pos, thr, margin, neg = tune(records, target, 2.0, neg_kinds=("hardneg",))
        print(f"tune split, hardneg<={target:.2f}: threshold={thr} margin={margin} -> right {pos:.3f} neg {neg:.3f}")
    if args.show:
        for kind in KINDS_P:
            print(f"\n#### worst {kind} (tune split)")
            for tscore, q, target, top1, top, band in sorted(worst[kind])[: args.show]:
                t1 = titles.get(top1[0], "") if top1 else ""
                print(f"{abs(tscore):5.1f} {band:13s} top={top:5.1f} {q} | {titles.get(target, '-')[:40]}"
                      f" | top1: {'OK' if top1 == [target] else t1[:40]}")

    if not args.no_bm25:
        bm = Bm25Baseline(archive)
        resb = {"tune": defaultdict(list), "held-out": defaultdict(list)}
        for _line, q, target, kind in queries:
            keys, top = bm.search(q)
            resb["held-out" if is_heldout(q) else "tune"][kind].append((target, keys, top, None))
        for split in ("tune", "held-out"):
            print(f"\n### Baseline BM25, paraphrase set, {split} split\n")
            print(table(HEAD, rank_metrics(resb[split], KINDS_P, neg_kind="hardneg")))


if __name__ == "__main__":
    main()
