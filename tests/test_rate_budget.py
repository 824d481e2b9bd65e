"""Issue 10 items 5 and 9: one budget for everything that runs a match, a separate one for inline
mode; inline results are personal whenever an allow-list is set."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import ConfigError, parse_config
from tests.harness import running_bot
from tests.test_bot import RESNET

USER = 7373


async def test_button_presses_share_the_question_budget(fake_api, tmp_path, sample_matcher):
    async with running_bot(fake_api, tmp_path, matcher=sample_matcher, rate_limit={"per_minute": 3}) as bot:
        [first] = await bot.ask(USER, RESNET)  # 1 of 3
        fake_api.push_callback(first, first.button("Dropout")["callback_data"])  # a related question: 2 of 3
        await fake_api.wait_for_call("answerCallbackQuery", 1)
        for _ in range(10):  # presses of a related search, paging, a did-you-mean choice…
            fake_api.press_button(first, "Dropout")
            fake_api.press_button(first, "更多回答")
        await fake_api.wait_for_call("answerCallbackQuery", 21, timeout=15)
        await asyncio.sleep(0.5)
        alerts = [c for c in fake_api.calls("answerCallbackQuery") if c.params.get("show_alert")]
        served = len(fake_api.calls("answerCallbackQuery")) - len(alerts)
        assert served == 2  # budget 3, one spent on the typed question
        assert all("稍等" in c.params["text"] for c in alerts)


async def test_inline_keystrokes_do_not_use_the_question_budget(fake_api, tmp_path, sample_matcher):
    async with running_bot(fake_api, tmp_path, matcher=sample_matcher,
                           rate_limit={"per_minute": 2, "inline_per_minute": 5}) as bot:
        for prefix in ["残差连接" + "为什么有效"[:n] for n in range(7)]:
            fake_api.push_inline_query(USER, prefix)
        calls = await fake_api.wait_for_call("answerInlineQuery", 7)
        assert [bool(c.params["results"]) for c in calls] == [True] * 5 + [False] * 2
        [reply] = await bot.ask(USER, RESNET)  # the question budget is untouched
        assert reply.text.startswith(RESNET)


async def test_inline_results_are_personal_with_an_allow_list(fake_api, tmp_path, sample_matcher):
    async with running_bot(fake_api, tmp_path, matcher=sample_matcher, access={"allowed_users": [USER]}):
        fake_api.push_inline_query(USER, "残差")
        [call] = await fake_api.wait_for_call("answerInlineQuery")
        assert call.params["results"] and call.params.get("is_personal") is True


async def test_inline_results_may_be_shared_without_an_allow_list(fake_api, tmp_path, sample_matcher):
    async with running_bot(fake_api, tmp_path, matcher=sample_matcher):
        fake_api.push_inline_query(USER, "残差")
        [call] = await fake_api.wait_for_call("answerInlineQuery")
        assert call.params["results"] and not call.params.get("is_personal")


@pytest.mark.parametrize("bad", [0, -1, 10**6, "many"])
def test_the_inline_budget_is_a_bounded_config_key(bad):
    assert parse_config({}, require_token=False).rate_limit.inline_per_minute == 120
    with pytest.raises(ConfigError) as err:
        parse_config({"rate_limit": {"inline_per_minute": bad}}, require_token=False)
    assert [p.split(":")[0] for p in err.value.problems] == ["rate_limit.inline_per_minute"]
