"""Small-talk detection and politeness stripping (bot.search.smalltalk)."""

from __future__ import annotations

import pytest

from bot.search.analysis import Normalizer
from bot.search.smalltalk import SmallTalk


@pytest.fixture(scope="module")
def st() -> SmallTalk:
    return SmallTalk(Normalizer().normalize)


@pytest.mark.parametrize(
    "text,kind",
    [
        ("你好呀", "greeting"),
        ("hi", "greeting"),
        ("在吗？", "greeting"),
        ("谢谢你！", "thanks"),
        ("謝謝", "thanks"),
        ("thanks a lot", "thanks"),
        ("哈哈哈哈", "laughter"),
        ("233333", "laughter"),
        ("lol", "laughter"),
        ("晚安", "bye"),
        ("拜拜啦", "bye"),
        ("你是机器人吗", "about_bot"),
        ("你是誰", "about_bot"),
        ("答非所问", "complaint"),
        ("没用", "complaint"),
        ("厉害了", "praise"),
        ("👍", "emoji"),
        ("[捂脸]", "emoji"),
        ("好的", "other"),
    ],
)
def test_small_talk_is_recognised_with_its_kind(st, text, kind):
    assert st.kind(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "残差网络为什么有效",
        "你好，请问残差网络为什么有效",
        "谢谢大家，考研数学一和数学二有什么区别",
        "哈哈，为什么猫咪喜欢晚上跑酷",
        "你是怎么看待新能源汽车价格战的",
        "手机",
        "",
    ],
)
def test_a_message_with_a_real_question_is_not_small_talk(st, text):
    assert st.kind(text) is None


@pytest.mark.parametrize(
    "text",
    ["你好，请问残差网络为什么有效？谢谢", "您好 想问一下残差网络为什么有效 多谢", "hi 残差网络为什么有效 thanks!"],
)
def test_politeness_around_a_question_is_stripped(st, text):
    assert st.strip_politeness(text) == "残差网络为什么有效"


def test_strip_leaves_a_bare_question_and_pure_small_talk_alone(st):
    assert st.strip_politeness("残差网络为什么有效") == "残差网络为什么有效"
    assert st.strip_politeness("你好，谢谢") == "你好，谢谢"
