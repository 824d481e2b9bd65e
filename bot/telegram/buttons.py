"""Button presses (callback queries) and inline mode; buttons carry only ids, so any process serves them."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

from telegram import (
    CallbackQuery,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.answerer import TOPIC_PAGE
from bot.storage.state import ORIGIN_BUTTON
from bot.telegram.access import allowed
from bot.telegram.context import Services
from bot.telegram.questions import match_and_log
from bot.telegram.replies import deliver, keyboard, locale_of, services
from bot.telegram.updatelog import note
from bot.ui import callback_data as cb

log = logging.getLogger("bot.telegram.handlers")
Context = ContextTypes.DEFAULT_TYPE
MAX_INLINE_QUERY = 256
MAX_PARTS_PER_PRESS = 10
"""Messages one press of 全文 (or "continue reading") sends at most; the rest waits for the next press."""


async def on_callback(update: Update, context: Context) -> None:
    """A button press: answer the query at once, then send what it asks for."""
    query = update.callback_query
    svc = services(context)
    locale = locale_of(update, svc)
    if not allowed(update, svc):
        await query.answer()
        note(context, "callback", refused=True)
        return
    action = cb.decode(query.data)
    stale = svc.renderer.stale(locale)
    if action is None:
        await query.answer(stale, show_alert=True)
        note(context, "callback", stale="forged")
        return
    name = type(action).__name__
    if isinstance(action, cb.NoneOfThese):
        await query.answer()
        if action.check:
            _learn(svc, update, action.check, None)
        await deliver(update, context, query, [svc.renderer.none_of_these(locale)])
        note(context, "callback", action=name)
        return
    user = update.effective_user
    if user is not None and not svc.limiter.allow(user.id):  # the same budget as typed questions
        await query.answer(svc.renderer.alert("rate_limited", locale), show_alert=True)
        note(context, "callback", action=name, rate_limited=True)
        return
    if isinstance(action, cb.Topic):
        page = svc.answerer.topic(action.word, action.offset, TOPIC_PAGE, total=action.total)
        if not page.hits:
            await query.answer(stale, show_alert=True)
            note(context, "callback", action=name, stale="changed")
            return
        await query.answer()
        await deliver(update, context, query, [svc.renderer.topic(page, locale=locale)])
        note(context, "callback", action=name, offset=action.offset)
        return
    question = svc.answerer.question(action.id)
    if question is None:
        await query.answer(stale, show_alert=True)
        note(context, "callback", action=name, stale="removed")
        return
    if isinstance(action, cb.Related | cb.Neighbour | cb.MoreRelated) and question.id != action.id:
        action = dataclasses.replace(action, id=question.id)  # a button sent under the question's old id
    if isinstance(action, cb.Open | cb.Choose):
        offset = action.offset if isinstance(action, cb.Open) else 0
        if offset and offset >= len(question.answers):
            await query.answer(stale, show_alert=True)
            note(context, "callback", action=name, stale="changed")
            return
        await query.answer()
        if isinstance(action, cb.Choose):
            _learn(svc, update, action.check, action.id)
        reply = await asyncio.to_thread(svc.renderer.question, question, locale=locale, offset=offset)
        await deliver(update, context, query, [reply])
    elif isinstance(action, cb.FullAnswer):
        try:  # rendered off the event loop: a huge answer must not hold up other users
            replies = await asyncio.to_thread(svc.renderer.answer_full, question, action.index, locale=locale,
                                              part=action.part, max_parts=MAX_PARTS_PER_PRESS)
        except IndexError:
            await query.answer(stale, show_alert=True)
            note(context, "callback", action=name, stale="changed")
            return
        await query.answer()
        await deliver(update, context, query, replies)
    elif isinstance(action, cb.MoreRelated):
        await query.answer()
        await deliver(update, context, query, [svc.renderer.related_more(question, action.shown, locale=locale)])
    else:  # Related or Neighbour
        link = cb.resolve(question, action)
        if link is None:
            await query.answer(stale, show_alert=True)
            note(context, "callback", action=name, stale="changed")
            return
        await query.answer()
        target = svc.answerer.question(link.id) if link.id else None
        if target is None:
            await search_topic(update, context, query, link.title, back_to=question.id)
            return
        reply = await asyncio.to_thread(svc.renderer.question, target, locale=locale)
        await deliver(update, context, query, [reply])
    note(context, "callback", action=name)


async def search_topic(update: Update, context: Context, query: CallbackQuery, topic: str, *,
                       back_to: str) -> None:
    """A 🔍 button: search a title the bot wrote (a related topic or discussion not in the archive).

    Logged apart from typed questions (origin ``button``), so the statistics list what people asked;
    when the archive has no answer the reply says the topic is not archived and offers the nearest."""
    svc = services(context)
    outcome, match_ms = match_and_log(svc, update, topic, origin=ORIGIN_BUTTON)
    note(context, "callback", action="search", band=outcome.band.value, score=outcome.score, match_ms=match_ms)
    reply = svc.renderer.topic_outcome(outcome, topic, back_to=back_to, locale=locale_of(update, svc))
    await deliver(update, context, query, [reply])


def _learn(svc: Services, update: Update, check: str, question_id: str | None) -> None:
    """Record a "did you mean" choice (never fails the reply); accept it once enough users agree."""
    user = update.effective_user
    try:
        if svc.state.choose(user.id if user else None, check, question_id, svc.config.learning.auto_accept):
            log.info("learning: a rewording of %s accepted automatically; the index is rebuilt at the next "
                     "reload check", question_id)
    except Exception as exc:
        log.warning("learning: could not record a choice: %s", exc)


async def on_inline_query(update: Update, context: Context) -> None:
    """``@bot 关键词`` in any chat: up to 10 archived questions; choosing one sends its answer."""
    svc = services(context)
    inline = update.inline_query
    if not allowed(update, svc):
        await inline.answer([], cache_time=60, is_personal=True)
        note(context, "inline", refused=True)
        return
    # With an allow-list, results must not be cached for (and shown to) users who are not on it.
    personal = bool(svc.config.access.allowed_users or svc.config.access.allowed_chats)
    locale = locale_of(update, svc)
    text = inline.query[:MAX_INLINE_QUERY].strip()
    if not text:
        await inline.answer([], cache_time=60, is_personal=personal)
        note(context, "inline", empty=True)
        return
    if not svc.inline_limiter.allow(inline.from_user.id):
        await inline.answer([], cache_time=5, is_personal=True)
        note(context, "inline", rate_limited=True)
        return
    started = time.perf_counter()
    items = svc.renderer.inline_results(svc.answerer.search(text, k=10), locale=locale)
    results = [
        InlineQueryResultArticle(
            id=item.id,
            title=item.title,
            description=item.description,
            input_message_content=InputTextMessageContent(
                item.reply.text, parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=item.reply.disable_preview),
            ),
            reply_markup=keyboard(item.reply.buttons),
        )
        for item in items
    ]
    note(context, "inline", results=len(results), match_ms=(time.perf_counter() - started) * 1000)
    await inline.answer(results, cache_time=300, is_personal=personal)
