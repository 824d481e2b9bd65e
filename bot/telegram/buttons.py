"""Button presses (callback queries) and inline mode; buttons carry only ids, so any process serves them."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

from telegram import (
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    ContextTypes,
)

from bot.telegram.access import allowed
from bot.telegram.questions import answer_question
from bot.telegram.replies import deliver, keyboard, locale_of, services
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
        return
    action = cb.decode(query.data)
    stale = svc.renderer.stale(locale)
    if action is None:
        await query.answer(stale, show_alert=True)
        log.info("update=%d kind=callback stale=forged", update.update_id)
        return
    if isinstance(action, cb.NoneOfThese):
        await query.answer()
        await deliver(update, context, query, [svc.renderer.none_of_these(locale)])
        return
    user = update.effective_user
    if user is not None and not svc.limiter.allow(user.id):  # the same budget as typed questions
        await query.answer(svc.renderer.alert("rate_limited", locale), show_alert=True)
        log.info("update=%d kind=callback rate_limited", update.update_id)
        return
    question = svc.answerer.question(action.id)
    if question is None:
        await query.answer(stale, show_alert=True)
        log.info("update=%d kind=callback stale=removed", update.update_id)
        return
    if isinstance(action, cb.Related | cb.Neighbour) and question.id != action.id:
        action = dataclasses.replace(action, id=question.id)  # a button sent under the question's old id
    if isinstance(action, cb.Open):
        if action.offset and action.offset >= len(question.answers):
            await query.answer(stale, show_alert=True)
            return
        await query.answer()
        reply = await asyncio.to_thread(svc.renderer.question, question, locale=locale, offset=action.offset)
        await deliver(update, context, query, [reply])
    elif isinstance(action, cb.FullAnswer):
        try:  # rendered off the event loop: a huge answer must not hold up other users
            replies = await asyncio.to_thread(svc.renderer.answer_full, question, action.index, locale=locale,
                                              part=action.part, max_parts=MAX_PARTS_PER_PRESS)
        except IndexError:
            await query.answer(stale, show_alert=True)
            return
        await query.answer()
        await deliver(update, context, query, replies)
    else:  # Related or Neighbour
        link = cb.resolve(question, action)
        if link is None:
            await query.answer(stale, show_alert=True)
            return
        await query.answer()
        target = svc.answerer.question(link.id) if link.id else None
        if target is not None:
            await deliver(update, context, query, [svc.renderer.question(target, locale=locale)])
        elif query.message is not None:
            await answer_question(update, context, link.title, limited=False)
        else:
            outcome = svc.answerer.ask(link.title)
            await deliver(update, context, query, [svc.renderer.outcome(outcome, link.title, locale=locale)])
    log.info("update=%d kind=callback action=%s", update.update_id, type(action).__name__)


async def on_inline_query(update: Update, context: Context) -> None:
    """``@bot 关键词`` in any chat: up to 10 archived questions; choosing one sends its answer."""
    svc = services(context)
    inline = update.inline_query
    if not allowed(update, svc):
        await inline.answer([], cache_time=60, is_personal=True)
        return
    # With an allow-list, results must not be cached for (and shown to) users who are not on it.
    personal = bool(svc.config.access.allowed_users or svc.config.access.allowed_chats)
    locale = locale_of(update, svc)
    text = inline.query[:MAX_INLINE_QUERY].strip()
    if not text:
        await inline.answer([], cache_time=60, is_personal=personal)
        return
    if not svc.inline_limiter.allow(inline.from_user.id):
        await inline.answer([], cache_time=5, is_personal=True)
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
    await inline.answer(results, cache_time=300, is_personal=personal)
    log.info("update=%d kind=inline results=%d ms=%.1f", update.update_id, len(results),
             (time.perf_counter() - started) * 1000)
