"""Small talk, topic pages, learning buttons and zh-Hant archive text in the renderer and the codec."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import LOCALES
from bot.i18n import strings
from bot.models import Answer, Band, Decision, Hit, Link, Outcome, Question, TopicPage
from bot.ui import callback_data as cb
from bot.ui.render import Renderer
from bot.ui.reply import SMALLTALK_KINDS, traditional_converter
from tests.test_render import all_buttons, check_reply

QID = "k3x9q2mfa7c1"
EXAMPLE = Link("每天喝咖啡对身体有害吗?", "od2auxc2ngxw")
CHECK = cb.query_check("手机怎么省电")


@pytest.fixture(scope="module")
def converter():
    return traditional_converter()


@pytest.fixture
def r(converter) -> Renderer:
    return Renderer(converter=converter)


def actions(reply) -> list:
    return [cb.decode(b.data) for b in all_buttons(reply)]


# -- small talk ----------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", SMALLTALK_KINDS)
def test_smalltalk_reply_is_short_friendly_and_suggests_an_archived_question(r: Renderer, locale: str, kind: str):
    reply = r.smalltalk(kind, EXAMPLE, locale=locale)
    text = check_reply(reply)
    t = strings(locale)
    assert text.startswith(getattr(t, f"smalltalk_{kind}"))
    assert len(text) < 200
    example = "每天喝咖啡對身體有害嗎?" if locale == "zh-Hant" else EXAMPLE.title
    assert example in text
    assert actions(reply) == [cb.Open(EXAMPLE.id)]


def test_smalltalk_of_an_unknown_kind_or_without_an_example_still_replies(r: Renderer):
    reply = r.smalltalk("weird-kind", None, locale="en")
    text = check_reply(reply)
    assert text == f"{strings('en').smalltalk_other}\n\n{strings('en').smalltalk_hint_plain}"
    assert not reply.buttons


def test_smalltalk_outcome_never_shows_the_archive_answer(r: Renderer):
    q = Question(QID, "ResNet 的残差连接为什么有效?", (Answer("someone", "因为恒等映射。"),))
    decision = Decision(Band.SMALLTALK, (Hit(QID, 90.0),), smalltalk="thanks")
    reply = r.outcome(Outcome(decision, q, ((Hit(QID, 90.0), q.title),)), "谢谢你", example=EXAMPLE)
    text = check_reply(reply)
    assert text.startswith(strings("zh-Hans").smalltalk_thanks)
    assert "残差" not in text and "恒等映射" not in text
    assert actions(reply) == [cb.Open(EXAMPLE.id)]


# -- topics --------------------------------------------------------------------------------------


def topic_page(offset: int = 0, n: int = 6, total: int = 250, more: bool = True, word: str = "手机") -> TopicPage:
    hits = tuple((Hit(f"id{offset + i}", 50.0), f"{word}问题{offset + i}") for i in range(n))
    return TopicPage(word, total, offset, hits, more)


def test_topic_reply_counts_the_questions_lists_them_and_offers_more(r: Renderer):
    reply = r.topic(topic_page())
    text = check_reply(reply)
    assert text.startswith("存档里有 250 个关于「手机」的问题")
    assert "没有找到" not in text and "1. 手机问题0" in text and "6. 手机问题5" in text
    assert actions(reply) == [*(cb.Open(f"id{i}") for i in range(6)), cb.Topic("手机", 6, 250)]
    assert all_buttons(reply)[-1].text == strings("zh-Hans").topic_more


def test_topic_next_page_numbers_on_and_the_last_page_has_no_more_button(r: Renderer):
    second = check_reply(r.topic(topic_page(offset=6), locale="en"))
    assert "#7–12" in second and "7. 手机问题6" in second
    last = r.topic(topic_page(offset=12, n=1, total=13, more=False))
    assert "第 13 个" in check_reply(last)
    assert actions(last) == [cb.Open("id12")]


def test_topic_word_too_long_for_a_button_gets_no_more_button_but_still_lists(r: Renderer):
    word = "很长的话题" * 5
    assert not cb.topic_fits(word)
    reply = r.topic(topic_page(word=word))
    check_reply(reply)
    assert all(isinstance(a, cb.Open) for a in actions(reply)) and len(actions(reply)) == 6


def test_topic_outcome_renders_the_page_not_no_match(r: Renderer):
    decision = Decision(Band.TOPIC, (), topic="手机", topic_count=250)
    page = topic_page()
    text = check_reply(r.outcome(Outcome(decision, None, page.hits, topic=page), "手机"))
    assert "250" in text and "没有找到" not in text


def test_topic_in_traditional_converts_the_word_and_titles(r: Renderer):
    text = check_reply(r.topic(topic_page(word="软件"), locale="zh-Hant"))
    assert text.startswith("存檔裡有 250 個關於「軟體」的問題") and "軟體問題0" in text


# -- learning buttons ----------------------------------------------------------------------------


def test_did_you_mean_with_a_query_check_makes_buttons_that_record_the_choice(r: Renderer):
    cands = [(Hit("id0", 70.0), "候选0"), (Hit("id1", 68.0), "候选1")]
    reply = r.did_you_mean(cands, check=CHECK)
    check_reply(reply)
    assert actions(reply) == [cb.Choose("id0", CHECK), cb.Choose("id1", CHECK), cb.NoneOfThese(CHECK)]
    assert [b.data for b in all_buttons(reply)][-1] == f"x:{CHECK}"


def test_no_match_candidates_also_record_the_choice_when_a_check_is_given(r: Renderer):
    reply = r.outcome(Outcome(Decision(Band.NO_MATCH), None, ((Hit("id0", 40.0), "候选0"),)), "问题", check=CHECK)
    assert actions(reply) == [cb.Choose("id0", CHECK)]


# -- zh-Hant: archive text in Traditional ----------------------------------------------------------


def test_traditional_converts_titles_answers_and_button_labels_but_not_authors(r: Renderer):
    q = Question(
        QID, "软件工程师的鼠标怎么选?", (Answer("网友小明", "我用的是无线鼠标。" * 80),),
        related=(Link("内存不够怎么办", "abc"), Link("硬盘坏了"),),
    )
    reply = r.question(q, locale="zh-Hant")
    text = check_reply(reply)
    assert text.startswith("軟體工程師的滑鼠怎麼選?")
    assert "我用的是無線滑鼠。" in text and "网友小明" in text
    labels = [b.text for b in all_buttons(reply)]
    assert "記憶體不夠怎麼辦" in labels
    more_reply = r.related_more(q, 1, locale="zh-Hant")
    more = [b.text for b in all_buttons(more_reply)]
    assert "🔍 1. 硬碟壞了" in more
    # the search button still checks the stored title, so it stays valid
    assert cb.resolve(q, actions(more_reply)[more.index("🔍 1. 硬碟壞了")]) == Link("硬盘坏了")
    [full] = r.answer_full(q, 0, locale="zh-Hant")
    assert "無線滑鼠" in check_reply(full)
    simplified = check_reply(r.question(q, locale="zh-Hans"))
    assert simplified.startswith("软件工程师的鼠标怎么选?")


def test_traditional_converts_candidates_and_inline_results(r: Renderer):
    reply = r.did_you_mean([(Hit("id0", 70.0), "鼠标怎么选")], locale="zh-Hant")
    assert "鼠標" not in check_reply(reply) and "滑鼠怎麼選" in check_reply(reply)
    assert all_buttons(reply)[0].text == "1. 滑鼠怎麼選"
    [item] = r.inline_results([Question(QID, "鼠标怎么选", (Answer("a", "无线鼠标"),))], locale="zh-Hant")
    assert item.title == "滑鼠怎麼選" and "無線滑鼠" in item.description


def test_without_a_converter_archive_text_is_shown_as_stored():
    q = Question(QID, "软件工程师的鼠标怎么选?")
    assert check_reply(Renderer().question(q, locale="zh-Hant")).startswith("软件工程师的鼠标怎么选?")


# -- /help and /ask examples from the archive ------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_help_and_ask_usage_quote_the_archives_example(r: Renderer, locale: str):
    shown = "每天喝咖啡對身體有害嗎?" if locale == "zh-Hant" else EXAMPLE.title
    help_text = check_reply(r.fixed("help", locale, example=EXAMPLE))
    assert strings(locale).example.format(example=shown) in help_text
    assert "残差网络为什么有效" not in help_text and "殘差網路為什麼有效" not in help_text
    usage = check_reply(r.fixed("ask_usage", locale, example=EXAMPLE))
    assert usage.endswith(f"/ask {shown}")
    assert "{example}" not in check_reply(r.fixed("help", locale))  # an empty archive: no example line


# -- the codec -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "data"),
    [
        (cb.Choose("k3x9q2mfa7c1", "0123abcd"), "c:k3x9q2mfa7c1:0123abcd"),
        (cb.NoneOfThese("0123abcd"), "x:0123abcd"),
        (cb.Topic("手机", 6, 250), "t:6:250:5omL5py6"),
    ],
)
def test_learning_and_topic_buttons_use_documented_formats(action: cb.Action, data: str):
    assert cb.encode(action) == data
    assert cb.decode(data) == action


words = st.text(min_size=1, max_size=20).filter(lambda w: w.strip() and cb.topic_fits(w))


@given(words, st.integers(0, cb.MAX_NUMBER), st.integers(0, cb.MAX_TOTAL))
def test_any_topic_that_fits_round_trips_within_64_ascii_bytes(word: str, offset: int, total: int):
    data = cb.encode(cb.Topic(word, offset, total))
    assert data.isascii() and len(data.encode()) <= 64
    assert cb.decode(data) == cb.Topic(word, offset, total)


@pytest.mark.parametrize("data", ["t:0:5:", "t:0:5:A", "t:0:5:_w", "t:01:5:5omL5py6", "t:0:5:5omL5py6=",
                                  "c:abc:short", "x:ABCDEFGH", "c:ABC:0123abcd", "t:0:5:IA"])
def test_forged_learning_and_topic_data_decode_to_nothing(data: str):
    assert cb.decode(data) is None


def test_query_check_is_stable_and_tells_queries_apart():
    assert cb.query_check("手机怎么省电") == CHECK and len(CHECK) == 8
    assert cb.query_check("手机怎么充电") != CHECK
