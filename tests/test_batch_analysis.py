"""The batch analysis of the build gives what ``Analyzer.analyze`` gives one text at a time."""

from __future__ import annotations

import itertools

import jieba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.search import analysis, batch, fastcut
from bot.search.analysis import T_WORD, Analyzer
from bot.search.batch import BatchAnalyzer
from bot.search.build import build_index, index_titles
from bot.search.segment import ARRAYS

TITLES = [
    "残差网络为什么能解决深度网络的退化问题",
    "残叉网络和残差网络是一回事吗",  # one pinyin bigram from two char bigrams: the first one's char key
    "如何评价 python 的类型注解",
    "如何评价MLP-Mixer",
    "resnet50 和 resnet 50 有什么区别",
    "请问",  # only boilerplate: kept
    "如何看待",
    "",
    "？！。",
    "大家觉得跑男好看吗 大家觉得跑男好看吗",  # a segment twice
    "Как дела по-русски и 日本語のテキスト",
    "第3页 北京上海天气 2024年 10月",
    "ℌ𝔢𝔩𝔩𝔬 ①② ｆｕｌｌ ｗｉｄｔｈ",
    "晨跑时我所在的地方空气很差怎么办",
    "考研数学一和数学二的区别有哪些",
    "有哪些信息值得关注 如何评价这场比赛",
    "a b c d e f g 一 二 三",
    "𠀀𠀁 𪜀 e\u0301 \u3400\u3401",
]


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(extra_words=["python", "mlp", "resnet"])


def _expected(an: Analyzer, texts: list[str]) -> tuple[list[str], set[tuple[int, int]]]:
    contents, pairs = [], set()
    for i, s in enumerate(texts):
        a = an.analyze(s, normalized=True)
        contents.append(a.content)
        pairs |= set(itertools.product([i], a.keys()))
    return contents, pairs


def _check(an: Analyzer, ba: BatchAnalyzer, texts: list[str]) -> None:
    got = ba.terms(texts)
    contents, pairs = _expected(an, texts)
    assert got.contents == contents
    assert len(got.doc) == len(pairs)  # each (text, key) once
    assert set(zip(got.doc.tolist(), got.key.tolist(), strict=True)) == pairs
    assert bool(np.all(np.diff(got.doc) >= 0))  # in text order


@pytest.mark.parametrize("many_min", [0, None])  # cut all at once (numpy), or segment by segment
def test_batch_terms_equal_analyze_on_titles(analyzer, many_min):
    texts = [analyzer.normalize(t) for t in TITLES]
    ba = BatchAnalyzer(analyzer, many_min)
    _check(analyzer, ba, texts)
    assert ba._cutter.ready == (many_min == 0)


def test_batch_terms_equal_analyze_across_chunks_and_memo_clears(analyzer, monkeypatch):
    monkeypatch.setattr(batch, "CHUNK", 3)
    monkeypatch.setattr(batch, "SEGMENT_MEMO", 4)
    texts = [analyzer.normalize(t) for t in TITLES * 2]
    ba = BatchAnalyzer(analyzer, many_min=0)
    _check(analyzer, ba, texts)
    _check(analyzer, ba, texts[::-1])  # again, with the memo and the token table filled


_CHARS = "的是了在和我你他网络残差叉学习数据分析北京上海天气跑男好看吗请问如何一二三abcxyz019+#&._%- \u3400é\t"


def test_batch_terms_equal_analyze_when_word_keys_collide(monkeypatch):
    monkeypatch.setattr(analysis, "word_key", lambda w: (T_WORD << 56) | len(w))  # every length: one key
    monkeypatch.setattr(batch, "word_key", analysis.word_key)
    an = Analyzer(extra_words=["python"])
    ba = BatchAnalyzer(an, many_min=0)
    _check(an, ba, [an.normalize(t) for t in TITLES])
    assert ba._collided


@pytest.fixture(scope="module")
def shared(analyzer) -> BatchAnalyzer:
    return BatchAnalyzer(analyzer, many_min=0)  # one for all examples: its memo and token table fill up


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.text(alphabet=_CHARS, max_size=30), max_size=8))
def test_batch_terms_equal_analyze_on_random_text(analyzer, shared, texts):
    ba = shared
    _check(analyzer, ba, texts)  # as given (analyze(normalized=True) takes any str)
    _check(analyzer, ba, [analyzer.normalize(t) for t in texts])


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(max_size=20), max_size=5))
def test_batch_terms_equal_analyze_on_any_unicode(analyzer, shared, texts):
    _check(analyzer, shared, [analyzer.normalize(t) for t in texts])


