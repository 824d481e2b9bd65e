"""Run the real bot (service + handlers) against the fake Bot API, in the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.config import Config, parse_config
from bot.runtime import open_services
from bot.search.matcher import Matcher
from bot.telegram.app import build_application, serve
from bot.telegram.context import Services
from tests.fakebotapi import BotMessage, FakeBotAPI

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "sample-archive"
ADMIN = 999


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def bot_config(api: FakeBotAPI, folder: Path, **overrides: Any) -> Config:
    """A config for the bot under test: the fake's URL, a store in ``folder``, the sample archive."""
    data = {
        "telegram": {"token": api.token, "base_url": api.base_url, "poll_timeout": 1, "request_timeout": 3,
                     "max_retries": 3, "overall_max_rate": 0, "group_max_rate": 0},
        "archive": {"db": str(folder / "archive.db"), "paths": [str(SAMPLE)], "ingest_on_start": True,
                    "reload_interval": 0},
        "admins": [ADMIN],
        "rate_limit": {"per_minute": 1000},
    }
    return parse_config(merge(data, overrides), source="test", base=folder, environ={})


@dataclass
class RunningBot:
    api: FakeBotAPI
    services: Services
    app: Application
    stop: asyncio.Event
    task: asyncio.Task[int]
    chat_counts: dict[int, int] = field(default_factory=dict)

    async def ask(self, user: int, text: str, *, n: int = 1, timeout: float = 10.0, **kw: Any) -> list[BotMessage]:
        """A user sends ``text`` in a private chat; wait for ``n`` new bot messages there; return them."""
        before = len(self.api.sent_messages(user))
        self.api.push_message(user, user, text, **kw)
        return (await self.api.wait_for_messages(before + n, user, timeout=timeout))[before:]

    async def press(self, message: BotMessage, button: str, *, n: int = 1, user: int | None = None,
                    timeout: float = 10.0) -> list[BotMessage]:
        """Press a button and wait for ``n`` new bot messages in that chat."""
        before = len(self.api.sent_messages(message.chat_id))
        self.api.press_button(message, button, user=user)
        return (await self.api.wait_for_messages(before + n, message.chat_id, timeout=timeout))[before:]


@contextlib.asynccontextmanager
async def running_bot(api: FakeBotAPI, folder: Path, *, matcher: Matcher | None = None, ready: str = "getUpdates",
                      **overrides: Any) -> AsyncIterator[RunningBot]:
    """Start the bot against ``api``; stop it (cleanly) afterwards."""
    cfg = bot_config(api, folder, **overrides)
    services = open_services(cfg, matcher=matcher)
    app = build_application(cfg, services)
    stop = asyncio.Event()
    task = asyncio.ensure_future(serve(app, services, stop=stop, signals=False))
    try:
        await api.wait_for_call(ready, timeout=10)  # polling (or the webhook registered): ready
        yield RunningBot(api, services, app, stop, task)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)
        services.close()
