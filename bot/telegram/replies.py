"""Sending :class:`~bot.ui.render.Reply` objects as Telegram messages, and the per-update context helpers."""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    ContextTypes,
)

from bot.i18n import pick_locale
from bot.telegram.context import Services
from bot.ui.htmltext import visible_text
from bot.ui.reply import Button, Reply

log = logging.getLogger("bot.telegram.handlers")
Context = ContextTypes.DEFAULT_TYPE


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
