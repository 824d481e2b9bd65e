"""End to end (issue 13): the reply's related block, fewer buttons, 🔍 searches the bot wrote, one log line
per update, and /stats reading what was just logged."""

from __future__ import annotations

import re

import pytest_asyncio

from bot.cli import main
from bot.storage.state import ORIGIN_BUTTON, StateStore
from tests.fakebotapi import BotMessage, FakeBotAPI
from tests.harness import ADMIN, running_bot
from tests.test_bot import RESNET

USER = 5151
FFT = "为什么很少人用FFT加速CNN卷积层的运算?"
ARCHIVED_RELATED = ("Dropout 和 Batch Norm", "Transformer 为什么", "学习率应该怎么设置", "深度学习入门", "注意力机制")
LINE = re.compile(r"^update=(\d+) kind=(\w+)")


@pytest_asyncio.fixture
async def bot(fake_api: FakeBotAPI, tmp_path, sample_matcher):
    async with running_bot(fake_api, tmp_path, matcher=sample_matcher) as running:
        yield running


def rows(message: BotMessage) -> list[list[dict]]:
    return (message.reply_markup or {}).get("inline_keyboard", [])


def labels(message: BotMessage) -> list[str]:
    return [b["text"] for b in message.buttons()]


def assert_tidy(api: FakeBotAPI) -> None:
    """Telegram accepted everything, and no message carries more than 8 keyboard rows."""
    assert not api.rejections, [(r.method, r.description) for r in api.rejections]
    assert all(len(rows(m)) <= 8 for m in api.sent_messages()), [len(rows(m)) for m in api.sent_messages()]


async def test_first_answer_shows_archived_related_first_and_the_rest_behind_one_button(bot):
    [reply] = await bot.ask(USER, RESNET)
    shown = labels(reply)
    assert any(label.startswith("Dropout 和 Batch Norm") for label in shown)
    assert not any("🔍" in label or "FFT" in label for label in shown)  # no dead end on the first page
    [more_label] = [label for label in shown if label.startswith("更多相关话题")]
    related_rows = [label for label in shown if label.startswith(ARCHIVED_RELATED)]
    assert more_label == f"更多相关话题（{5 - len(related_rows) + 1}）"  # the archived that did not fit + FFT
    assert len(rows(reply)) <= 8
    [more] = await bot.press(reply, "更多相关话题")
    assert "🔍" in more.text and FFT in more.text and "不在存档里" in more.text
    assert any(label.startswith("🔍") and "FFT" in label for label in labels(more))
    assert not any(label.startswith(("Dropout", "1. Dropout")) for label in labels(more))  # already shown
    assert_tidy(bot.api)


async def test_a_search_tap_that_finds_nothing_says_the_topic_is_not_archived_and_offers_the_nearest(bot):
    [reply] = await bot.ask(USER, RESNET)
    [more] = await bot.press(reply, "更多相关话题")
    [searched] = await bot.press(more, "FFT")
    assert f"存档里没有「{FFT}」这个话题" in searched.text
    assert "最接近的几个问题" in searched.text
    assert "提问小贴士" not in searched.text and "寒暄" not in searched.text  # no typing tips for the bot's query
    nearest = [label for label in labels(searched) if re.match(r"\d\. ", label)]
    assert nearest
    [opened] = await bot.press(searched, nearest[0])
    assert opened.text.startswith(nearest[0][3:].rstrip("…"))
    [back] = await bot.press(searched, "返回问题")
    assert back.text.startswith(RESNET)
    assert_tidy(bot.api)


