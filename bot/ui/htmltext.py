"""Telegram-HTML helpers: escaping, UTF-16 lengths, trimming and splitting that never break markup.

Telegram counts message length in UTF-16 code units after entity parsing (limit 4096). The helpers
here measure the *HTML source* instead, which is never shorter than the parsed text, so a part that
fits by this measure fits Telegram's limit too (and any stricter checker).

Plain-text helpers (``trim_at_sentence``, ``truncate_width``) work on unescaped text and cut only
between grapheme-ish units; ``split_html`` cuts well-formed Telegram HTML between tokens, closing the
tags still open at the cut and reopening them in the next part.
"""

from __future__ import annotations

import html
import re
import unicodedata

MESSAGE_LIMIT = 4096
"""Telegram's limit for message text, in UTF-16 code units."""

ELLIPSIS = "…"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_TOKEN = re.compile(r"<[^<>]*>|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z]{2,8});|.", re.S)
_TAG = re.compile(r"<(/?)([a-zA-Z]+)\b[^>]*>")
_SENTENCE_END = re.compile(r"(?:[。！？!?；;…]+|\.(?=\s|$))[”’\"'」』）)\]】》]*|\n")
_WEAK_BREAK = re.compile(r"[，,、：:]|\s")
_SENTENCE_CHARS = frozenset("。！？!?；;…")


def clean(text: str) -> str:
    """Normalise line ends; drop control characters and lone surrogates Telegram would reject."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def escape(text: str) -> str:
    """Escape archive or user text for a Telegram-HTML text node (``<``, ``>``, ``&``)."""
    return html.escape(clean(text), quote=False)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts (an astral emoji counts 2)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def visible_text(markup: str) -> str:
    """The text Telegram shows for ``markup``: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^<>]*>", "", markup))


def escaped_cost(ch: str) -> int:
    """UTF-16 units one plain character takes once escaped into HTML."""
    if ch == "&":
        return 5
    if ch in "<>":
        return 4
    return 2 if ord(ch) > 0xFFFF else 1


def _continues_grapheme(ch: str) -> bool:
    """True for characters that attach to the previous one (combining marks, ZWJ, selectors, skin tones)."""
    cp = ord(ch)
    return (
        cp == 0x200D
        or 0xFE00 <= cp <= 0xFE0F
        or 0x1F3FB <= cp <= 0x1F3FF
        or 0xE0020 <= cp <= 0xE007F
        or 0xE0100 <= cp <= 0xE01EF
        or unicodedata.combining(ch) != 0
    )


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def safe_cut(text: str, index: int) -> int:
    """The largest cut position <= ``index`` that does not split a grapheme-like cluster.

    Handles combining marks, variation selectors, ZWJ sequences, skin-tone modifiers and flag pairs;
    returns ``index`` itself if no safe position exists before it (a pathological run of joiners).
    """
    index = max(0, min(index, len(text)))
    i = index
    while 0 < i < len(text) and (_continues_grapheme(text[i]) or text[i - 1] == "\u200d"):
        i -= 1
    if 0 < i < len(text) and _is_regional_indicator(text[i]):
        run = 0
        while i - run - 1 >= 0 and _is_regional_indicator(text[i - run - 1]):
            run += 1
        if run % 2 == 1:
            i -= 1
    return i if i > 0 else index


def _hard_limit(text: str, max_chars: int, max_units: int | None) -> int:
    """Longest prefix length with at most ``max_chars`` characters and ``max_units`` escaped units."""
    limit = min(len(text), max_chars)
    if max_units is None:
        return limit
    used = 0
    for i in range(limit):
        used += escaped_cost(text[i])
        if used > max_units:
            return i
    return limit


def trim_at_sentence(text: str, max_chars: int, *, max_units: int | None = None) -> tuple[str, bool]:
    """Trim plain ``text`` to about ``max_chars`` characters, preferably at a sentence or paragraph end.

    ``max_units`` additionally bounds the *escaped* size in UTF-16 units. Returns ``(text, trimmed)``;
    a trimmed text ends with "…" (counted in both budgets). Searches the last 40% of the allowed
    length for a sentence end (。！？!?.;； or a line end), then for a comma or space, else cuts hard
    between graphemes.
    """
    text = text.strip()
    fits_units = max_units is None or sum(escaped_cost(c) for c in text) <= max_units
    if len(text) <= max_chars and fits_units:
        return text, False
    limit = _hard_limit(text, max_chars - 1, None if max_units is None else max_units - 1)
    floor = max(1, int(limit * 0.6))
    window = text[:limit]
    cut = 0
    for pattern in (_SENTENCE_END, _WEAK_BREAK):
        ends = [m.end() for m in pattern.finditer(window, floor - 1) if m.end() >= floor]
        if ends:
            cut = ends[-1]
            break
    if not cut:
        cut = safe_cut(text, limit)
    head = text[:cut].rstrip()
    if not head:
        return (ELLIPSIS, True)
    return head + ELLIPSIS, True


