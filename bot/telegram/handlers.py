"""Telegram handlers: thin glue from updates to :class:`Answerer` and :class:`Renderer` and back.

The only module (with :mod:`bot.telegram.delivery` and :mod:`bot.telegram.webhook`) that knows Telegram's types.
Private chats: any text is a question. Groups: only when the bot is mentioned, replied to, or
asked with /ask. Buttons carry only ids (see :mod:`bot.ui.callback_data`), so any process can serve them.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable

from telegram import (
    Bot,
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.i18n import LOCALES, pick_locale, strings
from bot.telegram.context import Services
from bot.ui import callback_data as cb
from bot.ui.htmltext import visible_text
from bot.ui.render import Button, Reply

log = logging.getLogger("bot.telegram.handlers")
Context = ContextTypes.DEFAULT_TYPE
MAX_INLINE_QUERY = 256


def services(context: Context) -> Services:
    return context.application.bot_data["services"]


def locale_of(update: Update, svc: Services) -> str:
    user = update.effective_user
    return pick_locale(user.language_code if user else None, svc.config.locale)


# -- sending -------------------------------------------------------------------------------


def keyboard(buttons: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """Renderer buttons → Telegram's inline keyboard."""
    if not buttons:
        return None
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(b.text, callback_data=b.data, url=b.url, switch_inline_query=b.switch_inline)
         for b in row]
        for row in buttons
    ])


async def send(bot: Bot, chat_id: int, reply: Reply, *, reply_to: int | None = None,
               thread_id: int | None = None) -> Message:
    """Send one reply; if Telegram rejects its HTML, send it again as plain text."""
    options = {
        "reply_markup": keyboard(reply.buttons),
        "link_preview_options": LinkPreviewOptions(is_disabled=reply.disable_preview),
        "reply_parameters": ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None,
        "message_thread_id": thread_id,
    }
    try:
        return await bot.send_message(chat_id, reply.text, parse_mode=ParseMode.HTML, **options)
    except BadRequest as exc:
        if "parse entities" not in exc.message.lower():
            raise
        log.warning("Telegram rejected a reply's HTML (%s); sent as plain text", exc.message)
        return await bot.send_message(chat_id, visible_text(reply.text), **options)


async def send_all(update: Update, context: Context, replies: list[Reply], *, quote: bool = False) -> None:
    """Send replies to the chat the update came from (quoting the user's message in groups)."""
    chat = update.effective_chat
    if chat is None:
        return
    message = update.effective_message
    reply_to = message.message_id if quote and message else None
    thread = message.message_thread_id if message and message.is_topic_message else None
    for reply in replies:
        await send(context.bot, chat.id, reply, reply_to=reply_to, thread_id=thread)


# -- access and limits ----------------------------------------------------------------------


def allowed(update: Update, svc: Services) -> bool:
    """The optional allow-list: a user in ``allowed_users`` or a chat in ``allowed_chats``."""
    access = svc.config.access
    if not access.allowed_users and not access.allowed_chats:
        return True
    user, chat = update.effective_user, update.effective_chat
    return bool((user and user.id in access.allowed_users) or (chat and chat.id in access.allowed_chats))


def is_admin(update: Update, svc: Services) -> bool:
    user = update.effective_user
    return bool(user and user.id in svc.config.admins)


async def refuse(update: Update, context: Context, svc: Services) -> None:
    """Tell a private-chat user the bot is not open to them; stay silent in groups."""
    if not in_group(update):
        await send_all(update, context, [svc.renderer.fixed("private", locale_of(update, svc))])


def in_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type != ChatType.PRIVATE


GuardedHandler = Callable[[Update, Context, Services], Awaitable[None]]


def guarded(handler: GuardedHandler) -> Callable[[Update, Context], Awaitable[None]]:
    """Run ``handler(update, context, services)`` for users the allow-list admits; refuse the others."""

    @functools.wraps(handler)
    async def run(update: Update, context: Context) -> None:
        svc = services(context)
        if not allowed(update, svc):
            await refuse(update, context, svc)
            return
        await handler(update, context, svc)

    return run


# -- questions ------------------------------------------------------------------------------


