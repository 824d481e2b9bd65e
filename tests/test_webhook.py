"""Webhook mode: the secret token guards every request; updates are answered; /healthz reports."""

from __future__ import annotations

import json
import socket

import aiohttp
import pytest_asyncio

from tests.fakebotapi import FakeBotAPI
from tests.harness import running_bot
from tests.test_bot import RESNET

SECRET = "s3cret_Token-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest_asyncio.fixture
async def hooked(fake_api: FakeBotAPI, tmp_path, sample_matcher):
    port = free_port()
    webhook = {"listen": "127.0.0.1", "port": port, "url_path": "tg", "public_url": f"http://127.0.0.1:{port}/tg",
               "secret_token": SECRET}
    async with running_bot(fake_api, tmp_path, matcher=sample_matcher, ready="setWebhook",
                           telegram={"mode": "webhook", "webhook": webhook}) as bot:
        yield bot, f"http://127.0.0.1:{port}"


async def test_webhook_is_registered_with_the_secret_and_updates_are_answered(hooked):
    bot, _ = hooked
    [call] = bot.api.calls("setWebhook")
    assert call.params["secret_token"] == SECRET and call.params["url"].endswith("/tg")
    bot.api.push_message(3131, 3131, RESNET)
    [reply] = await bot.api.wait_for_messages(1, 3131)
    assert reply.text.startswith(RESNET)
    assert all(d["ok"] for d in bot.api.webhook_deliveries)


async def test_requests_without_the_right_secret_are_refused(hooked):
    bot, base = hooked
    update = {"update_id": 99, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"},
                                           "from": {"id": 1, "is_bot": False, "first_name": "x"}, "text": RESNET}}
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                        {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}):
            async with http.post(f"{base}/tg", json=update, headers=headers) as resp:
                assert resp.status == 403
        async with http.post(f"{base}/tg", data=b"{not json", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as r:
            assert r.status == 400
        async with http.get(f"{base}/tg") as resp:
            assert resp.status == 405
        async with http.get(f"{base}/healthz") as resp:
            assert resp.status == 200
            health = json.loads(await resp.text())
            assert health["status"] == "ok" and health["questions"] == len(bot.services.answerer.matcher)
    assert not bot.api.sent_messages(1)  # the forged update was never handled
