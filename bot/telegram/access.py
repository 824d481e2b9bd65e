"""Who may use the bot (allow-list, admins), and the guard every message handler runs behind."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from telegram import (
    Update,
)
from telegram.constants import ChatType
from telegram.ext import (
    ContextTypes,
)

from bot.telegram.context import Services
from bot.telegram.replies import locale_of, send_all, services
from bot.telegram.updatelog import note

log = logging.getLogger("bot.telegram.handlers")
Context = ContextTypes.DEFAULT_TYPE


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
            note(context, handler.__name__.removeprefix("on_"), refused=True)
            return
        await handler(update, context, svc)

    return run
