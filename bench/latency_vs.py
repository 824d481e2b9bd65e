"""Matcher latency of this tree against another commit's, taking turns, so the figure is a ratio.

    python bench/latency_vs.py --base 1e48c69                         # 180,416 titles, 3 rounds
    python bench/latency_vs.py --base 1e48c69 --sizes 180416,1000000 --rounds 5

The other commit is exported with ``git archive`` into a temporary directory.  Each tree builds and saves
its own index with its own ``bench/latency.py`` (the index format may differ), then the two trees' "serve"
phases (a child process each: load, 50 warm-up queries, 500 dev queries once, one pinned core) alternate
for ``--rounds`` rounds, the order flipping every round, so the machine's drift hits both alike.  Printed:
per tree the median over the rounds of each round's median and p95 (wall and thread-CPU), every round's
p95, and this tree's figures over the base's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from _common import table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYS = ("median_ms", "p95_ms", "cpu_median_ms", "cpu_p95_ms")


def _phase(tree: str, phase: str, size: int, path: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, os.path.join(tree, "bench", "latency.py"), "--phase", phase, "--size", str(size),
           "--path", path, "--queries", str(args.queries), "--core", str(args.core)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="the commit to compare with (any git revision)")
    ap.add_argument("--sizes", default="180416")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--core", type=int, default=1)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = os.path.join(tmp, "base")
        os.mkdir(base)
        archive = subprocess.run(["git", "-C", ROOT, "archive", args.base], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", base], input=archive, check=True)
        trees = {"base": base, "this": ROOT}
        for size in [int(s) for s in args.sizes.split(",")]:
            paths = {name: os.path.join(tmp, f"{name}-{size}.bin") for name in trees}
            for name, tree in trees.items():
                _phase(tree, "build", size, paths[name], args)
            runs: dict[str, list[dict]] = {name: [] for name in trees}
            for r in range(args.rounds):
                for name in (["base", "this"] if r % 2 == 0 else ["this", "base"]):
                    runs[name].append(_phase(trees[name], "serve", size, paths[name], args))
                    print(f"{size} round {r + 1} {name}: {runs[name][-1]}", file=sys.stderr)
            mid = {name: {k: statistics.median(run[k] for run in runs[name]) for k in KEYS} for name in trees}
            for name in trees:
                rows.append([f"{size:,}", args.base if name == "base" else "this tree",
                             *(f"{mid[name][k]:.2f}" for k in KEYS),
                             ", ".join(f"{run['p95_ms']:.2f}" for run in runs[name])])
            rows.append([f"{size:,}", "this / base",
                         *(f"×{mid['this'][k] / mid['base'][k]:.3f}" for k in KEYS), ""])
    print(f"\n{args.queries} dev queries once each, decide(k=3), one pinned core; medians over {args.rounds} "
          "alternating rounds\n")
    print(table(["titles", "tree", "median ms", "p95 ms", "CPU median ms", "CPU p95 ms", "p95 of each round"],
                rows))


if __name__ == "__main__":
    main()
