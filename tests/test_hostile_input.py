"""Property tests: arbitrary, hostile Unicode never crashes the parser, normaliser, matcher or renderer."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answerer import Answerer
from bot.archive.parse import parse_page
from bot.search.analysis import Normalizer
from bot.search.matcher import Matcher
from bot.storage.store import Store
from bot.ui.render import Renderer
from bot.ui.reply import RenderSettings
from tests.pages import make_page

# Control characters, bidi marks, zero-width joiners, surrogate neighbours, emoji sequences, HTML.
NASTY = st.sampled_from([
    "\u202e", "\u200f", "\u200d", "\ufeff", "\x00", "\x1b[31m", "\ud7ff", "\ue000", "\U0010ffff", "👨\u200d👩\u200d👧",
    "🏳️\u200d🌈", "<script>alert(1)</script>", "&amp;", "&", "<", "第3页", "\u00a0", "\u3000", "\r\n", "？",
])
HOSTILE = st.lists(st.one_of(st.text(max_size=20), NASTY), max_size=60).map("".join)


@pytest.fixture(scope="module")
def answerer(tmp_path_factory):
    store = Store.open(str(tmp_path_factory.mktemp("h") / "a.db"))
    with store.transaction():
        for title in ("ResNet 的残差连接为什么有效?", "<b>HTML</b> & 标题 在答案里?", "每天喝咖啡对身体有害吗?"):
            store.put_page(parse_page(make_page(title, 1, [("<i>作者</i>", "答案 & <b>粗体</b> 😀")],
                                                 related=["<a href='x'>链接</a>?"])).page, title)
        store.bump_version()
    yield Answerer(store, Matcher.from_titles(store.iter_titles()), store.fingerprint())
    store.close()


@settings(max_examples=150, deadline=None)
@given(HOSTILE)
def test_parser_never_raises_on_hostile_pages(text):
    result = parse_page(make_page(text or "?", 1, [(text, text)], related=[text]))
    assert (result.page is None) != (result.problem is None)
    parse_page(text)


def test_huge_inputs_are_handled_quickly(answerer):
    huge = "残差连接为什么有效" * 12_000  # 10^5 characters
    assert parse_page(huge).page is None
    assert len(Normalizer().normalize(huge)) <= 4 * 200
    outcome = answerer.ask(huge)
    Renderer(RenderSettings()).outcome(outcome, huge)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(HOSTILE)
def test_normaliser_matcher_and_renderer_never_raise(answerer, text):
    normalized = Normalizer().normalize(text)
    assert normalized == normalized.strip() and "  " not in normalized
    outcome = answerer.ask(text)
    assert 0.0 <= outcome.score <= 100.0
    reply = Renderer(RenderSettings(bot_username="archive_bot")).outcome(outcome, text)
    reply.text.encode("utf-8")  # no lone surrogates reach Telegram
    for item in Renderer(RenderSettings()).inline_results(answerer.search(text, 10)):
        item.reply.text.encode("utf-8")
