"""Faults: the bot keeps answering through Bot API errors, time-outs, drops and restarts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import pytest_asyncio

from tests.fakebotapi import FakeBotAPI
from tests.harness import ROOT, running_bot
from tests.test_bot import RESNET

USER = 5151


@pytest_asyncio.fixture
async def bot(fake_api: FakeBotAPI, tmp_path, sample_matcher):
    async with running_bot(fake_api, tmp_path, matcher=sample_matcher) as running:
        yield running


async def asked_once(bot, text: str, user: int = USER):
    update_id = bot.api.push_message(user, user, text)
    await bot.api.wait_for(lambda: bot.api.reply_counts(user).get(update_id), timeout=15)
    await asyncio.sleep(0.3)  # room for a duplicate to show up
    return update_id, bot.api.reply_counts(user)[update_id]


@pytest.mark.parametrize("kind", ["500", "502", "429", "drop"])
async def test_send_failures_are_retried_and_answered_exactly_once(bot, kind):
    bot.api.fail_next("sendMessage", 2, kind, retry_after=1)
    _, count = await asked_once(bot, RESNET)
    assert count == 1
    assert len(bot.api.injected_faults) == 2


@pytest.mark.parametrize("kind", ["500", "429", "drop", "delay"])
async def test_polling_survives_get_updates_failures(bot, kind):
    bot.api.fail_next("getUpdates", 2, kind, retry_after=1, delay=4.5)
    _, count = await asked_once(bot, RESNET)
    assert count == 1


async def test_send_that_times_out_after_delivery_is_repeated_once(fake_api, tmp_path, sample_matcher):
    """At least once: a send that timed out is repeated, though Telegram may have carried it out."""
    async with running_bot(fake_api, tmp_path, matcher=sample_matcher, telegram={"request_timeout": 1}) as bot:
        bot.api.fail_next("sendMessage", 1, "delay", delay=2)
        update_id = bot.api.push_message(USER, USER, RESNET)
        await bot.api.wait_for(lambda: bot.api.reply_counts(USER).get(update_id), timeout=10)
        await asyncio.sleep(2.5)
        assert bot.api.reply_counts(USER)[update_id] == 2  # the late original and the retry


async def test_random_faults_on_every_method_lose_and_repeat_nothing(bot):
    bot.api.faults(0.15, kinds=("500", "502", "429", "drop"), seed=7, retry_after=1)
    users = range(6000, 6010)
    pushed = {}
    for round_ in range(3):
        for user in users:
            pushed[bot.api.push_message(user, user, RESNET if round_ % 2 else "每天喝咖啡对身体有害吗")] = user
    await bot.api.wait_for(
        lambda: all(bot.api.reply_counts(u).get(uid) for uid, u in pushed.items()), timeout=60
    )
    bot.api.clear_faults()
    await asyncio.sleep(0.5)
    counts = {uid: bot.api.reply_counts(u).get(uid) for uid, u in pushed.items()}
    assert set(counts.values()) == {1}
    assert bot.api.injected_faults


BOT_PROCESS = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {root!r})
    from bot.config import parse_config
    from bot.runtime import run
    sys.exit(run(parse_config(json.loads({config!r}), source="test", environ={{}})))
""")


def start_bot_process(base_url: str, token: str, folder) -> subprocess.Popen:
    config = {
        "telegram": {"token": token, "base_url": base_url, "poll_timeout": 1, "request_timeout": 3,
                     "overall_max_rate": 0},
        "archive": {"db": str(folder / "archive.db"), "paths": [str(ROOT / "sample-archive")],
                    "ingest_on_start": True, "reload_interval": 0},
        "rate_limit": {"per_minute": 1000},
    }
    code = BOT_PROCESS.format(root=str(ROOT), config=json.dumps(config))
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_process(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 0, err.decode()[-2000:]
    return err.decode()


async def test_answered_but_unacknowledged_updates_are_not_answered_again_after_a_kill(fake_api, tmp_path):
    proc = start_bot_process(fake_api.base_url, fake_api.token, tmp_path)
    try:
        await fake_api.wait_for_call("getUpdates", timeout=30)
        fake_api.fail_next("getUpdates", 1, "delay", delay=30)  # the call that would acknowledge the batch
        pushed = [fake_api.push_message(7000 + i, 7000 + i, RESNET) for i in range(10)]
        await fake_api.wait_for(lambda: len(fake_api.sent_messages()) >= 10, timeout=20)
        await asyncio.sleep(0.5)
        assert {u["update_id"] for u in fake_api.pending_updates} >= set(pushed)  # answered, not acknowledged
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    fake_api.clear_faults()
    proc = start_bot_process(fake_api.base_url, fake_api.token, tmp_path)
    try:
        await fake_api.wait_for(lambda: not fake_api.pending_updates, timeout=30)  # redelivered and acknowledged
        await asyncio.sleep(0.5)
        assert len(fake_api.sent_messages()) == 10
    finally:
        stop_process(proc)


async def test_bot_killed_mid_burst_answers_every_question_after_restart(fake_api, tmp_path):
    proc = start_bot_process(fake_api.base_url, fake_api.token, tmp_path)
    pushed = {}
    try:
        await fake_api.wait_for_call("getUpdates", timeout=30)
        for i in range(40):
            user = 7100 + i % 8
            pushed[fake_api.push_message(user, user, RESNET)] = user
        await fake_api.wait_for(lambda: len(fake_api.sent_messages()) >= 5, timeout=20)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(fake_api.sent_messages()) < 40, "the kill came too late to test anything"
    proc = start_bot_process(fake_api.base_url, fake_api.token, tmp_path)
    try:
        await fake_api.wait_for(
            lambda: all(fake_api.reply_counts(u).get(uid) for uid, u in pushed.items()), timeout=60
        )
        await asyncio.sleep(1.0)
        counts = [fake_api.reply_counts(u).get(uid) for uid, u in pushed.items()]
    finally:
        stop_process(proc)
    assert all(c >= 1 for c in counts)
    # Only a reply that Telegram took but whose update was not yet recorded as handled when the
    # process died can repeat: at most one per update in flight (concurrent_updates, 8 here).
    assert sum(c - 1 for c in counts) <= 8


async def test_sigterm_stops_cleanly_and_logs_no_token(fake_api, tmp_path):
    proc = start_bot_process(fake_api.base_url, fake_api.token, tmp_path)
    await fake_api.wait_for_call("getUpdates", timeout=30)
    fake_api.push_message(USER, USER, RESNET)
    await fake_api.wait_for_messages(1, USER, timeout=10)
    started = time.monotonic()
    err = stop_process(proc)
    assert time.monotonic() - started < 10
    assert "kind=question band=answer" in err  # INFO logging is on …
    assert fake_api.token not in err and "残差" not in err  # … without the token or the user's text
    assert os.path.exists(tmp_path / "archive.db")


async def test_sighup_reloads_the_archive_in_a_running_process(fake_api, tmp_path):
    proc = start_bot_process(fake_api.base_url, fake_api.token, tmp_path)
    await fake_api.wait_for_call("getUpdates", timeout=30)
    proc.send_signal(signal.SIGHUP)
    await asyncio.sleep(3.0)  # the index is loaded in a thread (jieba's dictionary takes ~1 s)
    fake_api.push_message(USER, USER, RESNET)
    [reply] = await fake_api.wait_for_messages(1, USER, timeout=10)
    assert reply.text.startswith(RESNET)
    err = stop_process(proc)
    assert "SIGHUP: archive reloaded" in err
