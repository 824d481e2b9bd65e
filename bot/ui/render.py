"""Replies as pure data: Telegram-HTML text plus inline-keyboard buttons, within Telegram's limits.

Nothing here imports ``telegram``; the handlers turn ``Reply``/``Button``/``InlineItem`` into PTB
objects (``parse_mode=HTML``, ``InlineKeyboardButton(text, callback_data=..., url=...,
switch_inline_query=...)``). Guarantees of every ``Reply``: text non-empty, at most 4096 UTF-16
units even as HTML source, every archive/user string escaped, only the tags b, i, a, code and
balanced; at most 8 keyboard rows, 8 buttons a row and 100 in all; every button has non-empty text
and exactly one action; callback data comes from ``bot.ui.callback_data`` (≤ 64 bytes). ``Reply``
and ``Button`` check these on construction.

``/random`` reuses ``Renderer.question``; a plain-text fallback is ``htmltext.visible_text(text)``.

zh-Hant users see archive text (titles, answers, button labels, topic words) in Traditional characters
through the injected ``converter`` (OpenCC ``s2twp``, see :func:`traditional_converter`); authors and the
user's own words are shown as given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Protocol
from urllib.parse import quote

import opencc
from pydantic import AfterValidator, BaseModel, ConfigDict

from bot.config import AnswerChars, AnswersPerMessage, Config, Locale, MaxRelated, UrlTemplate
from bot.i18n import Strings, is_supported, strings
from bot.models import Answer, Band, Hit, Link, Outcome, Question, TopicPage
from bot.ui import callback_data as cb
from bot.ui.htmltext import (
    MESSAGE_LIMIT,
    clean,
    escape,
    split_html,
    trim_at_sentence,
    truncate_width,
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


def _same(text: str) -> str:
    return text


def _cost(markup: str) -> int:
    return utf16_len(markup)


def _paragraphs(text: str) -> str:
    """Clean answer text: no trailing spaces on lines, at most one blank line between paragraphs."""
    lines = [line.rstrip() for line in clean(text).split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


WINDOW_CHARS = 3000
"""A very long answer is cut into windows of about this many characters; one window makes one message as a rule."""


def _windows(text: str, size: int) -> list[tuple[int, int]]:
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


def _one_line(text: str) -> str:
    return " ".join(clean(text).split())


def _rows(buttons: Sequence[Button], per_row: int) -> list[tuple[Button, ...]]:
    return [tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


class Renderer:
    """Builds replies; constructed once from ``RenderSettings`` (validated: ValueError names the field).

    Every method takes an optional locale, typically ``i18n.pick_locale(user.language_code,
    settings.locale)``; None or an unsupported value means ``settings.locale``.
    """

    def __init__(self, settings: RenderSettings | None = None, *, converter: Converter | None = None) -> None:
        self.settings = settings or RenderSettings()
        self.converter = converter

    # -- helpers ---------------------------------------------------------------------------------

    def _locale(self, locale: str | None) -> str:
        return locale if locale and is_supported(locale) else self.settings.locale

    def _t(self, locale: str | None) -> Strings:
        return strings(self._locale(locale))

    def _cv(self, locale: str | None) -> Callable[[str], str]:
        """How archive text is shown in ``locale``: converted to Traditional for zh-Hant, else as stored."""
        converter = self.converter
        if converter is None or self._locale(locale) != "zh-Hant":
            return _same

        def convert(text: str) -> str:
            try:
                return converter.convert(text)
            except Exception:  # OpenCC wants valid UTF-8; show the text as stored rather than fail
                return text

        return convert

    def _title(self, q_title: str, t: Strings) -> str:
        """The question title as plain text, bounded in characters and escaped size."""
        title, _ = trim_at_sentence(_one_line(q_title), TITLE_CHARS, max_units=TITLE_CHARS * 2)
        return title or t.untitled

    def _author(self, answer: Answer, t: Strings) -> str:
        return truncate_width(answer.author, AUTHOR_CHARS) or t.anonymous

    @staticmethod
    def _label(title: str, t: Strings, prefix: str = "", width: int = LABEL_WIDTH) -> str:
        return prefix + (truncate_width(title, width - len(prefix) * 2) or t.untitled)

    def _neighbour_button(self, q: Question, direction: str, t: Strings) -> Button | None:
        link = q.prev if direction == "prev" else q.next
        label = t.prev if direction == "prev" else t.next
        if link is None:
            return None
        if link.id is not None and cb.is_valid_id(link.id):
            return Button(label, data=cb.encode(cb.Open(link.id)))
        if not link.title.strip():
            return None
        action = cb.Neighbour(q.id, "prev" if direction == "prev" else "next", cb.title_check(link.title))
        return Button(label, data=cb.encode(action))

    def share_button(self, q: Question, *, locale: str | None = None) -> Button:
        """Share: Telegram's share sheet with the deep link when ``bot_username`` is set, else an
        inline-mode switch with the title (the user picks a chat and the bot's inline results)."""
        t = self._t(locale)
        title = truncate_width(_one_line(q.title), SWITCH_INLINE_CHARS) or t.untitled
        if self.settings.bot_username:
            link = cb.deep_link(self.settings.bot_username, q.id)
            url = f"https://t.me/share/url?url={quote(link, safe='')}&text={quote(title, safe='')}"
            return Button(t.share, url=url)
        return Button(t.share, switch_inline=title)

    def web_url(self, q: Question) -> str | None:
        """The page's URL from ``url_template``, or None when no template is set."""
        template = self.settings.url_template
        return template.format(id=q.id, title=quote(clean(q.title), safe="")) if template else None

    def _candidates(
        self,
        candidates: Sequence[tuple[Hit, str]],
        t: Strings,
        cv: Callable[[str], str] | None = None,
        *,
        check: str | None = None,
        first: int = 1,
        limit: int = MAX_CANDIDATES,
    ) -> tuple[list[str], list[tuple[Button, ...]]]:
        """Numbered title lines (HTML) and one button a row for up to ``limit`` distinct, valid candidates.

        With ``check`` (the query's ``cb.query_check``) a button also records the choice."""
        cv = cv or _same
        lines: list[str] = []
        rows: list[tuple[Button, ...]] = []
        seen: set[str] = set()
        for hit, title in candidates:
            if len(rows) >= limit:
                break
            if not cb.is_valid_id(hit.key) or hit.key in seen:
                continue
            seen.add(hit.key)
            n = first + len(rows)
            shown = cv(title)
            action = cb.Choose(hit.key, check) if check else cb.Open(hit.key)
            lines.append(f"{n}. {escape(self._title(shown, t))}")
            rows.append((Button(self._label(shown, t, f"{n}. "), data=cb.encode(action)),))
        return lines, rows

    # -- answer views ----------------------------------------------------------------------------

    def _related_links(self, q: Question) -> tuple[list[Link], list[tuple[int, Link]]]:
        """The first ``max_related`` related links: those in the archive, and the others (with their index)."""
        archived: list[Link] = []
        others: list[tuple[int, Link]] = []
        for i, link in enumerate(q.related[: self.settings.max_related]):
            if link.id is not None and cb.is_valid_id(link.id):
                archived.append(link)
            elif link.title.strip():
                others.append((i, link))
        return archived, others

    def _related_block(
        self, q: Question, archived: list[Link], others: list[tuple[int, Link]], room: int, t: Strings,
        cv: Callable[[str], str],
    ) -> list[tuple[Button, ...]]:
        """The first page's related rows, at most ``room``: archived questions first, one a row; the
        rest (not in the archive, or no room) behind one "more related topics" button."""
        shown = archived if len(archived) + (1 if others else 0) <= room else archived[: max(room - 1, 0)]
        rows = [(Button(self._label(cv(link.title), t), data=cb.encode(cb.Open(link.id or ""))),) for link in shown]
        rest = len(archived) - len(shown) + len(others)
        if rest:
            more = cb.MoreRelated(q.id, len(shown))
            rows.append((Button(t.more_related.format(k=rest), data=cb.encode(more)),))
        return rows

    def question(self, q: Question, *, locale: str | None = None, offset: int = 0) -> Reply:
        """The answer view: bold title, up to ``answers_per_message`` answers from ``offset`` (0-based),
        each trimmed at a sentence end to about ``answer_chars``; buttons for whole answers and more
        answers. The first page (``offset`` 0) also carries the related topics (archived ones first,
        the rest behind "more related topics"), previous/next discussion, share and the web page;
        later pages carry navigation only. At most :data:`MAX_ROWS` keyboard rows. Also /random."""
        t = self._t(locale)
        cv = self._cv(locale)
        s = self.settings
        total = len(q.answers)
        offset = max(0, min(offset, total - 1)) if total else 0
        first_page = offset == 0
        shown = q.answers[offset : offset + s.answers_per_message]

        title = f"<b>{escape(self._title(cv(q.title), t))}</b>"

        def heading(count: int) -> str:
            if not count:
                return f"{title}\n\n{escape(t.no_answers)}"
            first, last = offset + 1, offset + count
            span = str(first) if first == last else f"{first}–{last}"
            return f"{title}\n<i>{escape(t.answers_range.format(range=span, total=total))}</i>"

        head = heading(len(shown))

        archived, others = self._related_links(q)
        has_related = first_page and bool(archived or others)
        footer = f"\n\n<i>{escape(t.related)} ↓</i>" if has_related else ""

        blocks: list[str] = []
        full_buttons: list[Button] = []
        if shown:
            headings = [
                f"<b>#{offset + k + 1}</b> · <i>{escape(self._author(a, t))}</i>" for k, a in enumerate(shown)
            ]
            while True:  # drop answers from the end (to the "more" button) until each gets a fair share
                spare = MESSAGE_LIMIT - _cost(head) - _cost(footer) - sum(_cost(h) + 3 for h in headings)
                per_answer = spare // len(shown)
                if per_answer >= MIN_ANSWER_UNITS or len(shown) == 1:
                    break
                shown, headings = shown[:-1], headings[:-1]
                head = heading(len(shown))
            for k, (answer, heading) in enumerate(zip(shown, headings, strict=True)):
                # only the start of a long answer is converted: the rest is trimmed off anyway
                source = _paragraphs(answer.text)
                source = cv(source[: s.answer_chars + CONVERT_MARGIN]) if cv is not _same else source
                body, trimmed = trim_at_sentence(source or t.empty_answer, s.answer_chars, max_units=per_answer)
                blocks.append(f"{heading}\n{escape(body)}")
                if trimmed and offset + k <= cb.MAX_NUMBER:
                    index = offset + k
                    full_buttons.append(
                        Button(t.read_full.format(n=index + 1), data=cb.encode(cb.FullAnswer(q.id, index)))
                    )
        text = "\n\n".join([head, *blocks]) + footer

        rows: list[tuple[Button, ...]] = _rows(full_buttons, 4)
        remaining = total - offset - len(shown)
        if remaining > 0 and offset + len(shown) <= cb.MAX_NUMBER:
            more = cb.Open(q.id, offset + len(shown))
            rows.append((Button(t.more_answers.format(k=remaining), data=cb.encode(more)),))
        neighbours = [b for d in ("prev", "next") if (b := self._neighbour_button(q, d, t))]
        tail: list[tuple[Button, ...]] = [tuple(neighbours)] if neighbours else []
        if first_page:
            last_row = [self.share_button(q, locale=locale)]
            url = self.web_url(q)
            if url:
                last_row.append(Button(t.web, url=url))
            tail.append(tuple(last_row))
            if has_related:
                rows.extend(self._related_block(q, archived, others, MAX_ROWS - len(rows) - len(tail), t, cv))
        rows.extend(tail)
        assert len(rows) <= MAX_ROWS, f"{len(rows)} keyboard rows"
        return Reply(text, tuple(rows))

    def related_more(self, q: Question, shown: int = 0, *, locale: str | None = None) -> Reply:
        """The related topics behind "more related topics": those not on the first page (its first
        ``shown`` archived ones were), listed in full and as buttons — archived ones open, 🔍 ones
        search. Buttons one a row, two a row past :data:`MAX_ROWS`, at most ``2 * MAX_ROWS``."""
        t = self._t(locale)
        cv = self._cv(locale)
        archived, others = self._related_links(q)
        rest: list[tuple[int | None, Link]] = [(None, link) for link in archived[shown:]]
        rest += others
        if not rest:  # the list changed since: show all of it
            rest = [(None, link) for link in archived] + others
        title = f"<b>{escape(self._title(cv(q.title), t))}</b>\n<i>{escape(t.related)}</i>"
        lines = []
        for n, (index, link) in enumerate(rest, 1):
            mark = "" if index is None else "🔍 "
            lines.append(f"{n}. {mark}{escape(truncate_width(_one_line(cv(link.title)), 120) or t.untitled)}")
        parts = [title, "\n".join(lines)] if lines else [title]
        if others:
            parts.append(f"<i>{escape(t.related_hint)}</i>")
        text = "\n\n".join(parts)
        if utf16_len(text) > MESSAGE_LIMIT:  # 20 titles of 120 columns cannot get here; keep the guarantee
            text = split_html(text, MESSAGE_LIMIT)[0]
        per_row = 1 if len(rest) <= MAX_ROWS else 2
        width = LABEL_WIDTH if per_row == 1 else HALF_LABEL_WIDTH
        buttons: list[Button] = []
        for n, (index, link) in enumerate(rest[: MAX_ROWS * per_row], 1):
            if index is None:
                label, action = self._label(cv(link.title), t, f"{n}. ", width), cb.Open(link.id or "")
            else:
                label = self._label(cv(link.title), t, f"🔍 {n}. ", width)
                action = cb.Related(q.id, index, cb.title_check(link.title))
            buttons.append(Button(label, data=cb.encode(action)))
        return Reply(text, tuple(_rows(buttons, per_row)))

    def answer_full(
        self, q: Question, index: int, *, locale: str | None = None, part: int = 0, max_parts: int | None = None
    ) -> list[Reply]:
        """The whole answer ``q.answers[index]`` (0-based), split into as many messages as needed.

        Parts are numbered "(i/n)" when there are several; the last one has "back to the question"
        (the page that contains this answer) and "next answer" buttons. Raises IndexError for an
        index outside ``q.answers`` (a stale button: answer the callback with ``stale()``).

        With ``max_parts``, at most that many parts from ``part`` (0-based) on, and a "continue
        reading" button for the rest: one press never sends thousands of messages. An answer longer
        than ``max_parts`` windows of :data:`WINDOW_CHARS` is cut into such windows first (a part is
        then a window), so a press renders only what it sends, whatever the answer's size.
        """
        if not 0 <= index < len(q.answers):
            raise IndexError(f"question {q.id} has no answer {index}")
        t = self._t(locale)
        cv = self._cv(locale)
        answer = q.answers[index]
        head = (
            f"<b>{escape(self._title(cv(q.title), t))}</b>\n"
            f"<b>#{index + 1}</b> · <i>{escape(self._author(answer, t))}</i>\n\n"
        )
        counter_room = _cost(f"\n\n<i>{escape(t.part.format(i=999_999, n=999_999))}</i>")
        limit = MESSAGE_LIMIT - counter_room
        numbered: list[tuple[int, str]] = []  # (part number, message markup)
        if max_parts is None or len(answer.text) <= max_parts * WINDOW_CHARS:
            parts = split_html(head + escape(_paragraphs(cv(answer.text)) or t.empty_answer), limit)
            total = len(parts)
            end = total if max_parts is None else min(total, part + max_parts)
            numbered = [(k, parts[k]) for k in range(part, end)]
        else:
            windows = _windows(answer.text, WINDOW_CHARS)
            total = len(windows)
            end = min(total, part + max_parts)
            for k in range(part, end):
                start, stop = windows[k]
                body = escape(_paragraphs(cv(answer.text[start:stop])) or "…")
                numbered += [(k, p) for p in split_html((head if k == 0 else "") + body, limit)]
        if not numbered:
            raise IndexError(f"answer {index} of question {q.id} has no part {part}")
        if total > 1:
            numbered = [(k, f"{p}\n\n<i>{escape(t.part.format(i=k + 1, n=total))}</i>") for k, p in numbered]
        page = index - index % self.settings.answers_per_message
        last_row = [Button(t.back_to_question, data=cb.encode(cb.Open(q.id, min(page, cb.MAX_NUMBER))))]
        if end < total and end <= cb.MAX_NUMBER:
            last_row.append(Button(t.continue_reading.format(i=end + 1, n=total),
                                   data=cb.encode(cb.FullAnswer(q.id, index, end))))
        elif index + 1 < len(q.answers) and index + 1 <= cb.MAX_NUMBER:
            last_row.append(Button(t.next_answer, data=cb.encode(cb.FullAnswer(q.id, index + 1))))
        replies = [Reply(p) for _, p in numbered[:-1]]
        replies.append(Reply(numbered[-1][1], (tuple(last_row),)))
        return replies

    # -- matching outcomes ----------------------------------------------------------------------

    def did_you_mean(
        self, candidates: Sequence[tuple[Hit, str]], *, locale: str | None = None, check: str | None = None
    ) -> Reply:
        """ "Did you mean": up to three candidate titles (listed and as buttons) plus "none of these".

        ``check`` (``cb.query_check`` of the normalised query) makes the buttons record the choice."""
        t = self._t(locale)
        lines, rows = self._candidates(candidates, t, self._cv(locale), check=check)
        text = "\n".join([f"<b>{escape(t.did_you_mean)}</b>", "", *lines]).strip()
        rows.append((Button(t.none_of_these_button, data=cb.encode(cb.NoneOfThese(check))),))
        return Reply(text, tuple(rows))

    def no_match(
        self, query: str, candidates: Sequence[tuple[Hit, str]] = (), *, locale: str | None = None,
        check: str | None = None,
    ) -> Reply:
        """No archived question matches ``query``: say so, offer the nearest candidates, give tips."""
        t = self._t(locale)
        shown_query = truncate_width(_one_line(query), 120) or "…"
        parts = [f"<b>{escape(t.no_match.format(query=shown_query))}</b>"]
        lines, rows = self._candidates(candidates, t, self._cv(locale), check=check)
        if lines:
            parts.append("\n".join([escape(t.nearest), *lines]))
        parts.append(escape(t.tips))
        return Reply("\n\n".join(parts), tuple(rows))

    def topic_not_archived(
        self, topic: str, candidates: Sequence[tuple[Hit, str]] = (), *, back_to: str | None = None,
        locale: str | None = None,
    ) -> Reply:
        """A search the bot wrote (a 🔍 related topic) found no answer: the topic is not in the archive;
        the nearest archived questions as buttons, and the way back to question ``back_to``. No typing tips:
        the person did not type it."""
        t = self._t(locale)
        cv = self._cv(locale)
        shown_topic = truncate_width(_one_line(cv(topic)), 120) or "…"
        parts = [f"<b>{escape(t.topic_not_archived.format(topic=shown_topic))}</b>"]
        lines, rows = self._candidates(candidates, t, cv)
        parts.append("\n".join([escape(t.nearest), *lines]) if lines else escape(t.topic_nothing_near))
        if back_to is not None and cb.is_valid_id(back_to):
            rows.append((Button(t.back_to_question, data=cb.encode(cb.Open(back_to))),))
        return Reply("\n\n".join(parts), tuple(rows))

    def none_of_these(self, locale: str | None = None) -> Reply:
        """After "none of these": apologise and suggest rephrasing."""
        t = self._t(locale)
        return Reply(f"{escape(t.none_of_these)}\n\n{escape(t.tips)}")

    # -- fixed messages -------------------------------------------------------------------------

    #: The strings that make a whole reply on their own (``Strings`` field names).
    FIXED = frozenset({"start", "help", "not_text", "rate_limited", "error", "private", "ask_usage",
                       "empty_archive", "gone"})

    def fixed(self, key: str, locale: str | None = None, *, example: Link | None = None) -> Reply:
        """A fixed one-string reply: /start, /help, not text, rate limited, error, private, /ask usage,
        empty archive, a deep link to a gone question (``key`` is one of :attr:`FIXED`).

        /help and /ask usage show ``example`` (a title from the archive, see ``Answerer.example``)."""
        if key not in self.FIXED:
            raise KeyError(key)
        t = self._t(locale)
        text = getattr(t, key)
        if example is not None and key in ("help", "ask_usage") and (title := self._example(example, locale)):
            line = (t.example if key == "help" else t.ask_example).format(example=title)
            first, _, rest = text.partition("\n")
            text = f"{first}\n{line}\n{rest}" if rest else f"{first}\n{line}"
        return Reply(escape(text))

    def _example(self, example: Link, locale: str | None) -> str:
        return truncate_width(_one_line(self._cv(locale)(example.title)), EXAMPLE_CHARS)

    def smalltalk(self, kind: str | None, example: Link | None = None, *, locale: str | None = None) -> Reply:
        """A short friendly reply to small talk (greeting, thanks, bye …) with a hint of what to ask:
        ``example`` (a question from the archive) in the text and as a button. Never an archive answer."""
        t = self._t(locale)
        kind = kind if kind in SMALLTALK_KINDS else "other"
        title = self._example(example, locale) if example is not None else ""
        hint = t.smalltalk_hint.format(example=title) if title else t.smalltalk_hint_plain
        rows: tuple[tuple[Button, ...], ...] = ()
        if title and example is not None and example.id and cb.is_valid_id(example.id):
            rows = ((Button(self._label(title, t), data=cb.encode(cb.Open(example.id))),),)
        return Reply(f"{escape(getattr(t, f'smalltalk_{kind}'))}\n\n{escape(hint)}", rows)

    def topic(self, page: TopicPage, *, locale: str | None = None) -> Reply:
        """A topic word: "the archive has N questions about 「word」", a page of them as buttons, and
        "more" for the next page (stateless: the word travels in the button, when it fits)."""
        t = self._t(locale)
        cv = self._cv(locale)
        word = truncate_width(_one_line(cv(page.word)), 40) or "…"
        total = max(page.total, page.offset + len(page.hits))
        head = f"<b>{escape(t.topic_title.format(n=total, topic=word))}</b>"
        lines, rows = self._candidates(page.hits, t, cv, first=page.offset + 1, limit=len(page.hits))
        if page.offset and lines:
            last = page.offset + len(lines)
            span = str(last) if last == page.offset + 1 else f"{page.offset + 1}–{last}"
            head += f"\n<i>{escape(t.topic_range.format(range=span))}</i>"
        next_offset = page.offset + len(page.hits)
        if page.more and next_offset <= cb.MAX_NUMBER and cb.topic_fits(page.word):
            action = cb.Topic(page.word, next_offset, min(total, cb.MAX_TOTAL))
            rows.append((Button(t.topic_more, data=cb.encode(action)),))
        return Reply("\n\n".join([head, "\n".join(lines)]).strip(), tuple(rows))

    def reloaded(self, questions: int, locale: str | None = None) -> Reply:
        """Admin /reload done."""
        return Reply(escape(self._t(locale).reloaded.format(n=questions)))

    def outcome(
        self, outcome: Outcome, query: str, *, locale: str | None = None, check: str | None = None,
        example: Link | None = None,
    ) -> Reply:
        """The reply for a matched query: the answer view, "did you mean", no match, small talk, or a topic.

        ``check`` makes candidate buttons record the choice; ``example`` is small talk's hint."""
        if outcome.band is Band.ANSWER and outcome.question is not None:
            return self.question(outcome.question, locale=locale)
        if outcome.band is Band.SMALLTALK:
            return self.smalltalk(outcome.decision.smalltalk, example, locale=locale)
        if outcome.band is Band.TOPIC and outcome.topic is not None and outcome.topic.hits:
            return self.topic(outcome.topic, locale=locale)
        if outcome.band is Band.DID_YOU_MEAN and outcome.candidates:
            return self.did_you_mean(outcome.candidates, locale=locale, check=check)
        return self.no_match(query, outcome.candidates, locale=locale, check=check)

    def topic_outcome(self, outcome: Outcome, topic: str, *, back_to: str | None = None,
                      locale: str | None = None) -> Reply:
        """The reply for a search the bot wrote (a 🔍 button): the answer view when the archive answers
        it, else :meth:`topic_not_archived` with the candidates as the nearest archived questions."""
        if outcome.band is Band.ANSWER and outcome.question is not None:
            return self.question(outcome.question, locale=locale)
        return self.topic_not_archived(topic, outcome.candidates, back_to=back_to, locale=locale)

    def stale(self, locale: str | None = None) -> str:
        """Plain alert text (≤ 200 chars) for ``answerCallbackQuery`` on a button whose target changed."""
        return self._t(locale).stale[:ALERT_LIMIT]

    def alert(self, key: str, locale: str | None = None) -> str:
        """Plain alert text (≤ 200 chars) of a fixed string, e.g. ``rate_limited`` for a button press."""
        if key not in self.FIXED:
            raise KeyError(key)
        return getattr(self._t(locale), key)[:ALERT_LIMIT]

    # -- admin and inline -----------------------------------------------------------------------

    def stats(self, rows: Iterable[tuple[str, int, Band | str]], locale: str | None = None) -> Reply:
        """The most frequent unanswered queries, one line each: count, query, band; cut to fit one message."""
        t = self._t(locale)
        band_names = {
            Band.ANSWER.value: t.band_answer,
            Band.DID_YOU_MEAN.value: t.band_did_you_mean,
            Band.NO_MATCH.value: t.band_no_match,
        }
        rows = list(rows)
        head = f"<b>{escape(t.stats_title)}</b>"
        if not rows:
            return Reply(f"{head}\n\n{escape(t.stats_empty)}")
        lines: list[str] = []
        budget = MESSAGE_LIMIT - _cost(head) - _cost(escape(t.stats_more.format(k=10**9))) - 4
        for query, count, band in rows:
            band_key = band.value if isinstance(band, Band) else str(band)
            band_text = band_names.get(band_key, band_key)
            line = (
                f"<code>{int(count)}</code> {escape(truncate_width(_one_line(query), 60) or '…')}"
                f" <i>{escape(truncate_width(band_text, 20) or '?')}</i>"
            )
            if _cost(line) + 1 > budget:
                break
            budget -= _cost(line) + 1
            lines.append(line)
        text = head + "\n\n" + "\n".join(lines)
        if len(lines) < len(rows):
            text += "\n" + escape(t.stats_more.format(k=len(rows) - len(lines)))
        return Reply(text)

    def inline_results(self, questions: Sequence[Question], *, locale: str | None = None) -> list[InlineItem]:
        """Up to 10 inline results (distinct ids): title, start of the top answer, and the answer view."""
        t = self._t(locale)
        cv = self._cv(locale)
        items: list[InlineItem] = []
        seen: set[str] = set()
        for q in questions:
            if len(items) >= MAX_INLINE_RESULTS:
                break
            if q.id in seen:
                continue
            seen.add(q.id)
            title = truncate_width(_one_line(cv(q.title)), INLINE_TITLE_CHARS) or t.untitled
            description = t.inline_no_answers
            if q.answers:
                top = q.answers[0]
                snippet = f"{self._author(top, t)}: {_one_line(cv(top.text[:INLINE_DESCRIPTION_CHARS * 2]))}"
                snippet = truncate_width(snippet, INLINE_DESCRIPTION_CHARS)
                description = snippet or t.inline_no_answers
            items.append(InlineItem(q.id, title, description, self.question(q, locale=locale)))
        return items