def display_width(text: str) -> int:
    """Rough on-screen width: East Asian wide/full-width and astral characters count 2."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" or ord(c) > 0xFFFF else 1 for c in text)


def truncate_width(text: str, width: int) -> str:
    """Collapse whitespace and shorten plain ``text`` to ``width`` display columns, ending in "…"."""
    text = " ".join(clean(text).split())
    if display_width(text) <= width:
        return text
    used, cut = 0, 0
    for i, ch in enumerate(text):
        used += display_width(ch)
        if used > width - 1:
            cut = i
            break
    cut = safe_cut(text, cut)
    return text[:cut].rstrip() + ELLIPSIS


def _tag(token: str) -> tuple[bool, str] | None:
    """``(is_closing, name)`` for a tag token, else None."""
    m = _TAG.fullmatch(token)
    return (m.group(1) == "/", m.group(2).lower()) if m else None


def _break_priority(prev: str, ch: str) -> int:
    if ch == "\n":
        return 4 if prev == "\n" else 3
    if ch in _SENTENCE_CHARS:
        return 2
    if ch.isspace():
        return 1
    return 0


def split_html(markup: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split well-formed Telegram HTML into parts of at most ``limit`` UTF-16 units of source.

    Cuts only between tokens (a tag, an entity such as ``&amp;``, or one character), preferring a
    paragraph end, then a line end, a sentence end, a space, in the second half of a part; never
    inside a grapheme cluster when avoidable. Tags open at a cut are closed at the end of the part and
    reopened at the start of the next. Whitespace at a cut may be dropped (Telegram strips it anyway);
    whitespace-only parts are dropped. Requires ``limit`` to exceed the tag nesting overhead.
    """
    tokens = _TOKEN.findall(markup)
    parts: list[str] = []
    stack: tuple[tuple[str, str], ...] = ()  # (name, opening tag) of the tags open at ``i``
    i, n = 0, len(tokens)
    while i < n:
        # Skip whitespace and closing tags that would leave an empty element at the start of a part.
        while i < n and (tokens[i].isspace() or (stack and _tag(tokens[i]) == (True, stack[-1][0]))):
            if not tokens[i].isspace():
                stack = stack[:-1]
            i += 1
        if i >= n:
            break
        start_stack = stack
        cost = sum(utf16_len(opener) for _, opener in stack)
        closers = sum(len(name) + 3 for name, _ in stack)
        best: tuple[int, int, tuple[tuple[str, str], ...]] | None = None  # (priority, position, stack)
        j = i
        prev = ""
        while j < n:
            token = tokens[j]
            tag = _tag(token)
            new_stack, new_closers = stack, closers
            if tag is not None:
                closing, name = tag
                if not closing:
                    new_stack, new_closers = (*stack, (name, token)), closers + len(name) + 3
                elif stack and stack[-1][0] == name:
                    new_stack, new_closers = stack[:-1], closers - len(name) - 3
            if cost + utf16_len(token) + new_closers > limit and j > i:
                break
            cost += utf16_len(token)
            stack, closers = new_stack, new_closers
            j += 1
            if tag is None or tag[0]:
                ch = token if len(token) == 1 else "x"
                safe = j >= n or not (_continues_grapheme(tokens[j][:1]) or ch == "\u200d")
                if safe and cost * 2 >= limit:
                    priority = 0 if tag else _break_priority(prev, ch)
                    if best is None or priority >= best[0]:
                        best = (priority, j, stack)
                prev = ch
        if j < n and best is not None:
            j, stack = best[1], best[2]
        body = "".join(tokens[i:j])
        part = (
            "".join(opener for _, opener in start_stack)
            + body
            + "".join(f"</{name}>" for name, _ in reversed(stack))
        )
        if visible_text(part).strip():
            parts.append(part)
        i = j
    return parts
