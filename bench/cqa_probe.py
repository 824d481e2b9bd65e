"""Short questions in the style of a community-QA site, among the Zhihu titles (``bench/cqa_probe.tsv``).

    python bench/cqa_probe.py                          # held split: as typed, Traditional, IME typos, keywords
    python bench/cqa_probe.py --split tune             # the lines rules may be chosen on
    python bench/cqa_probe.py --cache /tmp/cqa.idx --no-bm25 --show   # reuse the index; list every line

``cqa_probe.tsv`` was written by the maintainers as a stand-in for the held-out paraphrase set this bot is
also judged on (same-intent question pairs from a community-QA site, which we do not see): 140 pairs of a
short archived question and a person's rewording of it (苹果手机怎么截图 / iphone怎么截屏, 晚上睡不着觉怎么办 /
晚上失眠怎么办), and 64 hard negatives, each the same short question about another thing (华为手机怎么截图),
split ``tune``/``held`` by title.  The archive is ``archive_dev.tsv`` (180,416 Zhihu titles) plus the 140
titles, so each question competes with the long Zhihu titles that share its words.

Each line is asked four ways: as written, in Traditional characters with Taiwan phrases (OpenCC s2twp), with
one IME typo (``train_scorer.typo_rows``, seed 9) and as bare keywords (``train_scorer.keyword_rows``, seed 6;
a hard negative keeps all its words: the one dropped could be what makes it another question).  Per way: R@1
(bm25s over jieba words after OpenCC t2s beside it), R@3 (the title among the three hits a reply shows), right
and wrong direct answers (band ANSWER), hard negatives answered directly, and the AUC of the top score: right
tops against hard-negative tops.  A probe, not a training set: the scorer never saw a line of it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from _common import Bm25Baseline, auc, cached_matcher, read_archive, read_tsv, table
from train_scorer import DEFAULT_DATA, keyword_rows, typo_rows

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bot.models import Band

HERE = os.path.dirname(os.path.abspath(__file__))


def probe_lines(split: str) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """``(probe titles as (id, title), lines as (query, title id, kind))`` of one split."""
    rows = read_tsv(HERE, "cqa_probe.tsv")[1:]
    ids: dict[str, str] = {}
    for _q, title, _kind, _sp in rows:
        ids.setdefault(title, f"cqa:{len(ids)}")
    lines = [(q, ids[title], kind) for q, title, kind, sp in rows if sp == split]
    return [(i, t) for t, i in ids.items()], lines


def variants(lines: list[tuple[str, str, str]]) -> dict[str, list[tuple[str, str, str]]]:
    """The lines asked each way: as written, in Traditional, with an IME typo, as keywords (a way may leave
    out a line it cannot change)."""
    import opencc

    s2twp = opencc.OpenCC("s2twp")
    negs = [line for line in lines if line[2] == "hardneg"]
    return {
        "as written": lines,
        "Traditional": [(s2twp.convert(q), t, k) for q, t, k in lines],
        "IME typo": [(q, t, lines[n][2]) for n, (q, t, _k) in typo_rows(lines, 1.0, seed=9)],
        "keywords": [(q, t, lines[n][2]) for n, (q, t, _k) in keyword_rows(lines, 1.0, seed=6)
                     if lines[n][2] != "hardneg"]
        + [(q, t, "hardneg") for _n, (q, t, _k) in keyword_rows(negs, 1.0, seed=6, keep=1.0)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA, help="directory with archive_dev.tsv")
    ap.add_argument("--split", choices=("held", "tune"), default="held")
    ap.add_argument("--cache", help="saved matcher index (built and saved when missing)")
    ap.add_argument("--no-bm25", action="store_true")
    ap.add_argument("--show", action="store_true", help="list every line: band, top score, right or not, top title")
    args = ap.parse_args()

    archive_file = os.path.join(args.data, "archive_dev.tsv")
    if not os.path.exists(archive_file):
        sys.exit(f"{archive_file} not found: this probe needs the Zhihu titles around it (--data DIR)")
    probe_titles, lines = probe_lines(args.split)
    items = read_archive(archive_file) + probe_titles
    t0 = time.time()
    m = cached_matcher(args.cache, "cqa_probe", items)
    print(f"matcher ready in {time.time() - t0:.1f} s ({len(items)} titles)", file=sys.stderr)
    bm25 = None if args.no_bm25 else Bm25Baseline(items)
    title_of = dict(items)
    out = []
    for way, asked in variants(lines).items():
        pos = [0, 0, 0, 0, 0, 0]  # n, R@1, R@3, right answer, wrong answer, bm25s R@1
        neg = [0, 0]  # n, answered
        right_tops: list[float] = []
        neg_tops: list[float] = []
        for q, target, kind in asked:
            d = m.decide(q)
            keys = [h.key for h in d.hits]
            score = d.hits[0].score if d.hits and d.band != Band.SMALLTALK else 0.0
            answered = d.band == Band.ANSWER
            if args.show:
                top = title_of.get(keys[0], "") if keys else ""
                mark = "R" if keys[:1] == [target] else "-"
                print(f"{way:11s} {kind:7s} {d.band.value:12s} {score:5.1f} {mark} {q} -> {top}")
            if kind == "hardneg":
                neg[0] += 1
                neg[1] += answered
                neg_tops.append(score)
                continue
            pos[0] += 1
            pos[1] += keys[:1] == [target]
            pos[2] += target in keys[:3]
            pos[3] += answered and keys[:1] == [target]
            pos[4] += answered and keys[:1] != [target]
            pos[5] += bm25 is not None and bm25.search(q, 1)[0][:1] == [target]
            if keys[:1] == [target]:
                right_tops.append(score)
        n = max(pos[0], 1)
        out.append([way, pos[0], pos[1] / n, "-" if bm25 is None else pos[5] / n, pos[2] / n, pos[3] / n,
                    pos[4] / n, neg[0], neg[1] / max(neg[0], 1), auc(right_tops, neg_tops)])
    print(table([f"asked ({args.split})", "pairs", "R@1", "bm25s R@1", "R@3", "right answer", "wrong answer",
                 "hard negatives", "answered", "AUC"], out))


if __name__ == "__main__":
    main()
