"""Commands, the error handler, and the wiring of every handler into the Application.

Handlers are thin glue from updates to :class:`~bot.answerer.Answerer` and :class:`~bot.ui.render.Renderer`
and back; text messages live in :mod:`.questions`, buttons and inline mode in :mod:`.buttons`.
Private chats: any text is a question. Groups: only when the bot is mentioned, replied to, or
asked with /ask.
"""

from __future__ import annotations

import contextlib
import logging

from telegram import Bot, BotCommand, Update
from telegram.error import NetworkError, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.config import LOCALES
from bot.i18n import strings
from bot.telegram.access import guarded, in_group, is_admin
from bot.telegram.buttons import on_callback, on_inline_query
from bot.telegram.context import Services
from bot.telegram.questions import answer_question, on_group_text, on_not_text, on_private_text
from bot.telegram.replies import locale_of, send, send_all, services
from bot.telegram.updatelog import note, register_update_log
from bot.ui import callback_data as cb

log = logging.getLogger("bot.telegram.handlers")
Context = ContextTypes.DEFAULT_TYPE


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
            note(context, "start", deep_link="found")
            return
        await send_all(update, context, [svc.renderer.fixed("gone", locale)])
    await send_all(update, context, [svc.renderer.fixed("start", locale)])
    note(context, "start", deep_link="gone" if payload else "none")


@guarded
async def on_help(update: Update, context: Context, svc: Services) -> None:
    reply = svc.renderer.fixed("help", locale_of(update, svc), example=svc.answerer.example())
    await send_all(update, context, [reply], quote=in_group(update))
    note(context, "help")


@guarded
async def on_ask(update: Update, context: Context, svc: Services) -> None:
    quote = in_group(update)
    text = " ".join(context.args or [])
    if not text.strip():
        reply = svc.renderer.fixed("ask_usage", locale_of(update, svc), example=svc.answerer.example())
        await send_all(update, context, [reply], quote=quote)
        note(context, "ask", empty=True)
        return
    await answer_question(update, context, text, quote=quote)


@guarded
async def on_random(update: Update, context: Context, svc: Services) -> None:
    locale = locale_of(update, svc)
    qid = svc.store.random_id()
    question = svc.answerer.question(qid) if qid else None
    reply = svc.renderer.question(question, locale=locale) if question else svc.renderer.fixed("empty_archive", locale)
    await send_all(update, context, [reply])
    note(context, "random", found=question is not None)


async def on_stats(update: Update, context: Context) -> None:
    """Admins: the most frequent questions without a direct answer. Others: the normal help."""
    svc = services(context)
    if not is_admin(update, svc):
        await _help_instead(update, context, "stats")
        return
    rows = [(r.query, r.count, r.band) for r in svc.state.misses(20)]
    await send_all(update, context, [svc.renderer.stats(rows, locale_of(update, svc))])
    note(context, "stats", admin=True, rows=len(rows))


async def on_reload(update: Update, context: Context) -> None:
    """Admins: reload the archive and index now. Others: the normal help."""
    svc = services(context)
    if not is_admin(update, svc):
        await _help_instead(update, context, "reload")
        return
    locale = locale_of(update, svc)
    ok = True
    try:
        await svc.reload(force=True)
        reply = svc.renderer.reloaded(len(svc.answerer.matcher), locale)
    except Exception:
        log.exception("reload failed, still serving the previous archive")
        reply = svc.renderer.fixed("error", locale)
        ok = False
    await send_all(update, context, [reply])
    note(context, "reload", admin=True, ok=ok, questions=len(svc.answerer.matcher))


async def _help_instead(update: Update, context: Context, kind: str) -> None:
    """An admin command from someone else: the normal help, as if the command did not exist."""
    await on_help(update, context)
    note(context, kind, admin=False)


async def on_unknown_command(update: Update, context: Context) -> None:
    await on_help(update, context)
    note(context, "unknown_command")


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
    register_update_log(app)