async def answer_question(update: Update, context: Context, text: str, *, quote: bool = False,
                          limited: bool = True) -> None:
    """Match ``text`` and send the answer, the "did you mean" list or the no-match reply."""
    svc = services(context)
    locale = locale_of(update, svc)
    user = update.effective_user
    if not text.strip():
        await send_all(update, context, [svc.renderer.fixed("not_text", locale)], quote=quote)
        return
    if limited and user is not None and not svc.limiter.allow(user.id):
        await send_all(update, context, [svc.renderer.fixed("rate_limited", locale)], quote=quote)
        log.info("update=%d kind=question rate_limited", update.update_id)
        return
    started = time.perf_counter()
    outcome = svc.answerer.ask(text)
    match_ms = (time.perf_counter() - started) * 1000
    await send_all(update, context, [svc.renderer.outcome(outcome, text, locale=locale)], quote=quote)
    top = outcome.decision.top
    try:
        svc.state.log_query(user.id if user else None, text, outcome.band.value, outcome.score,
                            top.key if top else None)
    except Exception as exc:  # the log is for the owner's statistics; never fail a reply over it
        log.warning("query log write failed: %s", exc)
    log.info("update=%d kind=question band=%s score=%.1f match_ms=%.1f total_ms=%.1f", update.update_id,
             outcome.band.value, outcome.score, match_ms, (time.perf_counter() - started) * 1000)


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
        return
    if not text:
        await send_all(update, context, [svc.renderer.fixed("help", locale_of(update, svc))], quote=True)
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


# -- commands -----------------------------------------------------------------------------


@guarded
async def on_start(update: Update, context: Context, svc: Services) -> None:
    locale = locale_of(update, svc)
    payload = context.args[0] if context.args else None
    if payload:
        qid = cb.decode_start_payload(payload)
        question = svc.answerer.question(qid) if qid else None
        if question is not None:
            await send_all(update, context, [svc.renderer.question(question, locale=locale)])
            return
        await send_all(update, context, [svc.renderer.fixed("gone", locale)])
    await send_all(update, context, [svc.renderer.fixed("start", locale)])


@guarded
async def on_help(update: Update, context: Context, svc: Services) -> None:
    await send_all(update, context, [svc.renderer.fixed("help", locale_of(update, svc))], quote=in_group(update))


@guarded
async def on_ask(update: Update, context: Context, svc: Services) -> None:
    quote = in_group(update)
    text = " ".join(context.args or [])
    if not text.strip():
        await send_all(update, context, [svc.renderer.fixed("ask_usage", locale_of(update, svc))], quote=quote)
        return
    await answer_question(update, context, text, quote=quote)


@guarded
async def on_random(update: Update, context: Context, svc: Services) -> None:
    locale = locale_of(update, svc)
    qid = svc.store.random_id()
    question = svc.answerer.question(qid) if qid else None
    reply = svc.renderer.question(question, locale=locale) if question else svc.renderer.fixed("empty_archive", locale)
    await send_all(update, context, [reply])


async def on_stats(update: Update, context: Context) -> None:
    """Admins: the most frequent questions without a direct answer. Others: the normal help."""
    svc = services(context)
    if not is_admin(update, svc):
        await on_help(update, context)
        return
    rows = [(r.query, r.count, r.band) for r in svc.state.misses(20)]
    await send_all(update, context, [svc.renderer.stats(rows, locale_of(update, svc))])


async def on_reload(update: Update, context: Context) -> None:
    """Admins: reload the archive and index now. Others: the normal help."""
    svc = services(context)
    if not is_admin(update, svc):
        await on_help(update, context)
        return
    locale = locale_of(update, svc)
    try:
        await svc.reload(force=True)
        reply = svc.renderer.reloaded(len(svc.answerer.matcher), locale)
    except Exception as exc:
        log.error("reload failed, still serving the previous archive: %s", exc)
        reply = svc.renderer.fixed("error", locale)
    await send_all(update, context, [reply])


async def on_unknown_command(update: Update, context: Context) -> None:
    await on_help(update, context)


# -- buttons ------------------------------------------------------------------------------


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
    question = svc.answerer.question(action.id)
    if question is None:
        await query.answer(stale, show_alert=True)
        log.info("update=%d kind=callback stale=removed", update.update_id)
        return
    if isinstance(action, cb.Open):
        if action.offset and action.offset >= len(question.answers):
            await query.answer(stale, show_alert=True)
            return
        await query.answer()
        await deliver(update, context, query, [svc.renderer.question(question, locale=locale, offset=action.offset)])
    elif isinstance(action, cb.FullAnswer):
        if action.index >= len(question.answers):
            await query.answer(stale, show_alert=True)
            return
        await query.answer()
        await deliver(update, context, query, svc.renderer.answer_full(question, action.index, locale=locale))
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


