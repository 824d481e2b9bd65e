"""End to end: the real Application talks to the fake Bot API as users would."""

from __future__ import annotations

import pytest_asyncio

from tests.fakebotapi import FakeBotAPI
from tests.harness import ADMIN, running_bot

USER = 4242
RESNET = "ResNet 的残差连接为什么有效?"


@pytest_asyncio.fixture
async def bot(fake_api: FakeBotAPI, tmp_path, sample_matcher):
    async with running_bot(fake_api, tmp_path, matcher=sample_matcher) as running:
        yield running


def assert_no_rejections(api: FakeBotAPI) -> None:
    assert not api.rejections, [(r.method, r.description) for r in api.rejections]


async def test_start_registers_commands_in_three_languages(bot):
    calls = bot.api.calls("setMyCommands")
    languages = {c.params.get("language_code") for c in calls}
    assert {None, "zh", "en"} <= languages
    commands = {c["command"] for c in calls[0].params["commands"]}
    assert {"ask", "random", "help"} <= commands and "stats" not in commands


async def test_question_gets_title_answers_and_related_buttons(bot):
    [reply] = await bot.ask(USER, "ResNet 的残差连接为什么有效")
    assert reply.text.startswith(RESNET)
    assert "lin-xiao-ming" in reply.text
    labels = [b["text"] for b in reply.buttons()]
    assert any("更多回答" in label for label in labels)
    assert any(label.startswith("Dropout 和 Batch Norm") for label in labels)
    assert any("上一个讨论" in label for label in labels) and any("下一个讨论" in label for label in labels)
    assert all(len(b.get("callback_data", "").encode()) <= 64 for b in reply.buttons())
    assert_no_rejections(bot.api)


async def test_traditional_user_sees_title_answers_and_buttons_in_traditional(bot):
    [reply] = await bot.ask(USER, "殘差連接為什麼有效", language_code="zh-hant")
    assert reply.text.startswith("ResNet 的殘差連線為什麼有效?")  # the archive's 残差连接 in Traditional (s2twp)
    assert "殘差連線讓每一層" in reply.text and "残差" not in reply.text  # answers too
    labels = [b["text"] for b in reply.buttons()]
    assert any(label.startswith("Dropout 和 Batch Norm 能一起用嗎") for label in labels)  # related-topic labels
    assert any("更多回答" in label for label in labels) and any("上一個討論" in label for label in labels)
    [simplified] = await bot.ask(USER + 1, "殘差連接為什麼有效", language_code="zh-hans")
    assert simplified.text.startswith(RESNET)  # zh-Hans users see the archive as stored


async def test_more_answers_button_pages_to_the_next_answers(bot):
    [first] = await bot.ask(USER, "残差连接为什么有效")
    [more] = await bot.press(first, "更多回答")
    assert "yin-fu-pai-2" in more.text and "lin-xiao-ming" not in more.text
    assert_no_rejections(bot.api)


async def test_whole_answer_button_shows_a_trimmed_answer_in_full(fake_api, tmp_path, sample_matcher):
    async with running_bot(fake_api, tmp_path, matcher=sample_matcher, answers={"chars": 60}) as short:
        [first] = await short.ask(USER, RESNET)
        full_label = next(b["text"] for b in first.buttons() if "全文" in b["text"])
        [whole] = await short.press(first, full_label)
        assert len(whole.text) > 60 and whole.text.count("lin-xiao-ming") <= 1
        assert_no_rejections(short.api)


async def test_related_topic_button_opens_that_question(bot):
    [first] = await bot.ask(USER, RESNET)
    [opened] = await bot.press(first, "Dropout 和 Batch Norm")
    assert opened.text.startswith("Dropout 和 Batch Norm 能一起用吗?")
    assert bot.api.calls("answerCallbackQuery")


async def test_related_title_outside_the_archive_runs_a_search(bot):
    [first] = await bot.ask(USER, RESNET)
    [more] = await bot.press(first, "更多相关话题")
    [searched] = await bot.press(more, "FFT")
    assert searched.text  # a no-match or did-you-mean reply, not an error
    assert not searched.text.startswith(RESNET)
    assert_no_rejections(bot.api)


async def test_previous_and_next_discussion_buttons(bot):
    [first] = await bot.ask(USER, RESNET)
    [nxt] = await bot.press(first, "下一个讨论")
    assert nxt.text.startswith("Dropout 和 Batch Norm 能一起用吗?")
    [prev] = await bot.press(first, "上一个讨论")
    assert prev.text.startswith("git rebase 和 merge 有什么区别?")


async def test_deep_link_opens_question_directly(bot):
    qid = bot.services.store.find_by_title(RESNET)
    before = len(bot.api.sent_messages(USER))
    bot.api.push_command(USER, USER, "start", f"q_{qid}")
    msgs = await bot.api.wait_for_messages(before + 1, USER)
    assert msgs[-1].text.startswith(RESNET)


async def test_deep_link_to_removed_question_explains_and_welcomes(bot):
    before = len(bot.api.sent_messages(USER))
    bot.api.push_command(USER, USER, "start", "q_zzzzzzzzzzzz")
    msgs = await bot.api.wait_for_messages(before + 2, USER)
    assert "不在存档" in msgs[-2].text


