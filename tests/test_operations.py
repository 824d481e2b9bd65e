"""Operating the bot: re-ingest while serving, reloads, rate limits, allow-lists."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest_asyncio

from bot.storage.ingest import ingest
from tests.fakebotapi import FakeBotAPI
from tests.harness import ROOT, running_bot
from tests.pages import make_page, write
from tests.test_bot import RESNET

NEW_TITLE = "量子计算机什么时候能真正实用?"


@pytest_asyncio.fixture
async def bot(fake_api: FakeBotAPI, tmp_path, sample_matcher):
    async with running_bot(fake_api, tmp_path, matcher=sample_matcher,
                           archive={"reload_interval": 0.2}, rate_limit={"per_minute": 5},
                           access={"allowed_users": [*range(8000, 8100), 999]}) as running:
        yield running


async def test_reingest_while_serving_swaps_the_archive_without_a_failed_reply(bot, tmp_path):
    pages = tmp_path / "new-pages"
    write(pages, "q.txt", make_page(NEW_TITLE, 1, [("phys", "至少还要十年。")]))
    asked: dict[int, int] = {}
    stop = asyncio.Event()

    async def keep_asking() -> None:
        i = 0
        while not stop.is_set():
            user = 8000 + i % 50
            asked[bot.api.push_message(user, user, RESNET)] = user
            i += 1
            await asyncio.sleep(0.05)

    before = len(bot.services.answerer.matcher)
    asker = asyncio.ensure_future(keep_asking())
    await asyncio.sleep(0.3)
    report = await asyncio.to_thread(ingest_into, bot.services.config.archive.db, pages)
    assert report.pages == 1
    await bot.api.wait_for(lambda: bot.services.store.find_by_title(NEW_TITLE)
                           and len(bot.services.answerer.matcher) == before + 1, timeout=30)
    stop.set()
    await asker
    await bot.api.wait_for(lambda: all(bot.api.reply_counts(u).get(uid) for uid, u in asked.items()), timeout=30)
    replies = [m for m in bot.api.sent_messages() if m.chat_id in set(asked.values())]
    assert all(m.text.startswith(RESNET) for m in replies)  # every reply during the swap is the right answer
    [answer] = await ask(bot, 8099, NEW_TITLE)
    assert answer.text.startswith(NEW_TITLE)
    assert not bot.api.rejections


def ingest_into(db: str, folder):
    from bot.storage.store import Store

    store = Store.open(db)
    try:
        return ingest(store, [str(folder)])
    finally:
        store.close()


async def test_ingest_killed_half_way_leaves_the_bot_serving_the_old_archive(bot, tmp_path):
    before = len(bot.services.answerer.matcher)
    big = tmp_path / "big"
    for i in range(300):
        write(big, f"{i:04d}.txt", make_page(f"批量问题{i}号是什么?", 1))
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from bot.storage.ingest import ingest
        from bot.storage.store import Store
        def progress(report):
            if report.files >= 150:
                os.kill(os.getpid(), signal.SIGKILL)
        ingest(Store.open({bot.services.config.archive.db!r}), [{str(big)!r}], progress=progress, progress_every=50)
    """)
    proc = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", script], timeout=60)
    assert proc.returncode == -9
    await asyncio.sleep(0.5)  # several reload checks
    assert len(bot.services.answerer.matcher) == before
    [answer] = await ask(bot, 8001, RESNET)
    assert answer.text.startswith(RESNET)


async def ask(bot, user: int, text: str):
    before = len(bot.api.sent_messages(user))
    bot.api.push_message(user, user, text)
    return (await bot.api.wait_for_messages(before + 1, user, timeout=10))[before:]


async def test_a_user_over_the_rate_limit_gets_a_polite_reply_and_others_are_served(bot):
    for _ in range(7):
        bot.api.push_message(8005, 8005, RESNET)
    msgs = await bot.api.wait_for_messages(7, 8005, timeout=10)
    assert sum(m.text.startswith(RESNET) for m in msgs) == 5
    assert sum("稍等" in m.text for m in msgs) == 2
    [other] = await ask(bot, 8006, RESNET)
    assert other.text.startswith(RESNET)


async def test_users_outside_the_allow_list_are_told_the_bot_is_private(bot):
    [reply] = await ask(bot, 4444, RESNET)
    assert "只对指定的用户开放" in reply.text
    group = bot.api.group(-100777, "Strangers")
    bot.api.push_mention(group, 4444, RESNET)
    await asyncio.sleep(0.5)
    assert not bot.api.sent_messages(group["id"])
