"""Ingest throughput and memory: pages/s and RSS while ingesting a generated archive.

    python bench/ingest.py --pages 100000            # generates with ../shared/data/make_archive.py
    python bench/ingest.py --archive /tmp/archive-100k

Pinned to one core. In the same run it times a baseline, reading and decoding every file without
parsing or storing, so the ingest figure is also given as a ratio to the machine's I/O floor.
RSS is sampled every 10,000 files to show that memory stays flat as the archive grows.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.archive.reader import decode_bytes
from bot.storage.ingest import ingest, iter_files
from bot.storage.store import Store

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(pages: int, out: Path) -> None:
    script = SHARED / "make_archive.py"
    if not script.exists():
        sys.exit(f"no archive given and {script} is missing: pass --archive FOLDER")
    subprocess.run([sys.executable, str(script), "--titles", str(SHARED / "archive_dev.tsv"),
                    "--pages", str(pages), "--out", str(out)], check=True)


def baseline(folder: Path) -> tuple[int, float]:
    """Read and decode every file: the floor any ingest pays."""
    started = time.perf_counter()
    n = 0
    for path in iter_files([str(folder)]):
        with open(path, "rb") as f:
            decode_bytes(f.read())
        n += 1
    return n, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--archive", type=Path, help="folder of pages (default: generate one)")
    ap.add_argument("--pages", type=int, default=100_000, help="questions to generate (default 100000)")
    ap.add_argument("--core", type=int, default=0, help="CPU core to pin to")
    args = ap.parse_args()
    os.sched_setaffinity(0, {args.core})

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.archive or Path(tmp) / "archive"
        if args.archive is None:
            generate(args.pages, folder)
        baseline(folder)  # warm the page cache so both timings read from memory
        files, base_s = baseline(folder)

        samples: list[tuple[int, float]] = []

        def progress(report) -> None:
            samples.append((report.files, rss_mb()))

        store = Store.open(str(Path(tmp) / "bench.db"))
        rss_before = rss_mb()
        started = time.perf_counter()
        report = ingest(store, [str(folder)], progress=progress, progress_every=10_000)
        elapsed = time.perf_counter() - started
        again_started = time.perf_counter()
        again = ingest(store, [str(folder)])
        again_s = time.perf_counter() - again_started
        store.close()
        db_mb = sum(p.stat().st_size for p in Path(tmp).glob("bench.db*")) / 2**20

    print("| files | pages ingested | questions | time (s) | pages/s | read-only baseline files/s "
          "| ratio | re-ingest unchanged (s) | RSS start → end (MB) | peak RSS (MB) | store (MB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {files} | {report.pages} | {report.total_questions} | {elapsed:.1f} | {report.pages / elapsed:.0f} "
          f"| {files / base_s:.0f} | {(report.pages / elapsed) / (files / base_s):.2f} | {again_s:.1f} "
          f"| {rss_before:.0f} → {samples[-1][1]:.0f} | {peak_mb():.0f} | {db_mb:.0f} |")
    assert again.pages == 0, "re-ingest of an unchanged folder should ingest nothing"
    print("\nRSS while ingesting (files: MB): " + ", ".join(f"{n}: {mb:.0f}" for n, mb in samples))


if __name__ == "__main__":
    main()
