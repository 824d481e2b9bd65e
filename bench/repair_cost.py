"""What the IME typo repair (docs/matcher.md, step 5a) costs per query: ``decide()`` with the repair and with
it switched off, taking turns per query in one process (the machine's drift hits both alike).

    python bench/repair_cost.py                    # 180,416 dev titles, 500 dev queries, core 1
    python bench/repair_cost.py --size 1000000     # titles reused with a numbered suffix past 180,416

Each way: three passes over the queries after 50 warm-up ones; the way that goes first alternates per query
and per pass (the second call of a query finds the memos the first one filled, so each way goes first as
often); medians and p95 of the calls, and their ratio.  The index is built once and kept at ``--cache``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

from _common import read_archive, read_queries, scale_titles

from bot.search.matcher import Matcher


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=180416)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--core", type=int, default=1)
    ap.add_argument("--cache", help="saved index (default: /tmp/repair-cost-SIZE.idx)")
    args = ap.parse_args()
    os.sched_setaffinity(0, {args.core})
    path = args.cache or f"/tmp/repair-cost-{args.size}.idx"
    m = Matcher.load(path, "repair-cost")
    if m is None:
        Matcher.from_titles(scale_titles(read_archive(), args.size)).save(path, "repair-cost")
        m = Matcher.load(path, "repair-cost")
        assert m is not None
    queries = random.Random(3).sample([q for _l, q, _t, _k in read_queries()], args.queries)
    repair = m._repair_typos

    def off(q: str, titles: list[str]) -> str:
        return q

    for q in queries[:50]:
        m.decide(q)
    times: dict[str, list[float]] = {"off": [], "on": []}
    for rep in range(3):
        ways = [("off", off), ("on", repair)]
        for i, q in enumerate(queries):
            for name, fn in ways if (i + rep) % 2 == 0 else ways[::-1]:
                m._repair_typos = fn  # type: ignore[method-assign]
                m._an._recent.clear()  # each call analyses the query afresh, as a new message would
                t = time.perf_counter()
                m.decide(q)
                times[name].append((time.perf_counter() - t) * 1e3)

    def p95(xs: list[float]) -> float:
        return sorted(xs)[int(0.95 * len(xs))]

    a, b = times["off"], times["on"]
    print(f"{args.size} titles, {len(a)} calls each way: without the repair median {statistics.median(a):.2f} ms,"
          f" p95 {p95(a):.2f} ms; with it median {statistics.median(b):.2f} ms, p95 {p95(b):.2f} ms"
          f" (x{statistics.median(b) / statistics.median(a):.3f}, x{p95(b) / p95(a):.3f})")


if __name__ == "__main__":
    main()
