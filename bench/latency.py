"""Matcher latency, build/load time and peak RSS at several archive sizes, with bm25s for a ratio.

    python bench/latency.py                                   # sizes 10000,180416,1000000, 500 queries
    python bench/latency.py --sizes 10000,180416 --queries 200 --no-bm25   # quick run

Each measurement runs in a child process pinned to one core (os.sched_setaffinity) so peak RSS and
timings are per phase: "build" (build + save), "serve" (load the saved index, warm up, time queries).
Archives above 180,416 titles reuse titles with a numbered suffix, as make_archive.py does.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

from _common import read_archive, read_queries, scale_titles, table, timings


def _pin(core: int) -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {core})


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _queries(n: int) -> list[str]:
    qs = [q for _l, q, _t, _k in read_queries()]
    return random.Random(3).sample(qs, min(n, len(qs)))


def child(args: argparse.Namespace) -> dict:
    _pin(args.core)
    from bot.search.matcher import Matcher

    if args.phase == "build":
        pairs = scale_titles(read_archive(), args.size)
        t0 = time.perf_counter()
        m = Matcher.from_titles(pairs)
        build = time.perf_counter() - t0
        m.save(args.path, "bench")
        return {
            "build_s": build,
            "build_rss_mb": _peak_rss_mb(),
            "file_mb": os.path.getsize(args.path) / 2**20,
        }
    if args.phase == "serve":
        t0 = time.perf_counter()
        m = Matcher.load(args.path, "bench")
        load = time.perf_counter() - t0
        assert m is not None
        med, p95, cmed, cp95 = timings(lambda q: m.decide(q, k=3), _queries(args.queries))
        return {
            "load_s": load,
            "median_ms": med,
            "p95_ms": p95,
            "cpu_median_ms": cmed,
            "cpu_p95_ms": cp95,
            "serve_rss_mb": _peak_rss_mb(),
        }
    # bm25s baseline: same queries, jieba words; tokenisation of suffixed copies reuses the base title's
    import bm25s
    import jieba

    tok = jieba.Tokenizer()
    tok.initialize()
    base = read_archive()
    base_toks = [" ".join(w for w in tok.lcut(t.casefold(), HMM=True) if w.strip()) for _, t in base]
    n = len(base)
    corpus = [base_toks[i % n] + ("" if i < n else f" ( {i // n} )") for i in range(args.size)]
    t0 = time.perf_counter()
    ctoks = bm25s.tokenize(corpus, token_pattern=r"(?u)\S+", stopwords=None, show_progress=False)
    retr = bm25s.BM25()
    retr.index(ctoks, show_progress=False)
    build = time.perf_counter() - t0
    del corpus

    def run(q: str) -> None:
        ids = [ctoks.vocab[w] for w in tok.lcut(q.casefold(), HMM=True) if w in ctoks.vocab]
        if ids:
            retr.retrieve([ids], k=3, show_progress=False, n_threads=1)

    med, p95, cmed, cp95 = timings(run, _queries(args.queries))
    return {"bm25_build_s": build, "bm25_median_ms": med, "bm25_p95_ms": p95, "bm25_cpu_p95_ms": cp95}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,180416,1000000")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--core", type=int, default=1)
    ap.add_argument("--no-bm25", action="store_true")
    ap.add_argument("--phase", choices=["build", "serve", "bm25"], help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(child(args)))
        return

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            path = os.path.join(tmp, f"idx-{size}.bin")
            res: dict = {}
            phases = ["build", "serve"] + ([] if args.no_bm25 else ["bm25"])
            for phase in phases:
                cmd = [
                    sys.executable,
                    os.path.abspath(__file__),
                    "--phase",
                    phase,
                    "--size",
                    str(size),
                    "--path",
                    path,
                    "--queries",
                    str(args.queries),
                    "--core",
                    str(args.core),
                ]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                res.update(json.loads(out.strip().splitlines()[-1]))
                print(f"{size} {phase}: {res}", file=sys.stderr)
            ratio = res["p95_ms"] / res["bm25_p95_ms"] if "bm25_p95_ms" in res else float("nan")
            rows.append(
                [
                    f"{size:,}",
                    f"{res['build_s']:.1f}",
                    f"{res['file_mb']:.0f}",
                    f"{res['load_s']:.2f}",
                    f"{res['median_ms']:.2f}",
                    f"{res['p95_ms']:.2f}",
                    f"{res.get('cpu_median_ms', float('nan')):.2f}",
                    f"{res.get('cpu_p95_ms', float('nan')):.2f}",
                    f"{res['serve_rss_mb']:.0f}",
                    f"{res['build_rss_mb']:.0f}",
                    f"{res.get('bm25_median_ms', float('nan')):.2f}",
                    f"{res.get('bm25_p95_ms', float('nan')):.2f}",
                    f"{ratio:.2f}",
                ]
            )
    print(f"\n{args.queries} dev queries (mixed kinds), decide(k=3), one pinned core, 50 warm-up queries\n")
    print(
        table(
            [
                "titles",
                "build s",
                "index MB",
                "load s",
                "median ms",
                "p95 ms",
                "CPU median ms",
                "CPU p95 ms",
                "serve peak RSS MB",
                "build peak RSS MB",
                "bm25s median ms",
                "bm25s p95 ms",
                "p95 ratio matcher/bm25s",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
