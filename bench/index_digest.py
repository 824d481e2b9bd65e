"""sha256 of every index array built from the dev titles by the code of a tree, and the build's CPU seconds:
to check that a faster build gives the same index.

    python bench/index_digest.py                               # this tree
    cd /tmp/old && python /path/to/bench/index_digest.py --code .   # another tree (e.g. git archive of HEAD)

Builds with ``index_titles`` (an ``Analyzer`` of default settings, titles capped as the matcher caps them)
from ../shared/data/archive_dev.tsv; the last line digests all arrays together.  Without ../shared it says
so and exits 0.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time

from _common import DATA_DIR, read_archive


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--code", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    help="the tree whose bot package builds the index (default: this one)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N titles")
    args = ap.parse_args()
    if not os.path.exists(os.path.join(DATA_DIR, "archive_dev.tsv")):
        print(f"no {DATA_DIR}/archive_dev.tsv: nothing to digest")
        return
    sys.path.insert(0, os.path.abspath(args.code))
    import bot
    from bot.search.analysis import Analyzer
    from bot.search.build import index_titles
    from bot.search.matcher import TITLE_MAX_CHARS
    from bot.search.segment import ARRAYS

    print(f"code: {os.path.dirname(os.path.dirname(os.path.abspath(bot.__file__)))}")
    pairs = read_archive()
    if args.limit:
        pairs = pairs[: args.limit]
    an = Analyzer()
    c0 = time.process_time()
    data = index_titles(pairs, an, title_max_chars=TITLE_MAX_CHARS)
    cpu = time.process_time() - c0
    whole = hashlib.sha256()
    for name in ARRAYS:
        digest = hashlib.sha256(memoryview(getattr(data, name)).cast("B")).hexdigest()
        whole.update(digest.encode())
        print(f"{name:12} {digest}")
    print(f"all          {whole.hexdigest()}  ({data.n_docs} documents, index_titles {cpu:.2f} s CPU)")


if __name__ == "__main__":
    main()
