"""How cluttered the answer pages are on a real-sized archive: keyboard rows per message, 🔍 buttons on first
pages, and how many related titles are in the archive at all.

    python bench/reply_layout.py --db /tmp/a20k.db        # an ingested store, e.g. 20,000 questions from
                                                           # make_archive.py --titles archive_dev.tsv
"""

from __future__ import annotations

import argparse
import statistics

import _common  # noqa: F401 - puts the repository on sys.path

from bot.storage.store import Store
from bot.ui.render import Renderer
from bot.ui.reply import RenderSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="an ingested archive store")
    args = parser.parse_args()
    store = Store.open(args.db, create=False)
    renderer = Renderer(RenderSettings())
    per_message = renderer.settings.answers_per_message
    links = archived = 0
    first_rows: list[int] = []
    later_rows: list[int] = []
    search_buttons: list[int] = []
    for q in store.iter_questions():
        related = q.related[: renderer.settings.max_related]
        links += len(related)
        archived += sum(1 for link in related if link.id)
        first = renderer.question(q)
        first_rows.append(len(first.buttons))
        search_buttons.append(sum(1 for row in first.buttons for b in row if b.data and b.data.startswith("r:")))
        later_rows += [len(renderer.question(q, offset=o).buttons) for o in range(per_message, len(q.answers),
                                                                                   per_message)]
    store.close()
    print(f"questions {len(first_rows)}; related titles {links}, in the archive {archived} "
          f"({100 * archived / max(links, 1):.1f} %)")
    print(f"first page: keyboard rows mean {statistics.mean(first_rows):.2f}, max {max(first_rows)}; "
          f"questions with a 🔍 button on it {sum(1 for n in search_buttons if n)}")
    if later_rows:
        print(f"later pages ({len(later_rows)}): keyboard rows mean {statistics.mean(later_rows):.2f}, "
              f"max {max(later_rows)}")


if __name__ == "__main__":
    main()
