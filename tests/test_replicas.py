"""Webhook replicas on a shared PostgreSQL state: record before 200, handle from the inbox in chat order,
take over a dead replica's claims, never answer a redelivery twice."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest_asyncio

from bot.archive.ids import question_id
from bot.archive.jsonl import to_json
from bot.cli import build_parser
from bot.models import Answer, Question
from bot.storage.backends import open_state, open_store
from bot.storage.ingest import ingest
from bot.storage.sqlitedb import StoreError
from tests.fakebotapi import FakeBotAPI
from tests.harness import running_bot
from tests.pg import fresh_database, server_url
from tests.test_webhook import SECRET, free_port
from tests.webhooks import SECRET_HEADER, deliver, message_update

TITLES = ["ResNet 的残差连接为什么有效?", "每天喝咖啡对身体有害吗?", "晨跑和夜跑哪个更好?"]


async def until(condition, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest_asyncio.fixture
async def pg_url():
    with fresh_database(server_url()) as url:
        yield url


def replica(api: FakeBotAPI, tmp_path, matcher, url: str, port: int):
    webhook = {"listen": "127.0.0.1", "port": port, "url_path": "tg", "public_url": f"http://127.0.0.1:{port}/tg",
               "secret_token": SECRET, "claim_lease": 2}
    return running_bot(api, tmp_path, matcher=matcher, ready="setWebhook",
                       telegram={"mode": "webhook", "webhook": webhook}, archive={"db": url})


async def test_updates_are_recorded_then_answered_in_each_chats_order(fake_api, tmp_path, sample_matcher, pg_url):
    port = free_port()
    async with replica(fake_api, tmp_path, sample_matcher, pg_url, port) as bot:
        chats = {user: [message_update(fake_api, user * 10 + i, user, t) for i, t in enumerate(TITLES)]
                 for user in (501, 502, 503)}
        log = await deliver([f"http://127.0.0.1:{port}/tg"], SECRET, chats)
        for user in chats:
            replies = await fake_api.wait_for_messages(3, user, timeout=15)
            assert [r.text.split("\n")[0] for r in replies] == TITLES
        await until(lambda: bot.services.state.pending() == 0)  # the last reply goes out just before its mark
        assert log.failures == 0
        assert all(bot.services.state.was_handled(u["update_id"]) for ups in chats.values() for u in ups)


async def test_a_redelivered_update_is_answered_once(fake_api, tmp_path, sample_matcher, pg_url):
    port = free_port()
    async with replica(fake_api, tmp_path, sample_matcher, pg_url, port):
        update = message_update(fake_api, 700, 601, TITLES[0])
        await deliver([f"http://127.0.0.1:{port}/tg"], SECRET, {601: [update]})
        await fake_api.wait_for_messages(1, 601, timeout=15)
        await deliver([f"http://127.0.0.1:{port}/tg"], SECRET, {601: [update]})  # Telegram sends it again
        await asyncio.sleep(1.0)
        assert len(fake_api.sent_messages(601)) == 1


async def test_updates_a_dead_replica_had_claimed_are_answered_by_another(fake_api, tmp_path, sample_matcher, pg_url):
    dead = open_state(pg_url)
    for i, title in enumerate(TITLES):
        update = message_update(fake_api, 800 + i, 602, title)
        dead.record_update(update["update_id"], 602, json.dumps(update))
    assert [u["update_id"] for u in dead.claim("dead-replica", lease=1, limit=10)] == [800]
    dead.close()  # it dies holding update 800 for 1 s
    async with replica(fake_api, tmp_path, sample_matcher, pg_url, free_port()):
        replies = await fake_api.wait_for_messages(3, 602, timeout=15)
    assert [r.text.split("\n")[0] for r in replies] == TITLES


def test_run_takes_the_port_of_this_replica():
    args = build_parser().parse_args(["run", "--port", "8444"])
    assert args.port == 8444


async def test_an_ingest_from_elsewhere_is_picked_up_by_a_running_replica(fake_api, tmp_path, sample_matcher, pg_url):
    port = free_port()
    webhook = {"listen": "127.0.0.1", "port": port, "url_path": "tg", "public_url": f"http://127.0.0.1:{port}/tg",
               "secret_token": SECRET}
    async with running_bot(fake_api, tmp_path, matcher=sample_matcher, ready="setWebhook",
                           telegram={"mode": "webhook", "webhook": webhook},
                           archive={"db": pg_url, "reload_interval": 0.2}) as bot:
        before = len(bot.services.answerer.matcher)
        new = Question(id=question_id("新加的问题为什么会出现?"), title="新加的问题为什么会出现?",
                       answers=(Answer("x", "因为刚导入。"),))
        (tmp_path / "new.jsonl").write_text(to_json(new) + "\n", encoding="utf-8")
        other = open_store(pg_url)  # another machine's `archive-bot ingest`
        ingest(other, [str(tmp_path / "new.jsonl")])
        other.close()
        await until(lambda: len(bot.services.answerer.matcher) == before + 1, timeout=20)
        [reply] = await bot.ask(603, "新加的问题为什么会出现")
    assert reply.text.startswith("新加的问题为什么会出现?")


async def test_an_update_that_cannot_be_recorded_gets_503_and_is_answered_when_sent_again(
        fake_api, tmp_path, sample_matcher, pg_url, monkeypatch):
    port = free_port()
    async with replica(fake_api, tmp_path, sample_matcher, pg_url, port) as bot:
        update = message_update(fake_api, 900, 604, TITLES[1])
        state = bot.services.state
        real = state.record_update

        def database_down(*args, **kwargs):
            raise StoreError("postgresql://bot:***@db/archive: the bot state store failed (server closed)")

        monkeypatch.setattr(state, "record_update", database_down)
        async with aiohttp.ClientSession() as http, http.post(
                f"http://127.0.0.1:{port}/tg", json=update, headers={SECRET_HEADER: SECRET}) as resp:
            assert resp.status == 503
        await asyncio.sleep(0.5)
        assert fake_api.sent_messages(604) == []
        monkeypatch.setattr(state, "record_update", real)
        log = await deliver([f"http://127.0.0.1:{port}/tg"], SECRET, {604: [update]})  # Telegram retries
        [reply] = await fake_api.wait_for_messages(1, 604, timeout=15)
    assert reply.text.startswith(TITLES[1]) and log.failures == 0
