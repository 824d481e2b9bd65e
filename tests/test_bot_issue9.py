"""End to end through the fake Bot API: small talk, topic pages, "did you mean" choices learned, zh-Hant.

The matcher is the sample archive's, with fixed decisions for a few texts (tests/stubs.py), so these
tests drive each band whatever the real matcher decides for a wording.
"""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio

from bot.answerer import Answerer
from bot.archive.jsonl import to_json
from bot.i18n import strings
from bot.models import Answer, Band, Decision, Hit, Question
from bot.search.matcher import Matcher
from bot.storage.ingest import ingest
from bot.storage.store import Store
from tests.fakebotapi import FakeBotAPI
from tests.harness import ADMIN, SAMPLE, running_bot
from tests.stubs import StubMatcher

USER = 4242
RESNET = "ResNet 的残差连接为什么有效?"  # the sample archive's example question (first answered title by id)
RESNET_ID = "3eqlhwep6y7e"
COFFEE = "od2auxc2ngxw"  # 每天喝咖啡对身体有害吗?
RUN = "wmjw5elbkal4"  # 晨跑和夜跑哪个更好?
DYM = "天天来杯美式伤不伤胃"
TOPIC = "机器学习"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Matcher, list[str]]:
    store = Store.open(str(tmp_path_factory.mktemp("m") / "a.db"))
    ingest(store, [str(SAMPLE)])
    matcher = Matcher.from_titles(store.iter_titles())
    ids = [key for key, _ in store.iter_titles()]
    store.close()
    return matcher, ids


@pytest.fixture
def stub(sample) -> StubMatcher:
    matcher, ids = sample
    return StubMatcher(
        matcher,
        {
            "谢谢你": Decision(Band.SMALLTALK, (Hit(COFFEE, 80.0),), smalltalk="thanks"),
            "哈哈哈": Decision(Band.SMALLTALK, (), smalltalk="laughter"),
            TOPIC: Decision(Band.TOPIC, (), topic=TOPIC, topic_count=len(ids)),
            DYM: Decision(Band.DID_YOU_MEAN, (Hit(COFFEE, 70.0), Hit(RUN, 66.0))),
        },
        searches={TOPIC: [(key, 60.0 - i) for i, key in enumerate(ids)]},
    )


@pytest_asyncio.fixture
async def bot(fake_api: FakeBotAPI, tmp_path, stub):
    async with running_bot(fake_api, tmp_path, matcher=stub, learning={"auto_accept": 2}) as running:
        yield running


def assert_no_rejections(api: FakeBotAPI) -> None:
    assert not api.rejections, [(r.method, r.description) for r in api.rejections]


def labels(message) -> list[str]:
    return [b["text"] for b in message.buttons()]


async def test_small_talk_gets_a_friendly_reply_with_an_archive_example_not_an_answer(bot):
    [reply] = await bot.ask(USER, "谢谢你")
    t = strings("zh-Hans")
    assert reply.text.startswith(t.smalltalk_thanks)
    assert t.smalltalk_hint.format(example=RESNET) in reply.text
    assert "每天喝咖啡" not in reply.text and "回答" not in reply.text  # never the archive's answer
    [opened] = await bot.press(reply, RESNET)  # the example is a button too
    assert opened.text.startswith(RESNET)
    [laugh] = await bot.ask(USER + 1, "哈哈哈", language_code="en")
    assert laugh.text.startswith(strings("en").smalltalk_laughter)
    assert_no_rejections(bot.api)


async def test_small_talk_is_not_reported_as_a_miss(bot):
    await bot.ask(USER, "谢谢你")
    await bot.ask(USER, "明天北京的天气预报怎么样")  # a real miss, for contrast
    state = bot.services.state
    for _ in range(100):  # the log is written just after the reply
        if state.misses():
            break
        await asyncio.sleep(0.05)
    assert [m.query for m in state.misses()] == ["明天北京的天气预报怎么样"]
    assert ("谢谢你", "smalltalk") in state._db.execute("SELECT query, band FROM query_log").fetchall()
    [admin] = await bot.ask(ADMIN, "/stats", entities=[{"type": "bot_command", "offset": 0, "length": 6}])
    assert "谢谢你" not in admin.text and "明天北京" in admin.text


