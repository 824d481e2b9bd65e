"""Delivering updates as Telegram does to a webhook: one chat's updates one at a time (the next only
after a 2xx), chats in parallel up to ``max_connections``, a failed delivery retried."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp

from tests.fakebotapi import FakeBotAPI

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def message_update(api: FakeBotAPI, update_id: int, user: int, text: str) -> dict:
    """An update as Telegram would send it: ``user`` writes ``text`` in their private chat (made known to ``api``)."""
    msg, _ = api._user_message(user, user, "private", "zh-hans", None, {"text": text})
    return {"update_id": update_id, "message": msg}


@dataclass
class DeliveryLog:
    """What the sender saw: per update, the attempts, the first attempt's and the first 2xx's time."""

    attempts: dict[int, int] = field(default_factory=dict)
    first_at: dict[int, float] = field(default_factory=dict)
    accepted_at: dict[int, float] = field(default_factory=dict)
    failures: int = 0


async def deliver(urls: Sequence[str], secret: str, chats: dict[int, list[dict]], *, max_connections: int = 40,
                  retry_delay: float = 0.2, log: DeliveryLog | None = None) -> DeliveryLog:
    """POST every chat's updates in order (next after a 2xx), retrying failures; ``urls`` are tried in turn."""
    log = log or DeliveryLog()
    slots = asyncio.Semaphore(max_connections)
    turn = [0]

    async def one_chat(session: aiohttp.ClientSession, updates: list[dict]) -> None:
        for update in updates:
            while True:
                log.attempts[update["update_id"]] = log.attempts.get(update["update_id"], 0) + 1
                log.first_at.setdefault(update["update_id"], time.monotonic())
                url = urls[turn[0] % len(urls)]
                turn[0] += 1
                try:
                    async with slots, session.post(url, json=update, headers={SECRET_HEADER: secret}) as resp:
                        await resp.read()
                        if 200 <= resp.status < 300:
                            log.accepted_at[update["update_id"]] = time.monotonic()
                            break
                except (aiohttp.ClientError, TimeoutError):
                    pass
                log.failures += 1
                await asyncio.sleep(retry_delay)

    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(one_chat(session, ups) for ups in chats.values()))
    return log
