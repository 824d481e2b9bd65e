"""The index at scale: build time and peak RSS, incremental updates, open time, shared pages, latency.

    python bench/index_scale.py                                  # 10^4, 10^5, 10^6 titles
    python bench/index_scale.py --sizes 10000,100000 --queries 200 --baseline-sizes 10000

Every measurement runs in its own child process pinned to one core (os.sched_setaffinity), one at a time:

* build: titles streamed (as ``Store.iter_titles`` does) into ``Matcher.from_titles`` + save; wall and CPU
  seconds, peak RSS (ru_maxrss), file size;
* update: open the saved index, change 1 % / 10 % of the questions at random (a third removed, a third
  retitled, a third new), ``Matcher.updated`` + save;
* open: ``Matcher.load`` (memory-mapped) wall time, the index part of it, and the serving set-up;
* serve: two processes load the same file and answer the same queries; then /proc/PID/smaps_rollup of
  each gives private vs shared resident memory; each reports median/p95 latency (wall and thread CPU)
  after 50 warm-up queries;
* baseline (``--baseline REV``, default the commit before the index work): the same build and serve (two
  processes, smaps_rollup) with that revision's code (``git archive`` into a temp dir), for a before/after
  latency and memory in one run.

Titles come from ../shared/data/archive_dev.tsv; past its 180,416 titles they repeat with a numbered
suffix, as make_archive.py does.  Without ../shared the bench says so and exits 0.

When an update changes the archive words (ASCII words used by 2+ titles), the titles with such a word are
re-analysed too; the last update column says how many words the tokenizer gained.
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
from collections.abc import Iterator

from _common import DATA_DIR, read_archive, read_queries, table, timings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BASELINE_REV = "320e103"


def _pin(core: int) -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {core})


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def titles(n: int) -> Iterator[tuple[str, str]]:
    """``n`` (id, title) pairs in id order: the dev titles, then again with a numbered suffix."""
    pool = read_archive()
    m = len(pool)
    for i in range(n):
        t = pool[i % m][1]
        yield f"q{i:07d}", (t if i < m else f"{t}({i // m})")


def _edits(n: int, share: float, ascii_free: bool = False, seed: int = 7) -> tuple[set[str], dict[str, list[str]]]:
    """Changed ids and their new titles: a third removed, a third retitled, a third added."""
    from bot.search.analysis import Normalizer
    from bot.search.build import title_words

    rng = random.Random(seed)
    pool = read_archive()
    norm = Normalizer()
    clean = [t for _, t in pool if not title_words(norm.normalize(t, max_chars=400))] if ascii_free else None
    k = max(3, int(n * share))
    ids = [f"q{i:07d}" for i in range(n)]
    if ascii_free:
        m = len(pool)
        ids = [q for q in ids if not title_words(norm.normalize(pool[int(q[1:]) % m][1], max_chars=400))]
    chosen = rng.sample(ids, min(len(ids), 2 * k // 3))
    changed: set[str] = set()
    new: dict[str, list[str]] = {}
    src = clean or [t for _, t in pool]
    for j, q in enumerate(chosen):
        changed.add(q)
        if j % 2:
            new[q] = [rng.choice(src) + "第二版"]
    for j in range(k - len(chosen)):
        q = f"q{n + j:07d}"
        changed.add(q)
        new[q] = [rng.choice(src)]
    return changed, new


def _queries(n: int) -> list[str]:
    qs = [q for _l, q, _t, _k in read_queries()]
    return random.Random(3).sample(qs, min(n, len(qs)))


def _latency(fn, queries: list[str], warmup: int = 50) -> dict:
    median, p95, cpu_median, cpu_p95 = timings(fn, queries, warmup)
    return {"median_ms": median, "p95_ms": p95, "cpu_median_ms": cpu_median, "cpu_p95_ms": cpu_p95}


def _smaps(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1]) / 1024.0
    return out


def child(args: argparse.Namespace) -> None:
    _pin(args.core)
    sys.path.insert(0, os.environ.get("INDEX_SCALE_CODE", ROOT))  # this tree's code, or the baseline's
    from bot.search.matcher import Matcher

    if args.phase == "build":
        c0, t0 = time.process_time(), time.perf_counter()
        m = Matcher.from_titles(titles(args.size))
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        m.save(args.path, "bench")
        with contextlib.suppress(ImportError):  # as load_matcher does: the shared tables beside the index
            from bot.search.tables import open_tables

            open_tables(os.path.dirname(os.path.abspath(args.path)))
        print(json.dumps({"build_s": wall, "build_cpu_s": cpu, "build_rss_mb": _peak_mb(),
                          "file_mb": os.path.getsize(args.path) / 2**20}), flush=True)
        return
    if args.phase == "update":
        changed, new = _edits(args.size, args.share, ascii_free=False)
        pool = read_archive()

        def titles_of(keys):
            for q in sorted(keys):
                i = int(q[1:])
                if q in changed:
                    yield from ((q, t) for t in new.get(q, []))
                elif i < args.size:
                    t = pool[i % len(pool)][1]
                    yield q, (t if i < len(pool) else f"{t}({i // len(pool)})")

        m = Matcher.load(args.path, "bench")
        assert m is not None
        c0, t0 = time.process_time(), time.perf_counter()
        m2 = m.updated(changed, titles_of)
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        assert m2 is not None, "update refused"
        t1 = time.perf_counter()
        m2.save(args.path + ".upd", "bench")
        save = time.perf_counter() - t1
        os.unlink(args.path + ".upd")
        print(json.dumps({"update_s": wall, "update_cpu_s": cpu, "save_s": save, "update_rss_mb": _peak_mb(),
                          "changed": len(changed), "words": len(m2._data.extra_words) - len(m._data.extra_words)}),
              flush=True)
        return
    if args.phase == "serve":
        t0 = time.perf_counter()
        m = Matcher.load(args.path, "bench")
        load = time.perf_counter() - t0
        assert m is not None
        index_open = float("nan")
        with contextlib.suppress(ImportError):  # the index part alone (not in the baseline's code)
            from bot.search.index import open_index

            t1 = time.perf_counter()
            assert open_index(args.path) is not None
            index_open = time.perf_counter() - t1
        res = _latency(lambda q: m.decide(q, k=3), _queries(args.queries))
        res.update({"load_s": load, "index_open_s": index_open, "serve_rss_mb": _peak_mb()})
        print(json.dumps(res), flush=True)
        if args.hold:
            sys.stdin.read()  # stay alive (pages mapped) until the parent has read smaps_rollup


def _run(phase: str, size: int, path: str, args: argparse.Namespace, *, share: float = 0.0,
         pythonpath: str | None = None) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--phase", phase, "--size", str(size), "--path", path,
           "--queries", str(args.queries), "--core", str(args.core), "--share", str(share)]
    env = dict(os.environ, PYTHONPATH=pythonpath or ROOT, INDEX_SCALE_CODE=pythonpath or ROOT)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=pythonpath or ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def _serve_pair(size: int, path: str, args: argparse.Namespace, pythonpath: str | None = None) -> dict:
    """Two serving processes on one file; smaps_rollup of each once both have answered the queries."""
    cmd = [sys.executable, os.path.abspath(__file__), "--phase", "serve", "--size", str(size), "--path", path,
           "--queries", str(args.queries), "--core", str(args.core), "--hold"]
    env = dict(os.environ, PYTHONPATH=pythonpath or ROOT, INDEX_SCALE_CODE=pythonpath or ROOT)
    procs, results = [], []
    try:
        for _ in range(2):  # one after the other, so the latencies do not share the core
            p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                                 cwd=pythonpath or ROOT)
            procs.append(p)
            assert p.stdout is not None
            results.append(json.loads(p.stdout.readline()))
        maps = [_smaps(p.pid) for p in procs]
    finally:
        for p in procs:
            with contextlib.suppress(OSError):
                assert p.stdin is not None
                p.stdin.close()
            p.wait(timeout=60)
    res = dict(results[0])
    for key in ("Rss", "Pss", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty", "Anonymous"):
        res[key] = sum(m.get(key, 0.0) for m in maps) / 2
    res["private_mb"] = res["Private_Clean"] + res["Private_Dirty"]
    res["shared_mb"] = res["Shared_Clean"] + res["Shared_Dirty"]
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--update-sizes", default="100000,1000000", help="sizes with the 1 %% / 10 %% update rows")
    ap.add_argument("--baseline-sizes", default="10000,100000", help="sizes also measured with --baseline")
    ap.add_argument("--baseline", default=BASELINE_REV, help="git revision for the before figures ('' = none)")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--core", type=int, default=1)
    ap.add_argument("--phase", choices=["build", "update", "serve"], help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ap.add_argument("--share", type=float, default=0.0, help=argparse.SUPPRESS)
    ap.add_argument("--hold", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        child(args)
        return
    if not os.path.exists(os.path.join(DATA_DIR, "archive_dev.tsv")):
        print(f"skipped: {DATA_DIR}/archive_dev.tsv is missing (needs ../shared/data)")
        return

    sizes = [int(s) for s in args.sizes.split(",") if s]
    upd_sizes = {int(s) for s in args.update_sizes.split(",") if s}
    base_sizes = {int(s) for s in args.baseline_sizes.split(",") if s} if args.baseline else set()
    rows, upd_rows, base_rows = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        base_dir = None
        if base_sizes:
            base_dir = os.path.join(tmp, "baseline")
            os.makedirs(base_dir)
            tar = subprocess.run(["git", "-C", ROOT, "archive", args.baseline], check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", base_dir], input=tar, check=True)
        for size in sizes:
            path = os.path.join(tmp, f"idx-{size}.bin")
            res = _run("build", size, path, args)
            print(f"{size} build: {res}", file=sys.stderr)
            res.update(_serve_pair(size, path, args))
            print(f"{size} serve: {res}", file=sys.stderr)
            rows.append([f"{size:,}", f"{res['build_s']:.1f}", f"{res['build_cpu_s']:.1f}",
                         f"{res['build_rss_mb']:.0f}", f"{res['file_mb']:.0f}", f"{res['load_s']:.2f}",
                         f"{res['index_open_s'] * 1000:.0f}", f"{res['private_mb']:.0f}",
                         f"{res['Anonymous']:.0f}", f"{res['shared_mb']:.0f}", f"{res['median_ms']:.2f}",
                         f"{res['p95_ms']:.2f}", f"{res['cpu_median_ms']:.2f}", f"{res['cpu_p95_ms']:.2f}"])
            if size in upd_sizes:
                for share in (0.01, 0.10):
                    u = _run("update", size, path, args, share=share)
                    print(f"{size} update {share}: {u}", file=sys.stderr)
                    upd_rows.append([f"{size:,}", f"{share:.0%}", u["changed"], f"{u['update_s']:.1f}",
                                     f"{u['update_cpu_s']:.1f}", f"{u['save_s']:.1f}", f"{u['update_rss_mb']:.0f}",
                                     u["words"]])
            if size in base_sizes and base_dir is not None:
                bpath = os.path.join(tmp, f"base-{size}.bin")
                b = _run("build", size, bpath, args, pythonpath=base_dir)
                b.update(_serve_pair(size, bpath, args, pythonpath=base_dir))
                print(f"{size} baseline: {b}", file=sys.stderr)
                base_rows.append([f"{size:,}", f"{b['build_s']:.1f}", f"{b['build_cpu_s']:.1f}",
                                  f"{b['build_rss_mb']:.0f}", f"{b['load_s']:.2f}", f"{b['private_mb']:.0f}",
                                  f"{b['Anonymous']:.0f}", f"{b['shared_mb']:.0f}",
                                  f"{b['median_ms']:.2f}", f"{b['p95_ms']:.2f}", f"{b['cpu_median_ms']:.2f}",
                                  f"{b['cpu_p95_ms']:.2f}"])
                for p in (bpath,):
                    with contextlib.suppress(OSError):
                        os.unlink(p)
            with contextlib.suppress(OSError):
                os.unlink(path)
    print(f"\nbuild + serve ({args.queries} dev queries, decide(k=3), one pinned core, 50 warm-up queries; "
          "memory: mean of two processes serving one file)\n")
    print(table(["titles", "build s", "build CPU s", "build peak RSS MB", "index MB", "load s", "index open ms",
                 "private MB", "of it anonymous MB", "shared MB", "median ms", "p95 ms", "CPU median ms",
                 "CPU p95 ms"], rows))
    if upd_rows:
        print("\nincremental update (Matcher.updated: analyse the changed titles, merge the arrays) + save\n")
        print(table(["titles", "changed", "questions", "update s", "update CPU s", "save s", "peak RSS MB",
                     "archive words gained"], upd_rows))
    if base_rows:
        print(f"\nbefore ({args.baseline}), same run\n")
        print(table(["titles", "build s", "build CPU s", "build peak RSS MB", "load s", "private MB",
                     "of it anonymous MB", "shared MB",
                     "median ms", "p95 ms", "CPU median ms", "CPU p95 ms"], base_rows))


if __name__ == "__main__":
    main()