async def test_search_taps_are_logged_apart_so_stats_list_only_what_people_typed(bot, tmp_path, capsys):
    [reply] = await bot.ask(USER, RESNET)
    [more] = await bot.press(reply, "更多相关话题")
    await bot.press(more, "FFT")
    await bot.ask(USER, "明天北京的天气预报怎么样")
    state = bot.services.state
    assert [m.query for m in state.misses(20)] == ["明天北京的天气预报怎么样"]
    assert [m.query for m in state.misses(20, origin=ORIGIN_BUTTON)] == [FFT]
    bot.api.push_command(ADMIN, ADMIN, "stats")
    [stats] = await bot.api.wait_for_messages(1, ADMIN)
    assert "明天北京的天气预报怎么样" in stats.text and "FFT" not in stats.text
    config = tmp_path / "stats.yaml"
    config.write_text(f"archive:\n  db: {bot.services.config.archive.db}\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["stats", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "明天北京的天气预报怎么样" in out and "FFT" not in out


async def test_later_answer_pages_carry_navigation_only(bot):
    [first] = await bot.ask(USER, RESNET)
    [page2] = await bot.press(first, "更多回答")
    assert "第 4–5 个回答" in page2.text
    shown = labels(page2)
    assert not any(label.startswith(ARCHIVED_RELATED) or "相关话题" in label for label in shown)
    assert "相关话题" not in page2.text
    assert not any("分享" in label for label in shown)
    assert any("上一个讨论" in label for label in shown) and any("下一个讨论" in label for label in shown)
    assert len(rows(page2)) < len(rows(first))
    assert_tidy(bot.api)


async def test_stats_sees_a_did_you_mean_the_moment_its_reply_is_sent(bot):
    api = bot.api
    send = api._methods["sendmessage"]
    logged_when_sent: list[list[str]] = []

    def spy(params):
        if int(params["chat_id"]) == USER:  # read the log through a connection of its own, as /stats may
            reader = StateStore.open(bot.services.config.archive.state_path)
            try:
                logged_when_sent.append([m.query for m in reader.misses(20)])
            finally:
                reader.close()
        return send(params)

    api.register_method("sendMessage", spy)
    [reply] = await bot.ask(USER, "深度学习")
    assert "你想问的是" in reply.text
    assert logged_when_sent == [["深度学习"]]
    api.register_method("sendMessage", send)
    api.push_command(ADMIN, ADMIN, "stats")
    [stats] = await api.wait_for_messages(1, ADMIN)
    assert "深度学习" in stats.text and "还没有未解答的提问" not in stats.text


async def test_every_update_of_every_kind_gets_exactly_one_info_line_without_user_text(bot, caplog):
    caplog.set_level("INFO")
    api = bot.api
    [answer] = await bot.ask(USER, RESNET)
    group = api.group(-100555, "Readers")
    pushed = {
        "start": api.push_command(USER, USER, "start"),
        "help": api.push_command(USER, USER, "help"),
        "random": api.push_command(USER, USER, "random"),
        "stats": api.push_command(ADMIN, ADMIN, "stats"),
        "stats_refused": api.push_command(USER, USER, "stats"),
        "reload": api.push_command(ADMIN, ADMIN, "reload"),
        "unknown_command": api.push_command(USER, USER, "frobnicate"),
        "not_text": api.push_sticker(USER, USER),
        "question": api.push_message(USER, USER, "残差连接为什么有效 秘密词"),
        "callback": api.press_button(answer, "更多回答"),
        "inline": api.push_inline_query(USER, "残差 秘密词"),
        "group_text": api.push_message(group, 77, "大家好 秘密词", chat_type="supergroup"),
        "chosen_inline_result": api.push_chosen_inline_result(USER, "abc", "残差 秘密词"),
    }
    state = bot.services.state
    await api.wait_for(lambda: all(state.was_handled(uid) for uid in pushed.values()), timeout=20)
    lines = [r.getMessage() for r in caplog.records if r.levelname == "INFO" and LINE.match(r.getMessage())]
    by_update: dict[int, list[str]] = {}
    for line in lines:
        by_update.setdefault(int(LINE.match(line).group(1)), []).append(line)  # type: ignore[union-attr]
    for name, update_id in pushed.items():
        assert len(by_update.get(update_id, [])) == 1, (name, by_update.get(update_id))
        kind = LINE.match(by_update[update_id][0]).group(2)  # type: ignore[union-attr]
        assert kind == name.removesuffix("_refused"), (name, by_update[update_id])
    assert "admin=no" in by_update[pushed["stats_refused"]][0]
    assert re.search(r"kind=question band=\w+ score=", by_update[pushed["question"]][0])
    assert "handled=no" in by_update[pushed["chosen_inline_result"]][0]
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert "秘密词" not in everything and "残差" not in everything and api.token not in everything


async def test_inline_results_carry_the_same_tidy_first_page(bot):
    bot.api.push_inline_query(USER, "残差")
    [call] = await bot.api.wait_for_call("answerInlineQuery")
    keyboard = call.params["results"][0]["reply_markup"]["inline_keyboard"]
    assert len(keyboard) <= 8
    more = [b for row in keyboard for b in row if b["text"].startswith("更多相关话题")]
    assert len(more) == 1 and more[0]["callback_data"].startswith("m:")
    assert not any(b["text"].startswith("🔍") for row in keyboard for b in row)