async def test_small_talk_in_traditional_quotes_the_example_in_traditional(bot):
    [reply] = await bot.ask(USER, "谢谢你", language_code="zh-tw")
    assert reply.text.startswith(strings("zh-Hant").smalltalk_thanks)
    assert "ResNet 的殘差連線為什麼有效?" in reply.text


async def test_topic_word_lists_its_questions_and_more_pages_further(bot, sample):
    _, ids = sample
    [first] = await bot.ask(USER, TOPIC)
    assert first.text.startswith(f"存档里有 {len(ids)} 个关于「{TOPIC}」的问题")
    assert "没有找到" not in first.text
    assert len(labels(first)) == 7 and labels(first)[-1] == "更多 ▶"
    [second] = await bot.press(first, "更多 ▶")
    assert "第 7–12 个" in second.text and labels(second)[0].startswith("7. ")
    [third] = await bot.press(second, "更多 ▶")
    assert labels(third) == [labels(third)[0]] and labels(third)[0].startswith("13. ")  # the last: no "more"
    [opened] = await bot.press(first, labels(first)[0])
    assert opened.text.startswith(RESNET)  # ids[0] in id order
    assert all(len(b["callback_data"].encode()) <= 64 for m in (first, second) for b in m.buttons())
    assert_no_rejections(bot.api)


async def test_did_you_mean_choices_are_recorded_and_two_users_teach_the_bot(bot):
    state = bot.services.state
    [offer] = await bot.ask(1, DYM)
    assert offer.text.startswith(strings("zh-Hans").did_you_mean)
    [opened] = await bot.press(offer, "1. 每天喝咖啡")
    assert opened.text.startswith("每天喝咖啡对身体有害吗?")
    assert state.rewordings() == [] and state.accepted() == []  # one user alone teaches nothing
    [offer2] = await bot.ask(2, DYM)
    await bot.press(offer2, "1. 每天喝咖啡")
    [row] = state.rewordings()
    assert (row.query, row.question_id, row.users) == (DYM, COFFEE, 2)
    assert state.accepted() == [(COFFEE, DYM)]  # learning.auto_accept: 2
    # the periodic reload check sees the accepted set change and indexes it like an alternate title
    assert await bot.services.reload() is True
    assert await bot.services.reload() is False  # nothing changed since
    [answer] = await bot.ask(3, DYM)
    assert answer.text.startswith("每天喝咖啡对身体有害吗?")
    assert_no_rejections(bot.api)


async def test_none_of_these_is_recorded_for_the_query(bot):
    [offer] = await bot.ask(7, DYM)
    [sorry] = await bot.press(offer, "都不是")
    assert sorry.text.startswith(strings("zh-Hans").none_of_these)
    rows = bot.services.state._db.execute("SELECT query, question_id FROM learn_choices").fetchall()
    assert rows == [(DYM, None)]


async def test_help_quotes_a_question_from_the_archive(bot):
    before = len(bot.api.sent_messages(USER))
    bot.api.push_command(USER, USER, "help")
    bot.api.push_command(USER, USER, "ask")
    [help_msg, usage] = (await bot.api.wait_for_messages(before + 2, USER))[before:]
    assert strings("zh-Hans").example.format(example=RESNET) in help_msg.text
    assert usage.text.endswith(f"/ask {RESNET}")


def test_the_example_is_a_real_title_of_any_archive_and_stable(tmp_path, sample):
    path = tmp_path / "other.jsonl"
    titles = ["手机电池不耐用怎么办?", "原神新版本值得玩吗?", "一个没有回答的问题"]
    answered = (Answer("a", "答。"),)
    lines = [to_json(Question(f"id{i}", title, answered if i < 2 else ())) for i, title in enumerate(titles)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = Store.open(str(tmp_path / "other.db"))
    ingest(store, [str(path)])
    example = Answerer(store, sample[0]).example()
    assert example is not None and example.title in titles[:2] and store.titles([example.id]) == {
        example.id: example.title}
    assert Answerer(store, sample[0]).example() == example
    store.close()