#: What the batch normaliser must keep line for line: newlines and other spaces inside a text, page
#: markers, width and case forms, a ligature NFKC expands, combining marks, Traditional phrases, emoji.
_NORM_CHARS = [*"第页一二3 \n\t\u3000\u00a0\u2028ＡaßﬁÅ\u0301臺灣軟體資訊？！。，：😀北京", "\u337b", "\ud800"]


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.one_of(st.text(alphabet=_NORM_CHARS, max_size=25), st.none()), max_size=8),
       cap=st.sampled_from([3, 10, 200]))
def test_normalize_many_equals_normalize_one_by_one(analyzer, texts, cap):
    norm = analyzer.normalizer
    assert norm.normalize_many(texts, max_chars=cap) == [norm.normalize(t, max_chars=cap) for t in texts]


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(max_size=30), max_size=6))
def test_normalize_many_equals_normalize_on_any_unicode(analyzer, texts):
    norm = analyzer.normalizer
    assert norm.normalize_many(texts) == [norm.normalize(t) for t in texts]


def test_normalize_many_on_titles_and_page_markers_split_by_a_newline(analyzer):
    norm = analyzer.normalizer
    texts = [*TITLES, "标题 第", "3页 另一个", "第 12 页", "臺灣的軟體 第二页", "a\nb 第\n3页"]
    assert norm.normalize_many(texts, max_chars=12) == [norm.normalize(t, max_chars=12) for t in texts]


@pytest.fixture(scope="module")
def tok() -> jieba.Tokenizer:
    return Analyzer(extra_words=["abc", "python", "残叉网络"]).tokenizer


@pytest.fixture(scope="module")
def cutter(tok) -> fastcut.Cutter:
    return fastcut.Cutter(tok)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=_CHARS, max_size=40))
def test_cutter_gives_jiebas_tokens(tok, cutter, text):
    assert cutter.lcut(text) == tok.lcut(text, HMM=False)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.text(alphabet=_CHARS, max_size=40), max_size=6))
def test_cutting_many_at_once_gives_jiebas_tokens(tok, cutter, texts):
    assert cutter.lcut_many(texts) == [tok.lcut(t, HMM=False) for t in texts]


def test_cutting_many_titles_at_once_gives_jiebas_tokens(analyzer, tok, cutter):
    texts = [x for t in TITLES for x in analyzer.normalize(t).split(" ")] + TITLES
    assert cutter.lcut_many(texts) == [tok.lcut(t, HMM=False) for t in texts]


def test_cutter_sees_when_words_were_added():
    an = Analyzer()
    cutter = fastcut.Cutter(an.tokenizer)
    assert not cutter.stale()
    an.add_words(["残叉网络"])
    assert cutter.stale()


def test_build_in_batches_equals_build_from_analyses():
    analyzer = Analyzer()
    pairs = [(f"k{i % 7}", t) for i, t in enumerate(TITLES * 3)]
    pairs.sort(key=lambda p: p[0])
    got = index_titles(pairs, analyzer, title_max_chars=200)
    want = build_index(
        ((k, analyzer.analyze(analyzer.normalizer.normalize(t, max_chars=200), normalized=True)) for k, t in pairs),
        extra_words=analyzer.extra_words,
    )
    for name in ARRAYS:
        if name != "kwords":  # the archive words are recorded by index_titles only
            assert np.array_equal(getattr(got, name), getattr(want, name)), name


@settings(max_examples=50, deadline=None)
@given(keys=st.sets(st.integers(min_value=0, max_value=(1 << 40) - 1), max_size=300),
       probes=st.lists(st.integers(min_value=0, max_value=(1 << 40) - 1), max_size=50))
def test_trie_hash_table_finds_exactly_its_keys(keys, probes):
    ks = np.array(sorted(keys), dtype=np.int64)
    table = fastcut._hash_table(ks, ks * 3 + 1)
    want = [k * 3 + 1 if k in keys else -1 for k in [*keys, *probes]]
    got = fastcut._hash_lookup(*table, np.array([*keys, *probes], dtype=np.int64)).tolist()
    assert got == want


def test_an_analysis_is_remembered_until_words_are_added():
    an = Analyzer()
    text = an.normalize("残叉网络为什么有效")
    first = an.analyze(text, normalized=True)
    assert an.analyze(text, normalized=True) is first
    an.add_words(["残叉网络"])
    again = an.analyze(text, normalized=True)
    assert again.content.split(" ")[0] == "残叉网络" != first.content.split(" ")[0]
    assert again == Analyzer(extra_words=["残叉网络"]).analyze(text, normalized=True)


def test_remembered_analyses_are_bounded(monkeypatch):
    monkeypatch.setattr(analysis, "RECENT_ANALYSES", 3)
    an = Analyzer()
    texts = [f"问题{i}怎么办" for i in range(10)]
    assert [an.analyze(t) for t in texts] == [Analyzer().analyze(t) for t in texts]
    assert len(an._recent) <= 3
