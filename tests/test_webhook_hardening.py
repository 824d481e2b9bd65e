"""Issue 10 item 7 (and item 1 in webhook mode): hostile requests get 403/400/408, never a 500."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time

import aiohttp
import pytest
import pytest_asyncio

from tests.fakebotapi import FakeBotAPI
from tests.harness import running_bot
from tests.test_bot import RESNET
from tests.test_webhook import SECRET, free_port

USER = 3232
MESSAGE = {"message_id": 1, "date": 0, "chat": {"id": USER, "type": "private"},
           "from": {"id": USER, "is_bot": False, "first_name": "x"}, "text": RESNET}


@pytest_asyncio.fixture
async def hooked(fake_api: FakeBotAPI, tmp_path, sample_matcher):
    port = free_port()
    webhook = {"listen": "127.0.0.1", "port": port, "url_path": "tg", "public_url": f"http://127.0.0.1:{port}/tg",
               "secret_token": SECRET, "read_timeout": 1}
    async with running_bot(fake_api, tmp_path, matcher=sample_matcher, ready="setWebhook",
                           telegram={"mode": "webhook", "webhook": webhook}) as bot:
        yield bot, port


async def post(port: int, body: bytes, secret: bytes = SECRET.encode()) -> int:
    """POST raw bytes with a raw secret header (aiohttp's client refuses non-ASCII header values)."""
    def go() -> int:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"POST /tg HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"X-Telegram-Bot-Api-Secret-Token: " + secret + b"\r\n"
                      b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
            return int(s.recv(100).split(b" ")[1])
    return await asyncio.to_thread(go)


async def test_a_secret_header_with_non_ascii_bytes_is_forbidden(hooked):
    _, port = hooked
    assert await post(port, b'{"update_id": 1}', secret=SECRET.encode() + b"\xc3\xa9") == 403
    assert await post(port, b'{"update_id": 1}', secret=b"\xff\xfe") == 403


@pytest.mark.parametrize("update_id", ['"abc"', str(2**70), "-1", "1.5", "true", "null"])
async def test_a_bad_update_id_with_the_right_secret_is_a_bad_request(hooked, update_id):
    _, port = hooked
    body = f'{{"update_id": {update_id}, "message": {json.dumps(MESSAGE)}}}'
    assert await post(port, body.encode()) == 400


async def test_an_unparsable_update_gets_200_and_is_logged_without_its_text(hooked, caplog):
    bot, port = hooked
    caplog.set_level(logging.INFO)
    assert await post(port, '{"update_id": 41, "poll": {"id": "1", "question": "秘密"}}'.encode()) == 200
    assert "update=41 keys=['poll', 'update_id']" in caplog.text and "秘密" not in caplog.text
    async with aiohttp.ClientSession() as http, http.post(  # still serving
        f"http://127.0.0.1:{port}/tg", json={"update_id": 42, "message": MESSAGE},
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    ) as resp:
        assert resp.status == 200
    assert any(c.params.get("chat_id") == USER for c in bot.api.calls("sendMessage"))


@pytest.mark.parametrize("partial", [
    b"POST /tg HTTP/1.1\r\nHost: x\r\n",  # headers never finished
    b"POST /tg HTTP/1.1\r\nHost: x\r\nX-Telegram-Bot-Api-Secret-Token: " + SECRET.encode()
    + b"\r\nContent-Length: 100\r\n\r\n{\"upd",  # body never finished
])
async def test_slow_headers_and_bodies_are_cut_off(hooked, partial):
    _, port = hooked

    def hold() -> float:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(partial)
            started = time.monotonic()
            while s.recv(1000):  # until the server closes the connection
                pass
            return time.monotonic() - started

    assert await asyncio.to_thread(hold) < 4
