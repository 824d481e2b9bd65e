"""Text messages: a question in a private chat, a mention or reply in a group, anything else."""

from __future__ import annotations

import logging
import time

from telegram import (
    Bot,
    Message,
    MessageEntity,
    Update,
)
from telegram.ext import (
    ContextTypes,
)

from bot.models import Band, Outcome
from bot.storage.state import ORIGIN_TYPED
from bot.telegram.access import guarded
from bot.telegram.context import Services
from bot.telegram.replies import locale_of, send_all, services
from bot.telegram.updatelog import note
from bot.ui import callback_data as cb

log = logging.getLogger("bot.telegram.handlers")
Context = ContextTypes.DEFAULT_TYPE


async def answer_question(update: Update, context: Context, text: str, *, quote: bool = False,
                          limited: bool = True) -> None:
    """Match ``text`` and send the answer, the "did you mean" list or the no-match reply.

    The query is logged *before* the reply is sent: whoever sees the reply (an admin's /stats in
    another chat, ``archive-bot stats``) finds the question already in the log.
    """
    svc = services(context)
    locale = locale_of(update, svc)
    user = update.effective_user
    if not text.strip():
        await send_all(update, context, [svc.renderer.fixed("not_text", locale)], quote=quote)
        note(context, "question", empty=True)
        return
    if limited and user is not None and not svc.limiter.allow(user.id):
        await send_all(update, context, [svc.renderer.fixed("rate_limited", locale)], quote=quote)
        note(context, "question", rate_limited=True)
        return
    outcome, match_ms = match_and_log(svc, update, text)
    check = _remember_candidates(svc, text, outcome)
    example = svc.answerer.example() if outcome.band is Band.SMALLTALK else None
    reply = svc.renderer.outcome(outcome, text, locale=locale, check=check, example=example)
    note(context, "question", band=outcome.band.value, score=outcome.score, match_ms=match_ms)
    await send_all(update, context, [reply], quote=quote)


def match_and_log(svc: Services, update: Update, text: str, *, origin: str = ORIGIN_TYPED) -> tuple[Outcome, float]:
    """Match ``text`` and record it in the query log (before any reply is sent, so whoever sees the reply
    finds the question logged); the outcome and the matching time in ms. A failed log write is only a
    warning: the log is for the owner's statistics, never a reason to fail a reply."""
    started = time.perf_counter()
    outcome = svc.answerer.ask(text)
    match_ms = (time.perf_counter() - started) * 1000
    user = update.effective_user
    top = outcome.decision.top
    try:
        svc.state.log_query(user.id if user else None, text, outcome.band.value, outcome.score,
                            top.key if top else None, origin=origin)
    except Exception as exc:
        log.warning("query log write failed: %s", exc)
    return outcome, match_ms


def _remember_candidates(svc: Services, text: str, outcome: Outcome) -> str | None:
    """For "did you mean" and "no match" lists: record the query behind the buttons (so a choice can be
    learned from) and return the key the buttons carry; None when there is nothing to learn from."""
    if outcome.band not in (Band.DID_YOU_MEAN, Band.NO_MATCH) or not outcome.candidates:
        return None
    rewording = svc.answerer.rewording(text, outcome.decision)
    if not rewording:
        return None
    check = cb.query_check(rewording)
    try:
        svc.state.remember_shown(check, rewording, [hit.key for hit, _ in outcome.candidates])
    except Exception as exc:  # learning is a bonus; the reply must go out
        log.warning("learning: could not record a did-you-mean list: %s", exc)
        return None
    return check


@guarded
async def on_private_text(update: Update, context: Context, svc: Services) -> None:
    await answer_question(update, context, update.effective_message.text or "")


def _mentions_bot(message: Message, bot: Bot) -> tuple[bool, str]:
    """Whether a group message addresses the bot, and its text without the @mention."""
    text = message.text or ""
    username = (bot.username or "").lower()
    addressed = False
    for entity, value in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
        if (entity.type == MessageEntity.MENTION and value.lstrip("@").lower() == username) or (
            entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot.id
        ):
            addressed = True
            text = text.replace(value, " ")
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
        addressed = True
    return addressed, text.strip()


@guarded
async def on_group_text(update: Update, context: Context, svc: Services) -> None:
    addressed, text = _mentions_bot(update.effective_message, context.bot)
    if not addressed:
        note(context, "group_text", addressed=False)
        return
    if not text:
        reply = svc.renderer.fixed("help", locale_of(update, svc), example=svc.answerer.example())
        await send_all(update, context, [reply], quote=True)
        note(context, "group_text", addressed=True, empty=True)
        return
    await answer_question(update, context, text, quote=True)


@guarded
async def on_not_text(update: Update, context: Context, svc: Services) -> None:
    """Stickers, photos, voice, files… in a private chat: a short help, never silence."""
    message = update.effective_message
    caption = message.caption if message else None
    if caption and caption.strip():
        await answer_question(update, context, caption)
        return
    await send_all(update, context, [svc.renderer.fixed("not_text", locale_of(update, svc))])
    note(context, "not_text")
