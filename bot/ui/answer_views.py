"""The answer views: one question's answers page by page, its related topics, one answer in full."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import quote

from bot.i18n import Strings, is_supported, strings
from bot.models import Answer, Hit, Link, Question
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
from bot.ui.reply import (
    AUTHOR_CHARS,
    CONVERT_MARGIN,
    HALF_LABEL_WIDTH,
    LABEL_WIDTH,
    MAX_CANDIDATES,
    MAX_ROWS,
    MIN_ANSWER_UNITS,
    SWITCH_INLINE_CHARS,
    TITLE_CHARS,
    WINDOW_CHARS,
    Button,
    Converter,
    RenderSettings,
    Reply,
    button_rows,
    markup_cost,
    one_line,
    paragraphs,
    text_windows,
    unchanged,
)


class RendererBase:
    """What every view shares: settings, the locale's strings and converter, titles, labels, buttons."""

    def __init__(self, settings: RenderSettings | None = None, *, converter: Converter | None = None) -> None:
        self.settings = settings or RenderSettings()
        self.converter = converter

    def _locale(self, locale: str | None) -> str:
        return locale if locale and is_supported(locale) else self.settings.locale

    def _t(self, locale: str | None) -> Strings:
        return strings(self._locale(locale))

    def _cv(self, locale: str | None) -> Callable[[str], str]:
        """How archive text is shown in ``locale``: converted to Traditional for zh-Hant, else as stored."""
        converter = self.converter
        if converter is None or self._locale(locale) != "zh-Hant":
            return unchanged

        def convert(text: str) -> str:
            try:
                return converter.convert(text)
            except Exception:  # OpenCC wants valid UTF-8; show the text as stored rather than fail
                return text

        return convert

    def _title(self, q_title: str, t: Strings) -> str:
        """The question title as plain text, bounded in characters and escaped size."""
        title, _ = trim_at_sentence(one_line(q_title), TITLE_CHARS, max_units=TITLE_CHARS * 2)
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
        title = truncate_width(one_line(q.title), SWITCH_INLINE_CHARS) or t.untitled
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
        cv = cv or unchanged
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


class AnswerViews(RendererBase):
    """The answer view (``/random`` too), the related topics behind "more", and one answer in full."""

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
                fixed = markup_cost(head) + markup_cost(footer) + sum(markup_cost(h) + 3 for h in headings)
                spare = MESSAGE_LIMIT - fixed
                per_answer = spare // len(shown)
                if per_answer >= MIN_ANSWER_UNITS or len(shown) == 1:
                    break
                shown, headings = shown[:-1], headings[:-1]
                head = heading(len(shown))
            for k, (answer, heading) in enumerate(zip(shown, headings, strict=True)):
                # only the start of a long answer is converted: the rest is trimmed off anyway
                source = paragraphs(answer.text)
                source = cv(source[: s.answer_chars + CONVERT_MARGIN]) if cv is not unchanged else source
                body, trimmed = trim_at_sentence(source or t.empty_answer, s.answer_chars, max_units=per_answer)
                blocks.append(f"{heading}\n{escape(body)}")
                if trimmed and offset + k <= cb.MAX_NUMBER:
                    index = offset + k
                    full_buttons.append(
                        Button(t.read_full.format(n=index + 1), data=cb.encode(cb.FullAnswer(q.id, index)))
                    )
        text = "\n\n".join([head, *blocks]) + footer

        rows: list[tuple[Button, ...]] = button_rows(full_buttons, 4)
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
            lines.append(f"{n}. {mark}{escape(truncate_width(one_line(cv(link.title)), 120) or t.untitled)}")
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
        return Reply(text, tuple(button_rows(buttons, per_row)))

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
        counter_room = markup_cost(f"\n\n<i>{escape(t.part.format(i=999_999, n=999_999))}</i>")
        limit = MESSAGE_LIMIT - counter_room
        numbered: list[tuple[int, str]] = []  # (part number, message markup)
        if max_parts is None or len(answer.text) <= max_parts * WINDOW_CHARS:
            parts = split_html(head + escape(paragraphs(cv(answer.text)) or t.empty_answer), limit)
            total = len(parts)
            end = total if max_parts is None else min(total, part + max_parts)
            numbered = [(k, parts[k]) for k in range(part, end)]
        else:
            windows = text_windows(answer.text, WINDOW_CHARS)
            total = len(windows)
            end = min(total, part + max_parts)
            for k in range(part, end):
                start, stop = windows[k]
                body = escape(paragraphs(cv(answer.text[start:stop])) or "…")
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
