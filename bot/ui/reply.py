"""The reply as pure data: ``Reply``, ``Button``, ``InlineItem``, the renderer's settings, Telegram's limits.

Nothing here imports ``telegram``; the handlers turn ``Reply``/``Button``/``InlineItem`` into PTB
objects. ``Reply`` and ``Button`` check Telegram's limits on construction: text non-empty and at most
4096 UTF-16 units even as HTML source; at most 8 keyboard rows, 8 buttons a row and 100 in all; every
button has non-empty text and exactly one action; callback data at most 64 ASCII bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Protocol

import opencc
from pydantic import AfterValidator, BaseModel, ConfigDict

from bot.config import AnswerChars, AnswersPerMessage, Config, Locale, MaxRelated, UrlTemplate
from bot.ui import callback_data as cb
from bot.ui.htmltext import (
    MESSAGE_LIMIT,
    clean,
    utf16_len,
)

MAX_ROW = 8
MAX_ROWS = 8
"""Keyboard rows in one message: more is clutter (Telegram allows more)."""
MAX_BUTTONS = 100
ALERT_LIMIT = 200
LABEL_WIDTH = 40
"""Display columns of a full-row button label (a CJK character takes 2)."""
HALF_LABEL_WIDTH = 20
TITLE_CHARS = 300
AUTHOR_CHARS = 64
INLINE_TITLE_CHARS = 100
INLINE_DESCRIPTION_CHARS = 120
SWITCH_INLINE_CHARS = 200
MAX_CANDIDATES = 3
MIN_ANSWER_UNITS = 200
MAX_INLINE_RESULTS = 10
EXAMPLE_CHARS = 60
CONVERT_MARGIN = 64
"""Characters converted beyond ``answer_chars`` (so a cut answer still reads as cut)."""
SMALLTALK_KINDS = ("greeting", "thanks", "bye", "laughter", "about_bot", "complaint", "praise", "emoji", "other")
_BOT_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}", re.ASCII)
_BLANK_RUNS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Button:
    """One inline-keyboard button: label plus exactly one of callback ``data``, ``url``, ``switch_inline``."""

    text: str
    data: str | None = None
    url: str | None = None
    switch_inline: str | None = None

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("button text is empty")
        if sum(x is not None for x in (self.data, self.url, self.switch_inline)) != 1:
            raise ValueError(f"button needs exactly one action: {self!r}")
        if self.data is not None and (not self.data.isascii() or not 0 < len(self.data) <= cb.MAX_BYTES):
            raise ValueError(f"bad callback data: {self.data!r}")


@dataclass(frozen=True)
class Reply:
    """One message: Telegram-HTML ``text`` and rows of ``buttons``."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    disable_preview: bool = True

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("reply text is empty")
        if utf16_len(self.text) > MESSAGE_LIMIT:
            raise ValueError(f"reply text too long: {utf16_len(self.text)} UTF-16 units")
        if any(not row or len(row) > MAX_ROW for row in self.buttons):
            raise ValueError("a button row is empty or has more than 8 buttons")
        if len(self.buttons) > MAX_ROWS:
            raise ValueError(f"{len(self.buttons)} keyboard rows; at most {MAX_ROWS} in one message")
        if sum(len(row) for row in self.buttons) > MAX_BUTTONS:
            raise ValueError("more than 100 buttons")


@dataclass(frozen=True)
class InlineItem:
    """One inline-query result: an article sending ``reply``; ``title`` and ``description`` are plain text."""

    id: str
    title: str
    description: str
    reply: Reply


class Converter(Protocol):
    """Converts archive text for display (``opencc.OpenCC`` has this shape)."""

    def convert(self, text: str) -> str: ...


def traditional_converter() -> Converter:
    """Simplified → Traditional with Taiwan phrases (OpenCC ``s2twp``), for zh-Hant users; build once."""
    return opencc.OpenCC("s2twp")


def _bot_username(name: str | None) -> str | None:
    if name is not None and not _BOT_USERNAME.fullmatch(name.lstrip("@")):
        raise ValueError("not a Telegram bot username")
    return name


class RenderSettings(BaseModel):
    """How replies look. ``url_template`` is formatted with ``id`` and a URL-quoted ``title``.

    The bounds are the config's (:mod:`bot.config`), so a value the config accepts renders.
    Invalid settings raise ``pydantic.ValidationError`` (a ``ValueError``) naming the field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    answers_per_message: AnswersPerMessage = 3
    answer_chars: AnswerChars = 600
    url_template: UrlTemplate | None = None
    bot_username: Annotated[str | None, AfterValidator(_bot_username)] = None
    max_related: MaxRelated = 10
    locale: Locale = "zh-Hans"

    @classmethod
    def from_config(cls, cfg: Config, bot_username: str | None = None) -> RenderSettings:
        """The renderer's settings from the config."""
        return cls(
            answers_per_message=cfg.answers.per_message,
            answer_chars=cfg.answers.chars,
            url_template=cfg.site.url_template or None,
            bot_username=bot_username,
            max_related=cfg.answers.max_related,
            locale=cfg.locale,
        )


def unchanged(text: str) -> str:
    return text


def markup_cost(markup: str) -> int:
    return utf16_len(markup)


def paragraphs(text: str) -> str:
    """Clean answer text: no trailing spaces on lines, at most one blank line between paragraphs."""
    lines = [line.rstrip() for line in clean(text).split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


WINDOW_CHARS = 3000
"""A very long answer is cut into windows of about this many characters; one window makes one message as a rule."""


def text_windows(text: str, size: int) -> list[tuple[int, int]]:
    """(start, end) of consecutive windows of ``text``, cut after a line end in a window's last fifth
    where there is one (``str.rfind``: cheap even for an answer of many megabytes)."""
    out: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while start < n:
        end = min(n, start + size)
        if end < n:
            cut = text.rfind("\n", start + size * 4 // 5, end)
            if cut > start:
                end = cut + 1
        out.append((start, end))
        start = end
    return out


def one_line(text: str) -> str:
    return " ".join(clean(text).split())


def button_rows(buttons: Sequence[Button], per_row: int) -> list[tuple[Button, ...]]:
    return [tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]
