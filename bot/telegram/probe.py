"""Asking the Bot API who the bot is (getMe), for ``archive-bot doctor --online``; nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Bot
from telegram.error import Forbidden, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.request import HTTPXRequest


@dataclass(frozen=True)
class BotIdentity:
    """What getMe says about the bot: its name and the settings made with @BotFather."""

    id: int
    username: str
    can_join_groups: bool
    can_read_all_group_messages: bool
    supports_inline_queries: bool


class ProbeError(Exception):
    """getMe failed; the message says why (never the token)."""


async def get_me(token: str, base_url: str, timeout: float = 10.0) -> BotIdentity:
    """Call getMe at ``base_url`` with ``token``. Raises :class:`ProbeError` with a reason."""
    request = HTTPXRequest(connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout,
                           pool_timeout=timeout)
    try:
        bot = Bot(token, base_url=base_url, request=request)
    except InvalidToken:
        raise ProbeError("no token to try") from None
    try:
        await request.initialize()
        me = await bot.get_me()
    except (InvalidToken, Forbidden):
        raise ProbeError("the Bot API rejected the token (Unauthorized): check it with @BotFather") from None
    except TimedOut:
        raise ProbeError(f"no answer within {timeout:g}s") from None
    except NetworkError as exc:
        raise ProbeError(f"cannot reach the Bot API: {exc.message}") from None
    except TelegramError as exc:
        raise ProbeError(f"the Bot API answered with an error: {exc.message}") from None
    finally:
        await request.shutdown()
    return BotIdentity(
        id=me.id,
        username=me.username or "",
        can_join_groups=bool(me.can_join_groups),
        can_read_all_group_messages=bool(me.can_read_all_group_messages),
        supports_inline_queries=bool(me.supports_inline_queries),
    )
