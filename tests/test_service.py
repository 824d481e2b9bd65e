"""Service parts without a network: rate limit, token redaction, retry classification, ordering."""

from __future__ import annotations

import asyncio
import io
import logging

import httpx
from telegram.error import NetworkError, TimedOut

from bot.config import parse_config
from bot.logs import setup_logging
from bot.telegram.context import UserRateLimit
from bot.telegram.delivery import ChatSerializer, may_have_been_delivered

TOKEN = "777:SECRET_TOKEN_value_for_redaction"


def test_rate_limit_is_a_sliding_minute_per_user():
    now = [0.0]
    limit = UserRateLimit(3, clock=lambda: now[0])
    assert [limit.allow(1) for _ in range(4)] == [True, True, True, False]
    assert limit.allow(2)  # other users are not affected
    now[0] = 59.9
    assert not limit.allow(1)
    now[0] = 60.0
    assert limit.allow(1)


def test_rate_limit_forgets_idle_users():
    now = [0.0]
    limit = UserRateLimit(1, clock=lambda: now[0])
    for user in range(10_000):
        limit.allow(user)
    now[0] = 61.0
    assert limit.allow(99_999)
    assert len(limit._seen) == 1  # the 10,000 idle users are gone


def test_token_is_redacted_from_every_log_record_even_tracebacks():
    cfg = parse_config({"telegram": {"token": TOKEN}}, environ={})
    stream = io.StringIO()
    handler = setup_logging(cfg, stream)
    try:
        log = logging.getLogger("bot.test")
        log.warning("calling https://api.telegram.org/bot%s/getMe", TOKEN)
        try:
            raise RuntimeError(f"failed for {TOKEN}")
        except RuntimeError:
            log.exception("boom")
        logging.getLogger("httpx").info("HTTP Request: POST https://x/bot%s/sendMessage", TOKEN)
    finally:
        logging.getLogger().removeHandler(handler)
    out = stream.getvalue()
    assert "SECRET_TOKEN" not in out
    assert "<token>" in out and "boom" in out


def test_only_time_outs_after_sending_count_as_possibly_delivered():
    def timed_out(cause: Exception) -> TimedOut:
        try:
            raise TimedOut() from cause
        except TimedOut as exc:
            return exc

    request = httpx.Request("POST", "http://x")
    assert may_have_been_delivered(timed_out(httpx.ReadTimeout("slow", request=request)))
    assert not may_have_been_delivered(timed_out(httpx.ConnectTimeout("down", request=request)))
    assert not may_have_been_delivered(timed_out(httpx.PoolTimeout("busy", request=request)))
    assert not may_have_been_delivered(NetworkError("Bad Gateway"))


async def test_one_chat_in_order_other_chats_concurrently():
    serializer = ChatSerializer(limit=4)
    events: list[str] = []

    async def work(name: str, delay: float) -> None:
        events.append(f"start {name}")
        await asyncio.sleep(delay)
        events.append(f"end {name}")

    await asyncio.gather(
        serializer.run(1, lambda: work("a1", 0.05)),
        serializer.run(1, lambda: work("a2", 0.0)),
        serializer.run(2, lambda: work("b1", 0.0)),
    )
    assert events.index("end a1") < events.index("start a2")  # same chat: in order
    assert events.index("end b1") < events.index("end a1")  # other chat: not held up
