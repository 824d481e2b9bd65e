"""One saved archive page (text) → a :class:`Page` record.

The layout (see the seed page): site header lines, the title line ``<title> 第N页``,
answers each opened by ``user avatar <user> 网友的相关建议:``, a ``相关话题`` block of
related titles, ``前一个讨论`` / ``下一个讨论`` each followed by a title line, a ``©`` footer.

The parser never raises on bad text: it returns a :class:`ParseResult` whose ``page`` is
``None`` and whose ``problem`` says why when the text is not a page.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.models import Answer

# Invisible characters a saved page carries that ``str.split`` does not treat as space.
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_PAGE_SUFFIX = re.compile(r"\s*第\s*([0-9０-９]{1,4})\s*页\s*$")
_ANSWER_OPEN = re.compile(r"^user\s*avatar\s*(.*?)\s*网友的相关建议\s*[:：]?\s*$")
_RELATED = "相关话题"
_PREV = "前一个讨论"
_NEXT = "下一个讨论"
_MAX_TITLE = 300


@dataclass(frozen=True)
class Page:
    """One saved page of a question."""

    title: str
    page_no: int
    answers: tuple[Answer, ...]
    related: tuple[str, ...]
    prev: str | None
    next: str | None


@dataclass(frozen=True)
class ParseResult:
    """A page, or the reason the text is not one."""

    page: Page | None
    problem: str | None = None


def clean_line(line: str) -> str:
    """A line with every kind of space (NBSP, ideographic, …) collapsed to one plain space, trimmed."""
    return " ".join(line.split())


def split_title(line: str) -> tuple[str, int | None]:
    """``'标题 第2页'`` → ``('标题', 2)``; a title without ``第N页`` → ``(title, None)``."""
    m = _PAGE_SUFFIX.search(line)
    if not m:
        return line.strip(), None
    number = int(unicodedata.normalize("NFKC", m.group(1)))
    return line[: m.start()].strip(), number


def _is_chrome(line: str) -> bool:
    """Site header/footer lines that carry no content."""
    return line.startswith("©") or line.endswith(" logo") or line == "logo"


def _paragraphs(lines: list[str]) -> str:
    """Lines of an answer → paragraphs separated by one blank line."""
    paras: list[str] = []
    current: list[str] = []
    for line in lines:
        if line:
            current.append(line)
        elif current:
            paras.append("\n".join(current))
            current = []
    if current:
        paras.append("\n".join(current))
    return "\n\n".join(paras)


def parse_page(text: str) -> ParseResult:
    """Parse one page's text. Never raises; a non-page yields ``page=None`` and a reason."""
    try:
        return _parse(text)
    except Exception as exc:
        return ParseResult(None, f"unreadable page: {type(exc).__name__}")


def _parse(text: str) -> ParseResult:
    if "\x00" in text:
        return ParseResult(None, "binary file (contains NUL bytes)")
    text = _INVISIBLE.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [" ".join(raw.split()) for raw in text.split("\n")]
    if not any(line and not _is_chrome(line) for line in lines):
        return ParseResult(None, "empty page")

    answer_starts = [i for i, line in enumerate(lines) if line.startswith("user") and _ANSWER_OPEN.match(line)]
    markers = {line: i for i, line in reversed(list(enumerate(lines))) if line in (_RELATED, _PREV, _NEXT)}
    structural = bool(answer_starts) or bool(markers)

    # The title: the first content line before the body, ideally one ending in 第N页.
    first_body = min([*answer_starts, *markers.values(), len(lines)])
    head = [(i, line) for i, line in enumerate(lines[:first_body]) if line and not _is_chrome(line)]
    title_idx = next((i for i, line in head if _PAGE_SUFFIX.search(line)), None)
    if title_idx is None:
        title_idx = head[0][0] if head else None
    if title_idx is None:
        return ParseResult(None, "no title line before the first answer")
    title, page_no = split_title(lines[title_idx])
    if not structural and page_no is None:
        return ParseResult(None, "not an archive page (no 第N页 title, answers or 相关话题)")
    if not title:
        return ParseResult(None, "empty title")
    if len(title) > _MAX_TITLE:
        return ParseResult(None, f"title line is {len(title)} characters long; not a page title")

    # The end of the answers: the first marker after the title, else the footer.
    tail_start = min([i for i in markers.values() if i > title_idx], default=len(lines))
    answers: list[Answer] = []
    starts = [i for i in answer_starts if title_idx < i < tail_start]
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else tail_start
        author = _ANSWER_OPEN.match(lines[start]).group(1).strip()  # type: ignore[union-attr]
        body = [line for line in lines[start + 1 : end] if not _is_chrome(line)]
        answers.append(Answer(author=author or "?", text=_paragraphs(body)))
    answers = [a for a in answers if a.text]

    related: list[str] = []
    if _RELATED in markers:
        start = markers[_RELATED] + 1
        stop = min([i for i in markers.values() if i > markers[_RELATED]], default=len(lines))
        for line in lines[start:stop]:
            if line and not _is_chrome(line) and line not in related:
                related.append(line)

    return ParseResult(
        Page(
            title=title,
            page_no=page_no or 1,
            answers=tuple(answers),
            related=tuple(related),
            prev=_following_title(lines, markers.get(_PREV)),
            next=_following_title(lines, markers.get(_NEXT)),
        )
    )


def _following_title(lines: list[str], marker: int | None) -> str | None:
    """The first non-empty, non-chrome line after a marker line, if it is not another marker."""
    if marker is None:
        return None
    for line in lines[marker + 1 :]:
        if not line:
            continue
        if _is_chrome(line) or line in (_RELATED, _PREV, _NEXT):
            return None
        return line
    return None
