"""`archive-bot ingest` end to end after a share of the pages changed: store + index update, one command.

    python bench/ingest_changes.py --archive /tmp/archive-1m --config /tmp/ab1m/config.yaml --share 0.01

The archive (made by ../shared/data/make_archive.py) must have been ingested with that config already
(``archive-bot ingest --config CFG``), so the store and the saved index are current.  The bench then retitles
``share`` of the questions (every page file of each: "…（修订版） 第N页"; a retitled question is restored
instead, so running it twice changes the same share back) and runs ``python -m bot.cli ingest`` in a child
pinned to one core, timing the whole command (wall and CPU); the command's own lines say how long the
store and the index took.  ``--files-only`` passes just the changed files instead of the whole folder;
``--start`` times the bot's start instead (``open_services`` with ``archive.ingest_on_start``: the
configured folder is ingested, then the saved index updated).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARK = "（修订版）"
#: The bot's start up to serving: config, store, ingest on start, state, index (no Telegram call).
START = """
import logging, sys, time
from bot.config import load_config
from bot.runtime import open_services
logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
t = time.perf_counter()
services = open_services(load_config(sys.argv[1], require_token=False))
print(f"open_services: {time.perf_counter() - t:.1f}s, {len(services.answerer.matcher)} questions")
services.close()
"""


def question_files(archive: Path, i: int, per_dir: int) -> list[Path]:
    folder = archive / f"{i // per_dir:04d}"
    return [p for p in (folder / f"{i:07d}_{n}.txt" for n in (1, 2)) if p.exists()]


def toggle_title(path: Path) -> None:
    """Add the mark before " 第N页" on the title line, or remove it when it is there."""
    lines = path.read_text(encoding="utf-8").split("\n")
    for n, line in enumerate(lines):
        if line.rstrip().endswith("页") and " 第" in line:
            head, _, tail = line.rpartition(" 第")
            head = head[: -len(MARK)] if head.endswith(MARK) else head + MARK
            lines[n] = f"{head} 第{tail}"
            break
    else:
        raise ValueError(f"no title line in {path}")
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--archive", type=Path, required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--share", type=float, default=0.01)
    ap.add_argument("--questions", type=int, default=0, help="questions in the archive (default: count folders)")
    ap.add_argument("--per-dir", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--core", default="1", help="CPUs to pin the command to (taskset -c: 1, or 0,1)")
    ap.add_argument("--files-only", action="store_true", help="pass the changed files, not the folder")
    ap.add_argument("--profile", help="run the command under cProfile, writing the stats to this file")
    ap.add_argument("--jobs", help="`archive-bot ingest --jobs N` (default: its own default)")
    ap.add_argument("--start", action="store_true",
                    help="time the bot's start instead (open_services: ingest on start + index), not `ingest`")
    args = ap.parse_args()

    n = args.questions or sum(1 for p in args.archive.iterdir() if p.is_dir()) * args.per_dir
    chosen = random.Random(args.seed).sample(range(n), max(1, int(n * args.share)))
    changed: list[Path] = []
    started = time.perf_counter()
    for i in chosen:
        for path in question_files(args.archive, i, args.per_dir):
            toggle_title(path)
            changed.append(path)
    print(f"retitled {len(chosen)} questions ({len(changed)} files) in {time.perf_counter() - started:.1f}s",
          flush=True)

    paths = [str(p) for p in changed] if args.files_only else [str(args.archive)]
    prof = ["-m", "cProfile", "-o", args.profile] if args.profile else []
    if args.start:
        cmd = ["taskset", "-c", str(args.core), sys.executable, *prof, "-c", START, args.config]
    else:
        cmd = ["taskset", "-c", str(args.core), sys.executable, *prof, "-m", "bot.cli", "ingest", "--config",
               args.config, "--quiet", *(["--jobs", args.jobs] if args.jobs else []), *paths]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(out.stdout.strip())
    what = "bot start (ingest on start)" if args.start else "archive-bot ingest"
    print(f"{what} ({'changed files' if args.files_only else 'whole folder'}): {wall:.1f} s wall, "
          f"{cpu:.1f} s CPU, peak RSS {after.ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
