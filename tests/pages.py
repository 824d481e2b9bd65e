"""Builders of archive pages in the seed's layout, for tests."""

from __future__ import annotations

import random
from pathlib import Path

NB = "\u00a0"
HEADER = "百科问答小站 logo\n百科问答小站 font logo\n\n\n\n"
FOOTER = "\n\n\n\n\n© 2024-09-19 - example.org. All Rights Reserved.\n© 2024-09-19 - example.org. 保留所有权利"


def make_page(
    title: str,
    number: int | None = 1,
    answers: list[tuple[str, str]] | None = None,
    related: list[str] | None = None,
    prev: str | None = "上一个问题是什么?",
    nxt: str | None = "下一个问题是什么?",
) -> str:
    """One page's text, with the NBSPs and blank-only lines real pages have."""
    out = [HEADER, f"{title} 第{number}页" if number is not None else title, f"\n\n{NB}{NB}\n\n"]
    for author, text in answers if answers is not None else [("tester", "这是一个回答。")]:
        out.append(f"user avatar {NB}{NB}{author} 网友的相关建议:{NB}\n{NB * 6}\n\n{text}\n\n\n")
    if related:
        out.append(f"\n\n{NB}{NB}\n\n相关话题\n\n")
        out += [f"{NB}{NB}{r}{NB}\n" for r in related]
    if prev is not None:
        out.append(f"\n前一个讨论\n{prev}")
    if nxt is not None:
        out.append(f"\n下一个讨论\n{nxt}")
    out.append(FOOTER)
    return "".join(out)


def churn(folder: Path, rng: random.Random, titles: list[str], edits: int, *, drop: float, related: int) -> None:
    """``edits`` random edits of the page files ``00.txt`` … ``29.txt`` in ``folder``: an existing file deleted
    (with chance ``drop``), else written anew with a title of ``titles``, page 1 or 2, one answer, ``related``
    related titles and random previous and next titles (new, changed, retitled, moved pages)."""
    for _ in range(edits):
        name = f"{rng.randrange(30):02d}.txt"
        if rng.random() < drop and (folder / name).exists():
            (folder / name).unlink()
            continue
        rel = rng.sample(titles, related)
        answers = [(f"作者{rng.randrange(3)}", f"回答{rng.randrange(4)}")]
        write(folder, name, make_page(rng.choice(titles), rng.randrange(1, 3), answers, rel,
                                      prev=rng.choice([None, *titles]), nxt=rng.choice([None, *titles])))


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path