async def deliver(update: Update, context: Context, query: CallbackQuery, replies: list[Reply]) -> None:
    """New messages in the chat; for a message sent via inline mode (no chat known), edit it in place."""
    if query.message is not None:
        await send_all(update, context, replies)
        return
    if query.inline_message_id and replies:
        first = replies[0]
        try:
            await context.bot.edit_message_text(
                first.text, inline_message_id=query.inline_message_id, parse_mode=ParseMode.HTML,
                reply_markup=keyboard(first.buttons),
                link_preview_options=LinkPreviewOptions(is_disabled=first.disable_preview),
            )
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise


# -- inline mode --------------------------------------------------------------------------


async def on_inline_query(update: Update, context: Context) -> None:
    """``@bot 关键词`` in any chat: up to 10 archived questions; choosing one sends its answer."""
    svc = services(context)
    inline = update.inline_query
    if not allowed(update, svc):
        await inline.answer([], cache_time=60, is_personal=True)
        return
    locale = locale_of(update, svc)
    text = inline.query[:MAX_INLINE_QUERY].strip()
    if not text:
        await inline.answer([], cache_time=60)
        return
    if not svc.limiter.allow(inline.from_user.id):
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
    await inline.answer(results, cache_time=300)
    log.info("update=%d kind=inline results=%d ms=%.1f", update.update_id, len(results),
             (time.perf_counter() - started) * 1000)


# -- errors -------------------------------------------------------------------------------


async def on_error(update: object, context: Context) -> None:
    """Log a handler's failure in one line (a traceback only for real bugs); tell the user."""
    exc = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(exc, NetworkError):
        log.warning("update=%s Bot API call failed after retries: %s: %s", update_id, type(exc).__name__,
                    exc.message)
        return
    if isinstance(exc, TelegramError):
        log.warning("update=%s Bot API error: %s: %s", update_id, type(exc).__name__, exc.message)
        return
    log.error("update=%s handler failed", update_id, exc_info=exc)
    if isinstance(update, Update) and update.effective_chat is not None and update.effective_message is not None:
        svc = services(context)
        with contextlib.suppress(TelegramError):
            await send(context.bot, update.effective_chat.id, svc.renderer.fixed("error", locale_of(update, svc)))


# -- wiring -------------------------------------------------------------------------------


async def set_commands(bot: Bot) -> None:
    """Register the command menu (default in zh-Hans, plus zh-Hant and English)."""
    for locale in LOCALES:
        t = strings(locale)
        commands = [BotCommand("ask", t.cmd_ask), BotCommand("random", t.cmd_random), BotCommand("help", t.cmd_help)]
        if locale == "zh-Hans":
            await bot.set_my_commands(commands)
        language = {"zh-Hans": "zh", "zh-Hant": None, "en": "en"}[locale]
        if language:
            await bot.set_my_commands(commands, language_code=language)


def register(app: Application) -> None:
    """Add every handler to ``app``."""
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    new_message = filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler("start", on_start, filters=new_message))
    app.add_handler(CommandHandler("help", on_help, filters=new_message))
    app.add_handler(CommandHandler("ask", on_ask, filters=new_message))
    app.add_handler(CommandHandler("random", on_random, filters=new_message))
    app.add_handler(CommandHandler("stats", on_stats, filters=new_message))
    app.add_handler(CommandHandler("reload", on_reload, filters=new_message))
    app.add_handler(MessageHandler(private & new_message & filters.COMMAND, on_unknown_command))
    app.add_handler(MessageHandler(private & new_message & filters.TEXT & ~filters.COMMAND, on_private_text))
    app.add_handler(MessageHandler(groups & new_message & filters.TEXT & ~filters.COMMAND, on_group_text))
    app.add_handler(MessageHandler(
        private & new_message & ~filters.TEXT & ~filters.StatusUpdate.ALL, on_not_text))
    app.add_handler(CallbackQueryHandler(on_callback))
    app.add_handler(InlineQueryHandler(on_inline_query))
    app.add_error_handler(on_error)


