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

from collections.abc import Iterable, Sequence

from bot.models import Band, Hit, Link, Outcome, Question, TopicPage
from bot.ui import callback_data as cb
from bot.ui.answer_views import AnswerViews
from bot.ui.htmltext import (
    MESSAGE_LIMIT,
    escape,
    truncate_width,
)
from bot.ui.reply import (
    ALERT_LIMIT,
    EXAMPLE_CHARS,
    INLINE_DESCRIPTION_CHARS,
    INLINE_TITLE_CHARS,
    MAX_INLINE_RESULTS,
    SMALLTALK_KINDS,
    Button,
    InlineItem,
    Reply,
    markup_cost,
    one_line,
)


class Renderer(AnswerViews):
    """Builds replies; constructed once from ``RenderSettings`` (validated: ValueError names the field).

    Every method takes an optional locale, typically ``i18n.pick_locale(user.language_code,
    settings.locale)``; None or an unsupported value means ``settings.locale``.
    """

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
        shown_query = truncate_width(one_line(query), 120) or "…"
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
        shown_topic = truncate_width(one_line(cv(topic)), 120) or "…"
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
        return truncate_width(one_line(self._cv(locale)(example.title)), EXAMPLE_CHARS)

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
        word = truncate_width(one_line(cv(page.word)), 40) or "…"
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
        budget = MESSAGE_LIMIT - markup_cost(head) - markup_cost(escape(t.stats_more.format(k=10**9))) - 4
        for query, count, band in rows:
            band_key = band.value if isinstance(band, Band) else str(band)
            band_text = band_names.get(band_key, band_key)
            line = (
                f"<code>{int(count)}</code> {escape(truncate_width(one_line(query), 60) or '…')}"
                f" <i>{escape(truncate_width(band_text, 20) or '?')}</i>"
            )
            if markup_cost(line) + 1 > budget:
                break
            budget -= markup_cost(line) + 1
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
            title = truncate_width(one_line(cv(q.title)), INLINE_TITLE_CHARS) or t.untitled
            description = t.inline_no_answers
            if q.answers:
                top = q.answers[0]
                snippet = f"{self._author(top, t)}: {one_line(cv(top.text[:INLINE_DESCRIPTION_CHARS * 2]))}"
                snippet = truncate_width(snippet, INLINE_DESCRIPTION_CHARS)
                description = snippet or t.inline_no_answers
            items.append(InlineItem(q.id, title, description, self.question(q, locale=locale)))
        return items
