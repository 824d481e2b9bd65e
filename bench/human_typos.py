"""The held human-style lines with IME typos: what a pinyin keyboard does to a chat-style question.

    python bench/human_typos.py                       # held split, bm25s in the same run
    python bench/human_typos.py --cache /tmp/eval.idx --no-bm25
    python bench/human_typos.py --no-typos            # the same lines as typed (eval_human.py's, + the AUC)
    python bench/human_typos.py --bands 90,92,94      # also: right/wrong direct answers at other answer bands
    python bench/human_typos.py --split tune          # the tune lines (what rules are chosen on)
    python bench/human_typos.py --no-typos --short 14 # also: short titles (<= 14 characters) apart

Each held colloquial, hard-negative and edited-title line gets one IME typo (two in lines of 12+ CJK
characters): a character replaced by one of the eight most frequent characters of the same toneless pinyin
(``train_scorer.typo_rows``, seed 9; the scorer's training never sees a held line).  Archive and judging as
in ``eval_human.py``: archive_dev.tsv minus every ``exclude_id``; per kind R@1, right/wrong direct answers
(band ANSWER); for hard negatives every direct answer is wrong.  Also the separation AUC of the top score:
right colloquial tops vs hard negatives.  ``--bands`` shows what another ``answer_threshold`` would do (with
the margin at 0 an answer is a top score at or above the band; small-talk and topic replies never are).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from _common import Bm25Baseline, auc, cached_matcher, read_human_sets, table
from train_scorer import DEFAULT_DATA, typo_rows

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bot.models import Band


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--cache", help="saved matcher index (built and saved when missing)")
    ap.add_argument("--no-bm25", action="store_true")
    ap.add_argument("--no-typos", action="store_true", help="the lines as typed")
    ap.add_argument("--split", choices=("held", "tune"), default="held",
                    help="which lines (tune: what rules and thresholds are chosen on; the scorer was fitted on it)")
    ap.add_argument("--bands", default="", help="comma-separated answer bands to show besides the configured one")
    ap.add_argument("--short", type=int, default=0,
                    help="also report the lines whose target title has at most this many characters apart")
    args = ap.parse_args()

    items, human, edits = read_human_sets(args.data)
    chosen = [(q, t, k) for q, t, k, _n, sp in human if sp == args.split and k in ("colloquial", "hardneg")]
    chosen += [(q, t, k) for q, t, k, _e, sp in edits if sp == args.split]
    if args.no_typos:
        lines = [(row, row[2]) for row in chosen]
    else:
        lines = [(row, chosen[n][2]) for n, row in typo_rows(chosen, 1.0, seed=9)]

    t0 = time.time()
    m = cached_matcher(args.cache, "human_typos", items)
    print(f"matcher ready in {time.time() - t0:.1f} s ({len(items)} titles), {len(lines)} lines", file=sys.stderr)
    bm25 = None if args.no_bm25 else Bm25Baseline(items)
    stats: dict[str, list[float]] = {}
    right_tops: list[float] = []
    neg_tops: list[float] = []
    tops: list[tuple[str, bool, float]] = []  # (kind, top is right, top score as an answer could be)
    title_of = dict(items)
    by_length: dict[str, list[float]] = {}
    for (q, target, _k), kind in lines:
        d = m.decide(q)
        top = d.hits[0].key if d.hits else None
        score = d.hits[0].score if d.hits else 0.0
        counts = [stats.setdefault(kind, [0, 0, 0, 0, 0])]
        if args.short and kind != "hardneg":
            size = "short" if len(title_of.get(target, "")) <= args.short else "longer"
            counts.append(by_length.setdefault(f"{kind}, {size} titles", [0, 0, 0, 0, 0]))
        bm25_right = bm25 is not None and bm25.search(q, 1)[0][:1] == [target]
        for c in counts:
            c[0] += 1
            c[1] += top == target
            if d.band == Band.ANSWER:
                c[2 if top == target else 3] += 1
            c[4] += bm25_right
        answerable = d.band in (Band.ANSWER, Band.DID_YOU_MEAN, Band.NO_MATCH)
        tops.append((kind, top == target, score if answerable else -1.0))
        if kind == "colloquial" and top == target:
            right_tops.append(score)
        elif kind == "hardneg":
            neg_tops.append(score)
    out = []
    for kind in ("colloquial", "edit", "hardneg"):
        n, r1, right, wrong, b = stats[kind]
        neg = kind == "hardneg"
        out.append([kind, int(n), "-" if neg else r1 / n, "-" if neg or bm25 is None else b / n,
                    "-" if neg else right / n, wrong / n])
    head = f"kind ({args.split})" if args.no_typos else f"kind ({args.split}, IME typos)"
    print(table([head, "n", "R@1", "bm25s R@1", "right answer", "wrong answer"], out))
    print(f"\nAUC of the top score, right colloquial tops vs hard negatives: {auc(right_tops, neg_tops):.3f}")
    if args.short:
        rows = [[name, int(c[0]), c[1] / c[0], "-" if bm25 is None else c[4] / c[0], c[2] / c[0], c[3] / c[0]]
                for name, c in sorted(by_length.items())]
        print()
        print(table([f"by target title (short: <= {args.short} characters)", "n", "R@1", "bm25s R@1",
                     "right answer", "wrong answer"], rows))
    if args.bands:
        print()
        print(band_table(tops, [float(b) for b in args.bands.split(",")]))


def band_table(tops: list[tuple[str, bool, float]], bands: list[float]) -> str:
    """Right direct answers (colloquial, edits) and hard negatives answered at each answer band."""
    rows = []
    for band in bands:
        row: list[object] = [f"{band:g}"]
        for kind in ("colloquial", "edit", "hardneg"):
            mine = [(ok, s) for k, ok, s in tops if k == kind]
            hit = sum(s >= band and (ok or kind == "hardneg") for ok, s in mine)
            row.append(hit / max(len(mine), 1))
        rows.append(row)
    return table(["answer band", "colloquial right answer", "edit right answer", "hardneg answered"], rows)


if __name__ == "__main__":
    main()
