"""Issue 10 items 1, 3 and 9: unparsable updates, at-least-once sends, handled-update bookkeeping."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest_asyncio

from bot.storage.state import StateStore
from tests.fakebotapi import FakeBotAPI
from tests.harness import running_bot
from tests.test_bot import RESNET

USER = 6262
SECRET_TEXT = "我的秘密问题"


@pytest_asyncio.fixture
async def bot(fake_api: FakeBotAPI, tmp_path, sample_matcher):
    async with running_bot(fake_api, tmp_path, matcher=sample_matcher, telegram={"request_timeout": 1}) as running:
        yield running


def push_bad_poll(api: FakeBotAPI) -> int:
    """A ``poll`` missing fields PTB requires, next to a user's text (as an old local Bot API sends it)."""
    return api.push_raw("poll", {"id": "77", "options": [{"text": SECRET_TEXT, "voter_count": 1}]})


async def test_an_unparsable_update_is_skipped_and_the_question_in_the_same_batch_answered(bot, caplog):
    caplog.set_level(logging.INFO)
    bad = push_bad_poll(bot.api)
    good = bot.api.push_message(USER, USER, RESNET)
    await bot.api.wait_for(lambda: bot.api.reply_counts(USER).get(good), timeout=10)
    await bot.api.wait_for(lambda: not bot.api.pending_updates, timeout=10)  # both acknowledged
    assert not bot.task.done()
    skipped = [r.getMessage() for r in caplog.records if f"update={bad}" in r.getMessage()]
    assert skipped and "poll" in skipped[0] and "update_id" in skipped[0]
    assert SECRET_TEXT not in caplog.text and not [r for r in caplog.records if r.levelno >= logging.CRITICAL]
    again = bot.api.push_message(USER, USER, RESNET)  # still serving
    await bot.api.wait_for(lambda: bot.api.reply_counts(USER).get(again), timeout=10)


async def test_an_inbox_update_that_no_longer_parses_does_not_stop_the_start(fake_api, tmp_path,
                                                                             sample_matcher, caplog):
    caplog.set_level(logging.INFO)
    state = StateStore.open(str(tmp_path / "archive.db.state"))
    state.enqueue([(5, json.dumps({"update_id": 5, "poll": {"id": "1", "question": SECRET_TEXT}}))])
    state.close()
    async with running_bot(fake_api, tmp_path, matcher=sample_matcher) as bot:
        uid = bot.api.push_message(USER, USER, RESNET)
        await bot.api.wait_for(lambda: bot.api.reply_counts(USER).get(uid), timeout=10)
        await asyncio.sleep(0.3)
        assert bot.services.state.inbox() == []
    assert "update=5" in caplog.text and SECRET_TEXT not in caplog.text


async def test_a_send_that_hangs_past_the_timeout_is_retried_and_answered(bot):
    bot.api.fail_next("sendMessage", 1, "hang", delay=1.5)
    uid = bot.api.push_message(USER, USER, RESNET)
    await bot.api.wait_for(lambda: bot.api.reply_counts(USER).get(uid), timeout=15)
    await asyncio.sleep(0.5)
    assert bot.api.reply_counts(USER)[uid] == 1


async def test_a_send_whose_response_was_lost_gives_at_most_one_duplicate(bot):
    bot.api.fail_next("sendMessage", 1, "lost")
    uid = bot.api.push_message(USER, USER, RESNET)
    await bot.api.wait_for(lambda: bot.api.reply_counts(USER).get(uid), timeout=15)
    await asyncio.sleep(1.0)
    assert bot.api.reply_counts(USER)[uid] in (1, 2)
    assert len(bot.api.lost_responses) == 1


async def test_a_repeated_update_id_is_logged(bot, caplog):
    caplog.set_level(logging.INFO)
    uid = bot.api.push_message(USER, USER, RESNET)
    await bot.api.wait_for(lambda: bot.api.reply_counts(USER).get(uid), timeout=10)
    await bot.api.wait_for(lambda: not bot.api.pending_updates, timeout=10)
    again = bot.api.pushed[-1].update
    bot.api._pending.append(again)  # Telegram sends the same update once more
    bot.api._wake(bot.api._update_waiters)
    await bot.api.wait_for(lambda: not bot.api.pending_updates, timeout=10)
    await asyncio.sleep(0.3)
    assert f"update={uid} repeated" in caplog.text
    assert bot.api.reply_counts(USER)[uid] == 1


async def test_handled_updates_are_pruned_without_an_archive_watcher(fake_api, tmp_path, sample_matcher):
    state = StateStore.open(str(tmp_path / "archive.db.state"))
    state.mark_handled(10**6)
    state._db.execute("UPDATE handled_updates SET ts = ?", (time.time() - 30 * 86400,))
    state.close()
    async with running_bot(fake_api, tmp_path, matcher=sample_matcher) as bot:  # reload_interval: 0
        uid = bot.api.push_message(USER, USER, RESNET)
        await bot.api.wait_for(lambda: bot.api.reply_counts(USER).get(uid), timeout=10)
        await asyncio.sleep(0.3)
        assert not bot.services.state.was_handled(10**6)
