"""One INFO line per update, for every kind of update, and never the user's text.

A handler says what it did with :func:`note` (a kind and a few words or numbers); a handler in
the group after all others writes the line, so every update gets exactly one, including those no
handler takes (an edited message, a member update) and those whose handler failed::

    update=123 kind=question band=answer score=97.1 match_ms=0.8 total_ms=3.5
"""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

log = logging.getLogger("bot.telegram.handlers")
Context = ContextTypes.DEFAULT_TYPE

FIRST_GROUP = -1
LAST_GROUP = 1
_STARTED = "archive_bot_started"
_NOTE = "archive_bot_note"
#: Update fields in the order they name an unhandled update's kind.
_KINDS = (
    "message", "edited_message", "channel_post", "edited_channel_post", "callback_query", "inline_query",
    "chosen_inline_result", "my_chat_member", "chat_member", "chat_join_request", "message_reaction",
    "message_reaction_count", "poll", "poll_answer", "business_message", "edited_business_message",
)

Field = str | int | float | bool


def note(context: Context, kind: str, **fields: Field) -> None:
    """Record what the handler did with this update (replaces an earlier note).

    ``kind`` and ``fields`` must be words and numbers chosen by the bot: never user text.
    """
    setattr(context, _NOTE, (kind, fields))


def _format(value: Field) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def default_kind(update: object) -> str:
    """What an update nobody noted is: ``edited_message``, ``poll`` … (``other`` if unknown)."""
    for name in _KINDS:
        if getattr(update, name, None) is not None:
            return name
    return "other"


def line(update_id: int | None, kind: str, fields: dict[str, Field], total_ms: float) -> str:
    """The log line (without the logger's prefix)."""
    parts = [f"update={update_id}", f"kind={kind}"]
    parts += [f"{key}={_format(value)}" for key, value in fields.items()]
    parts.append(f"total_ms={total_ms:.1f}")
    return " ".join(parts)


async def _start(update: Update, context: Context) -> None:
    setattr(context, _STARTED, time.perf_counter())


async def _write(update: Update, context: Context) -> None:
    started = getattr(context, _STARTED, None)
    total_ms = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    kind, fields = getattr(context, _NOTE, None) or (default_kind(update), {"handled": False})
    log.info("%s", line(update.update_id, kind, fields, total_ms))


def register_update_log(app: Application) -> None:
    """Time every update from the first handler group and log it in a group after all the others."""
    app.add_handler(TypeHandler(Update, _start), group=FIRST_GROUP)
    app.add_handler(TypeHandler(Update, _write), group=LAST_GROUP)
