"""Renderer and Telegram-HTML helpers: escaping, trimming, splitting, buttons, and Telegram's limits."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import LOCALES
from bot.i18n import strings
from bot.models import Answer, Band, Hit, Link, Question
from bot.ui import callback_data as cb
from bot.ui.htmltext import (
    escape,
    safe_cut,
    split_html,
    trim_at_sentence,
    truncate_width,
    utf16_len,
    visible_text,
)
from bot.ui.render import Renderer
from bot.ui.reply import Button, InlineItem, RenderSettings, Reply

QID = "k3x9q2mfa7c1"
EVIL = '<script>alert("x")</script> & &amp; <b>'
SENTENCE = "残差网络让深层网络更容易训练。"


# -- a strict validator for the Telegram HTML we emit --------------------------------------------


class _Validator(HTMLParser):
    """Checks: only b, i, a href, code, blockquote; balanced; no bare <, > or &; known entities only."""

    ALLOWED = frozenset({"b", "i", "a", "code", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.ALLOWED:
            self.errors.append(f"tag <{tag}>")
        if (tag == "a") != bool(attrs) or any(name != "href" for name, _ in attrs):
            self.errors.append(f"attributes {attrs} on <{tag}>")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.errors.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")

    def handle_data(self, data: str) -> None:
        if set(data) & set("<>&"):
            self.errors.append(f"bare special in {data[:40]!r}")
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            self.errors.append(f"entity &{name};")
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.text.append(html.unescape(f"&#{name};"))

    def handle_comment(self, data: str) -> None:
        self.errors.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.errors.append("declaration")


def check_html(markup: str) -> str:
    """Assert ``markup`` is well-formed Telegram HTML of ours; return its visible text."""
    v = _Validator()
    v.feed(markup)
    v.close()
    assert not v.errors, (v.errors, markup[:300])
    assert not v.stack, f"unclosed {v.stack}"
    assert not v.rawdata, f"incomplete markup at end: {v.rawdata[:40]!r}"
    text = "".join(v.text)
    assert text == visible_text(markup)
    return text


def check_reply(reply: Reply) -> str:
    """Assert every Telegram limit on one reply; return its visible text."""
    assert utf16_len(reply.text) <= 4096
    text = check_html(reply.text)
    assert text.strip()
    assert sum(len(row) for row in reply.buttons) <= 100
    assert len(reply.buttons) <= 8
    for row in reply.buttons:
        assert 1 <= len(row) <= 8
        for b in row:
            assert b.text.strip()
            assert sum(x is not None for x in (b.data, b.url, b.switch_inline)) == 1
            if b.data is not None:
                assert len(b.data.encode()) <= 64 and cb.decode(b.data) is not None
    return text


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def question(**kw: object) -> Question:
    base: dict[str, object] = {
        "id": QID,
        "title": "Resnet是否只是一个深度学习的trick?",
        "answers": (Answer("rewrgf", "短回答。"),),
    }
    base.update(kw)
    return Question(**base)  # type: ignore[arg-type]


def all_buttons(reply: Reply) -> list:
    return [b for row in reply.buttons for b in row]


@pytest.fixture
def r() -> Renderer:
    return Renderer()


# -- htmltext --------------------------------------------------------------------------------------


def test_utf16_len_counts_astral_emoji_twice() -> None:
    assert utf16_len("a中😀") == 4
    assert utf16_len("👍🏽") == 4


def test_escape_handles_tags_and_ampersands() -> None:
    assert escape("<script>&") == "&lt;script&gt;&amp;"
    assert escape("a\x00b\ud800c") == "abc"


def test_trim_stops_at_the_last_sentence_end() -> None:
    text = SENTENCE * 10 + "未完的句子没有结尾" * 5
    trimmed, was_trimmed = trim_at_sentence(text, 160)
    assert was_trimmed
    assert trimmed.endswith("。…")
    assert len(trimmed) <= 160
    assert text.startswith(trimmed[:-1])


@pytest.mark.parametrize("end", ["!", "?", "！", "？", "；", ". "])
def test_trim_recognises_sentence_ends(end: str) -> None:
    text = ("word " * 20).strip() + end + "tail " * 40
    trimmed, _ = trim_at_sentence(text, 150)
    assert trimmed == ("word " * 20).strip() + end.strip() + "…"


def test_trim_prefers_paragraph_end() -> None:
    text = "第一段没有句号\n\n" + "第二段很长很长" * 50
    trimmed, _ = trim_at_sentence(text, 14)
    assert trimmed == "第一段没有句号…"


def test_short_text_is_not_trimmed() -> None:
    assert trim_at_sentence("  短。 ", 100) == ("短。", False)


def test_trim_respects_escaped_budget() -> None:
    trimmed, was_trimmed = trim_at_sentence("&" * 500, 600, max_units=101)
    assert was_trimmed and len(escape(trimmed)) <= 101


def test_safe_cut_never_splits_emoji_clusters() -> None:
    family = "👨\u200d👩\u200d👧"
    text = "ab" + family + "🇨🇳" + "e\u0301"
    for i in range(len(text) + 1):
        cut = safe_cut(text, i)
        assert cut <= i or cut == i
        if 0 < cut < len(text):
            assert text[cut] not in "\u200d\u0301" and text[cut - 1] != "\u200d"
    assert safe_cut(text, 4) == 2  # inside the family emoji
    flag_start = 2 + len(family)
    assert safe_cut(text, flag_start + 1) == flag_start


def test_truncate_width_counts_cjk_double_and_adds_ellipsis() -> None:
    assert truncate_width("短标题", 40) == "短标题"
    label = truncate_width("很" * 50, 40)
    assert label.endswith("…") and len(label) == 20


def test_split_keeps_short_markup_whole() -> None:
    assert split_html("<b>a</b> b") == ["<b>a</b> b"]


def test_split_reopens_tags_across_parts_and_prefers_paragraphs() -> None:
    para = "句子。" * 30
    markup = "<b>" + "\n\n".join([para] * 6) + "</b>"
    parts = split_html(markup, 250)
    assert len(parts) > 1
    for part in parts:
        assert part.startswith("<b>") and part.endswith("</b>")
        assert utf16_len(part) <= 250
        check_html(part)
    assert squash("".join(visible_text(p) for p in parts)) == squash(visible_text(markup))
    assert all(visible_text(p).rstrip().endswith("。") for p in parts)


def test_split_never_cuts_an_entity() -> None:
    markup = escape("&<>" * 3000)
    parts = split_html(markup, 100)
    for part in parts:
        assert utf16_len(part) <= 100
        check_html(part)
    assert "".join(visible_text(p) for p in parts) == "&<>" * 3000


def test_split_long_emoji_text_never_cuts_surrogate_pairs_or_clusters() -> None:
    text = "👍🏽😀👨\u200d👩\u200d👧🇨🇳" * 700
    parts = split_html(escape(text), 4096)
    assert len(parts) > 1
    for part in parts:
        assert utf16_len(part) <= 4096
        part.encode("utf-16", "strict")  # a lone surrogate would raise
        check_html(part)
        assert part[0] not in "\U0001f3fd\u200d" and part[-1] != "\u200d"
    assert "".join(parts) == escape(text)


@given(
    st.lists(
        st.tuples(st.sampled_from(["", "b", "i", "code", "a", "blockquote"]), st.text(max_size=300)),
        max_size=30,
    ),
    st.integers(60, 600),
)
def test_split_property_parts_fit_are_well_formed_and_lose_no_text(
    pieces: list[tuple[str, str]], limit: int
) -> None:
    markup = ""
    for tag, text in pieces:
        body = escape(text)
        if tag == "a":
            markup += f'<a href="https://e.org/?q=&quot;">{body}</a>'
        elif tag:
            markup += f"<{tag}>{body}</{tag}>"
        else:
            markup += body
    parts = split_html(markup, limit)
    for part in parts:
        assert utf16_len(part) <= limit
        check_html(part)
    assert squash("".join(visible_text(p) for p in parts)) == squash(visible_text(markup))


# -- answer view -----------------------------------------------------------------------------------


def test_title_answer_and_author_are_escaped(r: Renderer) -> None:
    reply = r.question(question(title=EVIL, answers=(Answer(EVIL, EVIL),)))
    text = check_reply(reply)
    assert "<script>" not in reply.text and "&lt;script&gt;" in reply.text
    assert text.count('<script>alert("x")</script> & &amp; <b>') == 3


def test_answer_view_trims_long_answers_at_sentence_end_with_full_button(r: Renderer) -> None:
    long = SENTENCE * 100
    reply = r.question(question(answers=(Answer("a", long), Answer("b", "短。"))))
    check_reply(reply)
    assert SENTENCE * 5 + "…" in reply.text and "短。" in reply.text
    full = [b for b in all_buttons(reply) if b.data and b.data.startswith("a:")]
    assert [cb.decode(b.data) for b in full] == [cb.FullAnswer(QID, 0)]  # type: ignore[arg-type]
    assert "#1" in full[0].text


def test_answer_view_shows_a_page_and_a_more_button_with_the_count_left(r: Renderer) -> None:
    answers = tuple(Answer(f"author{i}", f"回答{i}。") for i in range(7))
    first = r.question(question(answers=answers))
    assert "回答2。" in first.text and "回答3。" not in first.text
    more = [b for b in all_buttons(first) if b.data == "q:" + QID + ":3"]
    assert more and "4" in more[0].text
    last = r.question(question(answers=answers), offset=6)
    assert "回答6。" in last.text and "author6" in last.text
    assert not any(b.data and b.data.startswith(f"q:{QID}:") for b in all_buttons(last))


def test_answer_view_without_answers_says_so(r: Renderer) -> None:
    reply = r.question(question(answers=()))
    check_reply(reply)
    assert strings("zh-Hans").no_answers in reply.text


def test_related_in_archive_are_buttons_and_the_others_wait_behind_one_more_button(r: Renderer) -> None:
    related = (Link("不在存档里"), Link("在存档里", "abc123"), Link("很长" * 40))
    q = question(related=related)
    reply = r.question(q)
    check_reply(reply)
    actions = [cb.decode(b.data) for b in all_buttons(reply) if b.data]
    assert actions[0] == cb.Open("abc123")  # archived first, although listed second
    assert not any(isinstance(a, cb.Related) for a in actions)
    more = next(b for b in all_buttons(reply) if b.data and b.data.startswith("m:"))
    assert cb.decode(more.data) == cb.MoreRelated(QID, 1)  # type: ignore[arg-type]
    assert more.text == strings("zh-Hans").more_related.format(k=2)
    assert strings("zh-Hans").related in reply.text


def test_more_related_topics_lists_the_rest_as_search_buttons(r: Renderer) -> None:
    related = (Link("不在存档里"), Link("在存档里", "abc123"), Link("很长" * 40))
    q = question(related=related)
    page = r.related_more(q, 1)
    text = check_reply(page)
    assert "1. 🔍 不在存档里" in text and ". 在存档里" not in text
    assert strings("zh-Hans").related_hint in text
    actions = [cb.decode(row[0].data) for row in page.buttons]  # type: ignore[arg-type]
    assert [a.index for a in actions] == [0, 2]  # type: ignore[union-attr]
    assert cb.resolve(q, actions[0]) == Link("不在存档里")  # type: ignore[arg-type]
    assert page.buttons[1][0].text.startswith("🔍 2. ") and page.buttons[1][0].text.endswith("…")


def test_related_list_is_capped_by_settings() -> None:
    q = question(related=tuple(Link(f"话题{i}") for i in range(30)))
    renderer = Renderer(RenderSettings(max_related=4))
    assert [b.text for b in all_buttons(renderer.question(q)) if b.data and b.data.startswith("m:")] == [
        "更多相关话题（4）"]
    page = renderer.related_more(q, 0)
    assert sum(1 for b in all_buttons(page) if b.data and b.data.startswith("r:")) == 4


def test_many_related_topics_fit_eight_rows_two_a_row() -> None:
    q = question(related=tuple(Link(f"话题{i}") for i in range(20)))
    page = Renderer(RenderSettings(max_related=20)).related_more(q, 0)
    check_reply(page)
    assert len(page.buttons) == 8 and all(len(row) == 2 for row in page.buttons)
    assert "20. 🔍 话题19" in visible_text(page.text)  # beyond the buttons, still listed


def test_first_page_never_has_more_than_eight_keyboard_rows() -> None:
    long = SENTENCE * 100
    q = question(
        answers=tuple(Answer(f"a{i}", long) for i in range(12)),
        related=(*(Link(f"存档话题{i}", f"id{i}") for i in range(19)), Link("外面的话题")),
        prev=Link("上一个", "pp1"), next=Link("下一个"),
    )
    renderer = Renderer(RenderSettings(answers_per_message=10, answer_chars=40, max_related=20,
                                       url_template="https://example.org/q/{id}"))
    reply = renderer.question(q)
    check_reply(reply)
    assert len(reply.buttons) == 8
    opened = [b for b in all_buttons(reply) if b.data and b.data.startswith("q:id")]
    more = next(b for b in all_buttons(reply) if b.data and b.data.startswith("m:"))
    assert cb.decode(more.data) == cb.MoreRelated(QID, len(opened))  # type: ignore[arg-type]
    assert more.text == f"更多相关话题（{20 - len(opened)}）"
    rest = renderer.related_more(q, len(opened))
    assert f"1. 存档话题{len(opened)}" in visible_text(rest.text)


def test_later_answer_pages_carry_navigation_only(r: Renderer) -> None:
    answers = tuple(Answer(f"author{i}", f"回答{i}。") for i in range(7))
    q = question(answers=answers, related=(Link("在存档里", "abc123"), Link("不在")),
                 prev=Link("上一个", "pp1"))
    first = r.question(q)
    assert any(b.data and b.data.startswith("m:") for b in all_buttons(first))
    assert any(b.switch_inline or b.url for b in all_buttons(first))
    later = r.question(q, offset=3)
    actions = [cb.decode(b.data) for b in all_buttons(later)]  # type: ignore[arg-type]
    assert actions == [cb.Open(QID, 6), cb.Open("pp1")]  # more answers, previous discussion: no related, no share
    assert strings("zh-Hans").related not in later.text


def test_a_reply_with_nine_keyboard_rows_is_refused() -> None:
    rows = tuple((Button(f"b{i}", data=f"q:a{i}"),) for i in range(9))
    with pytest.raises(ValueError, match="keyboard rows"):
        Reply("text", rows)
    Reply("text", rows[:8])


def test_topic_not_in_archive_offers_the_nearest_and_the_way_back_without_typing_tips(r: Renderer) -> None:
    reply = r.topic_not_archived("为什么很少人用FFT加速CNN?", [(Hit("abc", 40.0), "CNN 卷积是怎么算的?")],
                                 back_to=QID)
    text = check_reply(reply)
    t = strings("zh-Hans")
    assert t.topic_not_archived.format(topic="为什么很少人用FFT加速CNN?") in text
    assert t.nearest in text and "CNN 卷积是怎么算的?" in text
    assert t.tips not in text and "寒暄" not in text
    assert [cb.decode(b.data) for b in all_buttons(reply)] == [cb.Open("abc"), cb.Open(QID)]  # type: ignore[arg-type]
    nothing = r.topic_not_archived("FFT", [], back_to=QID, locale="en")
    assert "Nothing close to it is archived either." in check_reply(nothing)


def test_prev_and_next_share_one_row(r: Renderer) -> None:
    q = question(prev=Link("上一个"), next=Link("下一个", "zz9"))
    reply = r.question(q)
    row = next(row for row in reply.buttons if len(row) == 2 and row[0].data and row[0].data[0] == "p")
    assert cb.resolve(q, cb.decode(row[0].data)) == Link("上一个")  # type: ignore[arg-type]
    assert cb.decode(row[1].data) == cb.Open("zz9")  # type: ignore[arg-type]


def test_url_button_only_when_template_is_set(r: Renderer) -> None:
    assert not any(b.url for b in all_buttons(r.question(question())))
    with_url = Renderer(RenderSettings(url_template="https://example.org/q/{id}?t={title}"))
    urls = [b.url for b in all_buttons(with_url.question(question(title="a b&c")))]
    assert f"https://example.org/q/{QID}?t=a%20b%26c" in urls


def test_share_uses_inline_switch_or_deep_link(r: Renderer) -> None:
    share = next(b for b in all_buttons(r.question(question())) if b.switch_inline is not None)
    assert share.switch_inline == "Resnet是否只是一个深度学习的trick?"
    named = Renderer(RenderSettings(bot_username="archive_bot"))
    urls = [b.url for b in all_buttons(named.question(question())) if b.url]
    assert any(f"t.me%2Farchive_bot%3Fstart%3Dq_{QID}" in u for u in urls)


def test_locale_changes_button_labels(r: Renderer) -> None:
    answers = tuple(Answer("a", "x。") for i in range(5))
    en = r.question(question(answers=answers), locale="en")
    assert any(b.text == "More answers (2 left)" for b in all_buttons(en))


# -- full answer -----------------------------------------------------------------------------------


def test_full_answer_is_split_into_parts_that_fit_and_lose_no_text(r: Renderer) -> None:
    text = "\n\n".join(f"第{i}段：" + SENTENCE * 40 + EVIL for i in range(40))
    q = question(answers=(Answer("作者", text), Answer("b", "x")))
    replies = r.answer_full(q, 0)
    assert len(replies) > 2
    shown = "".join(check_reply(p) for p in replies)
    assert squash(text) in squash(re.sub(r"（\d+/\d+）", "", shown))
    assert not any(p.buttons for p in replies[:-1])
    actions = [cb.decode(b.data) for b in all_buttons(replies[-1])]  # type: ignore[arg-type]
    assert actions == [cb.Open(QID, 0), cb.FullAnswer(QID, 1)]


def test_full_answer_emoji_heavy(r: Renderer) -> None:
    text = ("😀👍🏽🇨🇳 " * 500 + "\n\n") * 5
    replies = r.answer_full(question(answers=(Answer("😀", text),)), 0, locale="en")
    assert len(replies) > 1
    for p in replies:
        check_reply(p)


def test_full_answer_back_button_returns_to_the_page_of_that_answer(r: Renderer) -> None:
    q = question(answers=tuple(Answer("a", "x。") for _ in range(5)))
    (reply,) = r.answer_full(q, 4)
    assert [cb.decode(b.data) for b in all_buttons(reply)] == [cb.Open(QID, 3)]  # type: ignore[arg-type]


def test_full_answer_out_of_range_raises_index_error(r: Renderer) -> None:
    with pytest.raises(IndexError):
        r.answer_full(question(), 1)


# -- matching outcomes, fixed messages -------------------------------------------------------------


def test_did_you_mean_offers_three_candidates_and_none_of_these(r: Renderer) -> None:
    cands = [(Hit(f"id{i}", 80 - i), f"候选{i}{EVIL}") for i in range(5)] + [(Hit("BAD ID", 70), "x")]
    reply = r.did_you_mean(cands)
    check_reply(reply)
    actions = [cb.decode(b.data) for b in all_buttons(reply)]  # type: ignore[arg-type]
    assert actions == [cb.Open("id0"), cb.Open("id1"), cb.Open("id2"), cb.NoneOfThese()]


def test_no_match_names_the_query_lists_candidates_and_gives_tips(r: Renderer) -> None:
    reply = r.no_match("什么<是>残差", [(Hit("abc", 40), "残差网络")], locale="en")
    text = check_reply(reply)
    assert "什么<是>残差" in text and "残差网络" in text and strings("en").tips.split("\n")[0] in text
    assert [cb.decode(b.data) for b in all_buttons(reply)] == [cb.Open("abc")]  # type: ignore[arg-type]
    assert not r.no_match("x", []).buttons


@pytest.mark.parametrize("locale", LOCALES)
def test_fixed_messages_are_valid_in_every_locale(r: Renderer, locale: str) -> None:
    for reply in (
        *(r.fixed(key, locale) for key in sorted(Renderer.FIXED)),
        r.none_of_these(locale),
        r.stats([], locale),
    ):
        check_reply(reply)
    assert 0 < len(r.stale(locale)) <= 200


def test_stats_lists_rows_and_fits_one_message(r: Renderer) -> None:
    rows = [(f"问题{i}{EVIL}" * 3, 1000 - i, Band.NO_MATCH) for i in range(500)]
    reply = r.stats(rows, "en")
    text = check_reply(reply)
    assert "1000" in text and "no match" in text and "more" in text


def test_inline_results_at_most_ten_with_non_empty_fields(r: Renderer) -> None:
    qs = [question(id=f"q{i}", title="" if i == 0 else f"标题{i}", answers=()) for i in range(12)]
    qs.insert(1, qs[1])
    items = r.inline_results(qs)
    assert len(items) == 10 and len({i.id for i in items}) == 10
    for item in items:
        assert isinstance(item, InlineItem) and item.title.strip() and item.description.strip()
        check_reply(item.reply)


def test_inline_description_is_the_start_of_the_top_answer(r: Renderer) -> None:
    (item,) = r.inline_results([question(answers=(Answer("作者", "第一行\n\n" + SENTENCE * 50),))])
    assert item.description.startswith("作者: 第一行 ") and len(item.description) <= 125


def test_reply_and_button_refuse_to_break_telegram_limits() -> None:
    from bot.ui.reply import Button

    with pytest.raises(ValueError):
        Reply("😀" * 2049)
    with pytest.raises(ValueError):
        Reply("x", ((Button("b", data="x"),) * 9,))
    with pytest.raises(ValueError):
        Button("b", data="x", url="https://e.org")
    with pytest.raises(ValueError):
        Button(" ", data="x")
    with pytest.raises(ValueError):
        Button("b", data="x" * 65)


@pytest.mark.parametrize(
    "bad",
    [
        {"answers_per_message": 0},
        {"answer_chars": 5},
        {"locale": "de"},
        {"url_template": "https://e.org/{nope}"},
        {"url_template": "javascript:{id}"},
        {"bot_username": "bad name"},
    ],
)
def test_invalid_settings_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Renderer(RenderSettings(**bad))  # type: ignore[arg-type]


# -- property: any question renders within limits ------------------------------------------------

_pieces = st.one_of(
    st.characters(),
    st.sampled_from([*"<>&\"'。！？.;\n ", "\n\n", "😀", "👍🏽", "&amp;", "<b>", "中文", "👨\u200d👩"]),
)
_text = st.lists(_pieces, max_size=40).map("".join)
_long_text = st.one_of(
    _text,
    st.builds(
        lambda s, k: s * k, st.lists(_pieces, min_size=1, max_size=30).map("".join), st.integers(1, 500)
    ),
)
_ids = st.from_regex(r"[a-z0-9]{1,16}", fullmatch=True)
_links = st.builds(Link, _text, st.one_of(st.none(), _ids))
_questions = st.builds(
    Question,
    id=_ids,
    title=st.one_of(_text, _long_text),
    answers=st.lists(st.builds(Answer, _text, _long_text), max_size=8).map(tuple),
    related=st.lists(_links, max_size=14).map(tuple),
    prev=st.one_of(st.none(), _links),
    next=st.one_of(st.none(), _links),
)
_settings = st.builds(
    RenderSettings,
    answers_per_message=st.integers(1, 10),
    answer_chars=st.integers(40, 3500),
    url_template=st.sampled_from([None, "https://example.org/q/{id}?t={title}"]),
    bot_username=st.sampled_from([None, "archive_bot"]),
    max_related=st.integers(0, 20),
    locale=st.sampled_from(LOCALES),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_questions, _settings, st.integers(0, 10))
def test_any_question_renders_within_telegram_limits(q: Question, s: RenderSettings, offset: int) -> None:
    r = Renderer(s)
    check_reply(r.question(q, offset=offset))
    check_reply(r.related_more(q, offset))
    for i in range(len(q.answers)):
        parts = r.answer_full(q, i)
        shown = squash(re.sub(r"[（(]\d+/\d+[）)]", "", "".join(check_reply(p) for p in parts)))
        assert squash(visible_text(escape(q.answers[i].text))) in shown or not q.answers[i].text.strip()
    for item in r.inline_results([q]):
        assert item.title.strip() and item.description.strip()
        check_reply(item.reply)


def test_lone_surrogates_and_control_characters_are_dropped_not_crashing() -> None:
    r = Renderer(RenderSettings(url_template="https://e.org/{id}/{title}", bot_username="archive_bot"))
    bad = "a\ud800b\x00c"
    q = question(title=bad, answers=(Answer(bad, bad),), related=(Link(bad),), prev=Link("\udfff"))
    reply = r.question(q)
    check_reply(reply)
    reply.text.encode("utf-8")
    for b in all_buttons(reply):
        b.text.encode("utf-8")
        (b.url or "").encode("ascii")


def _telegram_accepts(reply: Reply) -> None:
    """The fake Bot API's own checks (tdlib's HTML parser port, keyboard rules) accept ``reply``."""
    from tests.fakebotapi import FakeBotAPI, parse_html, utf16_len

    plain, _ = parse_html(reply.text)
    assert 0 < utf16_len(plain.strip()) <= 4096
    if reply.buttons:
        FakeBotAPI()._check_markup({"inline_keyboard": [[_button_json(b) for b in row] for row in reply.buttons]})


def _button_json(b: Button) -> dict:
    out: dict = {"text": b.text}
    for key, value in (("callback_data", b.data), ("url", b.url), ("switch_inline_query", b.switch_inline)):
        if value is not None:
            out[key] = value
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_questions, _settings, _text)
def test_every_rendered_reply_passes_the_fake_bot_apis_telegram_checks(q: Question, s: RenderSettings, query: str):
    r = Renderer(s)
    replies = [r.question(q), r.no_match(query or "?", [(Hit(q.id, 50.0), q.title)]),
               r.did_you_mean([(Hit(q.id, 50.0), q.title or "?")]), r.related_more(q, 0), r.related_more(q, 3),
               r.topic_not_archived(query or "?", [(Hit(q.id, 50.0), q.title)], back_to=q.id)]
    replies += [part for i in range(len(q.answers)) for part in r.answer_full(q, i)]
    replies += [item.reply for item in r.inline_results([q])]
    for reply in replies:
        _telegram_accepts(reply)