async def test_stale_and_forged_buttons_get_an_alert_not_an_error(bot):
    [first] = await bot.ask(USER, RESNET)
    for data in ("q:zzzzzzzzzzzz", "garbage", "a:" + "x" * 40, "q:abc:notanumber"):
        update_id = bot.api.push_callback(first, data)
        query_id = bot.api.query_id_of(update_id)
        def answered(q=query_id):
            return [c for c in bot.api.calls("answerCallbackQuery") if c.params.get("callback_query_id") == q]

        calls = await bot.api.wait_for(answered, timeout=5)
        assert calls[0].params.get("show_alert") in (True, "true")
        assert "失效" in calls[0].params["text"]
    assert_no_rejections(bot.api)


async def test_sticker_photo_voice_and_blank_text_get_help_not_silence(bot):
    for push in (bot.api.push_sticker, bot.api.push_photo, bot.api.push_voice):
        before = len(bot.api.sent_messages(USER))
        push(USER, USER)
        msgs = await bot.api.wait_for_messages(before + 1, USER)
        assert "文字" in msgs[-1].text
    [reply] = await bot.ask(USER, "   \u3000 ")
    assert "文字" in reply.text


async def test_very_long_message_is_matched_on_a_prefix(bot):
    [reply] = await bot.ask(USER, RESNET + "我想知道" * 1000)
    assert reply.text
    assert_no_rejections(bot.api)


async def test_question_not_in_archive_says_so(bot):
    [reply] = await bot.ask(USER, "明天北京的天气预报怎么样")
    assert "没有找到" in reply.text
    assert_no_rejections(bot.api)


async def test_english_user_gets_english_interface(bot):
    [reply] = await bot.ask(7, "明天北京的天气预报怎么样", language_code="en")
    assert "The archive has no question" in reply.text
    [reply] = await bot.ask(8, "明天北京的天气预报怎么样", language_code="zh-tw")
    assert "存檔裡沒有找到" in reply.text


async def test_help_random_and_ask_commands(bot):
    before = len(bot.api.sent_messages(USER))
    bot.api.push_command(USER, USER, "help")
    bot.api.push_command(USER, USER, "random")
    bot.api.push_command(USER, USER, "ask", "残差连接为什么有效")
    bot.api.push_command(USER, USER, "ask")
    msgs = await bot.api.wait_for_messages(before + 4, USER)
    texts = [m.text for m in msgs[before:]]
    assert "/random" in texts[0]
    assert texts[1]  # a random question
    assert texts[2].startswith(RESNET)
    assert "/ask" in texts[3]


async def test_group_answers_only_when_mentioned_replied_to_or_asked(bot):
    group = bot.api.group(-100123, "Study group")
    bot.api.push_message(group, 11, "残差连接为什么有效", chat_type="supergroup")
    bot.api.push_mention(group, 11, "残差连接为什么有效")
    msgs = await bot.api.wait_for_messages(1, group["id"])
    await bot.api.wait_for(lambda: len(bot.api.calls("getUpdates")) >= 3, timeout=5)
    assert len(bot.api.sent_messages(group["id"])) == 1
    assert msgs[0].text.startswith(RESNET)
    bot.api.push_message(group, 11, "每天喝咖啡对身体有害吗", chat_type="supergroup", reply_to_message=msgs[0])
    bot.api.push_command(group, 12, "ask", "git rebase 和 merge 有什么区别")
    msgs = await bot.api.wait_for_messages(3, group["id"])
    assert msgs[1].text.startswith("每天喝咖啡") and msgs[2].text.startswith("git rebase")


async def test_inline_query_returns_articles_that_send_the_answer(bot):
    bot.api.push_inline_query(USER, "残差")
    [call] = await bot.api.wait_for_call("answerInlineQuery")
    results = call.params["results"]
    assert 1 <= len(results) <= 10
    assert results[0]["title"].startswith("ResNet")
    assert results[0]["input_message_content"]["message_text"].startswith(f"<b>{RESNET}</b>")
    assert results[0]["input_message_content"]["parse_mode"] == "HTML"
    assert_no_rejections(bot.api)


async def test_share_button_is_offered(bot):
    [reply] = await bot.ask(USER, RESNET)
    share = reply.button("分享")
    assert "archive_test_bot" in (share.get("url") or "") or "switch_inline_query" in share


async def test_stats_and_reload_only_for_admins(bot):
    await bot.ask(USER, "明天北京的天气预报怎么样")
    [hidden] = await bot.ask(USER, "/stats", entities=[{"type": "bot_command", "offset": 0, "length": 6}])
    assert "/random" in hidden.text  # the normal help: the command is not revealed
    [stats] = await bot.ask(ADMIN, "/stats", entities=[{"type": "bot_command", "offset": 0, "length": 6}])
    assert "明天北京的天气预报怎么样" in stats.text
    [reloaded] = await bot.ask(ADMIN, "/reload", entities=[{"type": "bot_command", "offset": 0, "length": 7}])
    assert str(len(bot.services.answerer.matcher)) in reloaded.text


async def test_every_reply_passes_telegram_checks_and_no_user_text_is_logged(bot, caplog):
    caplog.set_level("INFO")
    for text in ("<b>残差</b> & 连接?", "残差连接为什么有效 😀👍🏽", "x" * 4000, "🙂" * 3000):
        await bot.ask(USER, text)
    assert_no_rejections(bot.api)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "残差" not in logged and "xxxx" not in logged
    assert bot.api.token not in logged
