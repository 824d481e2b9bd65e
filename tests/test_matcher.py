"""The public Matcher: search, bands, alternates, aliases, persistence, robustness."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import LCSseq, Levenshtein

from bot.models import Band, Decision, Hit
from bot.search import matcher as matcher_module
from bot.search import shortlist
from bot.search.analysis import Normalizer, char_bigram_key
from bot.search.features import FEATURES
from bot.search.matcher import Matcher, MatcherSettings
from bot.search.scorer import CONFIDENCE_FEATURES, Scorer
from bot.search.shortlist import hand_confidences
from tests.stubs import one_split

ARCHIVE = [
    ("q1", "残差网络为什么能解决深度网络的退化问题？"),
    ("q2", "如何看待全国多地官方开办暑期免费托管班？"),
    ("q3", "大家觉得跑男好看吗？"),
    ("q4", "晨跑时我所在的地方空气很差怎么办？"),
    ("q5", "用什么播放器看世界杯直播比较好？"),
    ("q6", "父母总是催婚该怎么沟通？"),
    ("q7", "如何评价 MLP-Mixer 在 ImageNet 上的 top1 准确率？"),
    ("q8", "为什么猫咪喜欢晚上跑酷？"),
    ("q9", "考研数学一和数学二的区别有哪些？"),
    ("q10", "2023 LPL 夏季季后赛 EDG 不敌 TES，他们输在哪？"),
    ("q11", "如何看待新能源汽车价格战对二手车的影响？"),
    ("q12", "如何看待新能源汽车价格战对燃油车的影响？"),
    ("alt", "程序员三十五岁以后何去何从？"),
    ("alt", "35岁程序员的出路在哪里？"),
]
FILLER = [
    (f"f{i}", t)
    for i, t in enumerate(
        [
            "今天的天气很好适合出去玩",
            "北京有哪些好吃的小吃",
            "上海的房价还会涨吗",
            "如何学习Python编程",
            "怎样才能提高英语口语水平",
            "世界杯历史上最精彩的比赛是哪一场",
            "网络小说为什么这么受欢迎",
            "深度学习入门推荐哪些书",
            "猫和狗哪个更适合新手养",
            "跑步对膝盖有伤害吗",
        ]
    )
]


@pytest.fixture(scope="module")
def m() -> Matcher:
    return Matcher.from_titles(ARCHIVE + FILLER, aliases={"resnet": "残差网络"})


def test_len_counts_distinct_keys(m):
    assert len(m) == len({k for k, _ in ARCHIVE + FILLER})


def test_exact_title_is_a_direct_answer(m):
    d = m.decide("如何看待全国多地官方开办暑期免费托管班？")
    assert d.band is Band.ANSWER and d.top.key == "q2" and d.top.score > 90


def test_paraphrased_frame_finds_title(m):
    assert m.search("大家怎么看全国多地官方开办暑期免费托管班", 1)[0][0] == "q2"


def test_human_paraphrase_finds_title(m):
    assert m.search("什么播放器可以看世界杯直播", 1)[0][0] == "q5"


def test_traditional_query_finds_title(m):
    d = m.decide("如何看待全國多地官方開辦暑期免費託管班")
    assert d.band is Band.ANSWER and d.top.key == "q2"


@pytest.mark.parametrize(
    "typed",
    [
        "看資料的時候總是走神怎麼辦",  # mainland wording in Traditional characters (資料, not 数据)
        "如何執行一個定時任務",  # (執行, not 运行)
        "程式設計師35歲以後怎麼辦",  # Taiwan wording (程式設計師: 程序员)
        "軟體安裝以後打不開怎麼辦",  # (軟體: 软件)
    ],
)
def test_a_traditional_question_is_answered_in_mainland_and_in_taiwan_wording(typed):
    m = Matcher.from_titles([("data", "看资料的时候总是走神怎么办"), ("run", "如何执行一个定时任务"),
                             ("dev", "程序员35岁以后怎么办"), ("app", "软件安装以后打不开怎么办"), *FILLER])
    meant = {"資料": "data", "執行": "run", "程式": "dev", "軟體": "app"}
    d = m.decide(typed)
    assert d.band is Band.ANSWER and d.top.key == next(v for k, v in meant.items() if k in typed)


@pytest.mark.parametrize(
    "query,key",
    [
        ("残叉网络为什么能解决深度网络的退化问题", "q1"),
        ("晨跑时我所再的地方空气很差", "q4"),
        ("父目总是催婚该怎么沟通", "q6"),
    ],
)
def test_homophone_typo_finds_title(m, query, key):
    assert m.search(query, 1)[0][0] == key


@pytest.mark.parametrize(
    "typed,meant",
    [
        ("残叉网络为什么能解决深度网络的退化问题", "残差网络为什么能解决深度网络的退化问题"),
        ("父目总是催婚该怎么沟通", "父母总是催婚该怎么沟通"),
        ("儒何看待全国多地官方开办暑期免费托管班", "如何看待全国多地官方开办暑期免费托管班"),  # a frame
        ("深度学习入门推荐哪歇书", "深度学习入门推荐哪些书"),
    ],
)
def test_an_ime_typo_costs_nothing_the_query_is_matched_as_the_archive_spells_it(m, typed, meant):
    assert m.corrected(typed) == m.corrected(meant) == Normalizer().normalize(meant)
    assert m.search(typed, 5) == m.search(meant, 5)
    assert m.decide(typed).band is m.decide(meant).band


def test_a_homophone_the_archive_also_uses_is_not_read_as_a_typo():
    m = Matcher.from_titles([("a", "数学公式有什么用"), ("b", "录取名单公示期多久"), ("c", "公示期内可以反悔吗")])
    assert m.corrected("公式有什么用") == "公式有什么用"
    # but where only the other spelling is in use around it (示期, never 式期), 公式 was a typo
    assert m.corrected("录取名单公式期多久") == "录取名单公示期多久"


def test_a_word_jieba_knows_is_not_read_as_a_mistyped_question_frame():
    m = Matcher.from_titles([("a", "这个人很可疑吗"), ("b", "神魔小说有哪些经典")])
    assert m.corrected("这个人很可疑") == "这个人很可疑"  # 可疑 sounds like the frame 可以
    assert m.corrected("神魔小说有哪些经典") == "神魔小说有哪些经典"  # 神魔 like 什么


def test_a_typo_never_turns_small_talk_into_an_archive_answer():
    m = Matcher.from_titles([("a", "如何评价《崩坏：星穹铁道》那刻夏：哈哈哈哈哈哈哈"), *FILLER])
    assert m.corrected("哈奤哈哈哈哈哈") == "哈奤哈哈哈哈哈"
    assert m.decide("哈奤哈哈哈哈哈").band is not Band.ANSWER


def test_explain_shows_the_typos_it_repaired(m):
    assert "typos repaired '父母总是催婚该怎么沟通'" in m.explain("父目总是催婚该怎么沟通", "父母总是催婚该怎么沟通？")


def test_explain_shows_the_taiwan_reading_of_a_traditional_query(m):
    assert "also read with Taiwan phrases as '软件怎么安装'" in m.explain("軟體怎麼安裝", "如何学习Python编程")
    assert "also read" not in m.explain("软件怎么安装", "如何学习Python编程")


def test_shuffled_keywords_find_title(m):
    assert m.search("地方 晨跑 空气 所在", 1)[0][0] == "q4"


def test_mixed_english_query_finds_title(m):
    assert m.search("mlp mixer imagenet top1", 1)[0][0] == "q7"


def test_not_in_archive_is_no_match(m):
    d = m.decide("量子计算机什么时候能破解比特币的加密算法")
    assert d.band is Band.NO_MATCH


@pytest.mark.parametrize(
    "text",
    ["最近有什么好看的电影", "明天北京的天气预报怎么样", "北京的房价还会涨吗", "中国的首都是哪里", "今天股市怎么样"],
)
def test_a_question_outside_a_tiny_archive_is_never_answered_directly(sample_matcher, text):
    # in a 13-question archive a title sharing one common word is the whole shortlist: no competition,
    # and still no answer
    assert sample_matcher.decide(text).band is not Band.ANSWER


@pytest.mark.parametrize("text", ["咖啡", "深度学习", "残差", "注意力"])
def test_a_bare_term_is_suggested_not_answered_with_the_one_question_holding_it(sample_matcher, text):
    # one title of the sample holds each term; a word is a topic, not that title's question
    d = sample_matcher.decide(text)
    assert d.band is Band.DID_YOU_MEAN
    assert d.hits[0].score <= sample_matcher.settings.term_cap


def test_a_bare_term_that_is_a_whole_title_is_still_answered():
    m = Matcher.from_titles([("a", "咖啡"), ("b", "喝咖啡伤身体吗"), ("c", "咖啡豆怎么保存")])
    d = m.decide("咖啡")
    assert d.band is Band.ANSWER and d.hits[0].key == "a"


def test_hard_negative_is_not_a_direct_answer(m):
    d = m.decide("大家觉得她好看吗")
    assert d.band is not Band.ANSWER


def test_two_close_titles_are_did_you_mean(m):
    d = m.decide("新能源汽车价格战的影响")
    assert d.band is Band.DID_YOU_MEAN and {h.key for h in d.hits[:2]} == {"q11", "q12"}


def test_bands_follow_thresholds(m):
    q = "如何看待全国多地官方开办暑期免费托管班"
    high = m.settings.model_copy(update={"answer_threshold": 101.0})
    m_high = Matcher(m._data, m._an, {}, high)
    assert m_high.decide(q).band is Band.DID_YOU_MEAN
    none = m.settings.model_copy(update={"answer_threshold": 101.0, "suggest_threshold": 101.0})
    assert Matcher(m._data, m._an, {}, none).decide(q).band is Band.NO_MATCH


def test_decide_returns_decision_with_hits(m):
    d = m.decide("考研数学一和数学二的区别", k=3)
    assert isinstance(d, Decision) and all(isinstance(h, Hit) for h in d.hits) and len(d.hits) <= 3


def test_alternate_titles_give_one_result_per_key(m):
    res = m.search("35岁程序员何去何从", 10)
    keys = [k for k, _ in res]
    assert keys[0] == "alt" and keys.count("alt") == 1


def test_alias_left_side_matches_titles_with_right_side(m):
    assert m.search("resnet为什么能解决深度网络的退化问题", 1)[0][0] == "q1"


def test_alias_right_side_matches_titles_with_left_side():
    mm = Matcher.from_titles(
        [("a", "ResNet 的原理是什么"), ("b", "今天吃什么")], aliases={"resnet": "残差网络"}
    )
    assert mm.search("残差网络的原理", 1)[0][0] == "a"


def test_search_is_deterministic_and_sorted(m):
    a = m.search("网络", 10)
    assert a == m.search("网络", 10)
    assert all(x[1] >= y[1] for x, y in itertools.pairwise(a))


def test_ties_are_broken_by_key():
    mm = Matcher.from_titles([("b", "同一个标题"), ("a", "同一个标题"), ("c", "同一个标题")])
    assert [k for k, _ in mm.search("同一个标题", 3)] == ["a", "b", "c"]


@pytest.mark.parametrize("text", ["", "？？？", "😀", "\ud800", "\x00", "的" * 4000, "残差网络" * 1000])
def test_odd_inputs_do_not_raise(m, text):
    res = m.search(text, 5)
    assert len(res) <= 5 and all(0.0 <= s <= 100.0 for _, s in res)
    assert isinstance(m.decide(text), Decision)


def test_empty_query_is_no_match_and_bare_punctuation_is_small_talk(m):
    assert m.decide("").band is Band.NO_MATCH and m.search("", 3) == []
    d = m.decide("？！")
    assert d.band is Band.SMALLTALK and d.hits == ()


def test_empty_archive_matches_nothing():
    mm = Matcher.from_titles([])
    assert len(mm) == 0 and mm.search("残差网络", 3) == [] and mm.decide("x").band is Band.NO_MATCH


def test_save_load_round_trip(m, tmp_path):
    path = tmp_path / "matcher.idx"
    m.save(path, "fp-1")
    back = Matcher.load(path, "fp-1", aliases={"resnet": "残差网络"})
    assert back is not None and len(back) == len(m)
    for q in ("残叉网络为什么有效", "resnet 退化", "35岁程序员", "新能源汽车价格战"):
        assert back.search(q, 5) == m.search(q, 5)


def test_load_with_stale_fingerprint_is_none(m, tmp_path):
    path = tmp_path / "matcher.idx"
    m.save(path, "fp-1")
    assert Matcher.load(path, "fp-2", aliases={"resnet": "残差网络"}) is None


def test_an_index_of_titles_normalised_by_another_normalizer_version_is_stale(m, tmp_path, monkeypatch):
    path = tmp_path / "matcher.idx"
    m.save(path, "fp-1")
    monkeypatch.setattr(matcher_module, "NORMALIZER_VERSION", matcher_module.NORMALIZER_VERSION + 1)
    assert Matcher.load(path, "fp-1", aliases={"resnet": "残差网络"}) is None


def test_load_of_corrupt_or_missing_file_is_none(m, tmp_path):
    path = tmp_path / "matcher.idx"
    assert Matcher.load(path, "fp") is None
    path.write_bytes(b"garbage" * 100)
    assert Matcher.load(path, "fp") is None


def test_settings_are_frozen_with_yaml_names():
    s = MatcherSettings()
    with pytest.raises(ValueError):
        s.answer_threshold = 1.0  # type: ignore[misc]
    assert {"answer_threshold", "suggest_threshold", "margin", "max_query_chars"} <= {
        name for name in type(s).model_fields
    }
    assert 0 < s.suggest_threshold < s.answer_threshold <= 100


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300), k=st.integers(min_value=0, max_value=12))
def test_search_never_raises_and_respects_bounds(m, text, k):
    res = m.search(text, k)
    assert len(res) <= k
    assert all(0.0 <= s <= 100.0 for _, s in res)
    assert len({key for key, _ in res}) == len(res)


def test_synonym_in_title_raises_the_score(m):
    # 提升 (query) / 提高 (filler title "怎样才能提高英语口语水平") are one synonym set
    syn = dict(m.search("怎样才能提升英语口语水平", 3))
    other = dict(m.search("怎样才能锻炼英语口语水平", 3))
    key = next(k for k, t in ARCHIVE + FILLER if t == "怎样才能提高英语口语水平")
    assert syn[key] > other.get(key, 0.0)


def test_synonym_table_has_tight_multichar_sets():
    from bot.search.analysis import load_synonyms

    syn = load_synonyms()
    assert not syn["提高"].isdisjoint(syn["提升"])
    assert not syn["程度"].isdisjoint(syn["水平"])
    assert all(len(w) >= 2 for w in syn)


def test_substitution_in_same_slot_is_penalised(m):
    # one attribute swapped inside an otherwise identical question: another question
    d = m.decide("考研数学三和数学二的区别有哪些")
    exact = m.decide("考研数学一和数学二的区别有哪些")
    assert d.band is not Band.ANSWER
    assert d.hits[0].score < exact.hits[0].score - 10


def test_substitution_detection(m):
    subs = m._substitutions
    assert subs("考研备考后期大家也会学不进吗", "考研备考初期大家也会学不进吗") == [("后", "初")]
    assert subs("大家觉得她好看吗", "大家觉得跑男好看吗") == [("她", "跑男")]
    assert subs("卡塔尔世界杯更不配", "卡塔尔世界杯更配") == [("不", "")]
    assert subs("晨跑时我所再的地方空气很差", "晨跑时我所在的地方空气很差") == []  # homophone typo
    assert subs("吴昕在明星大侦探里表现如何", "吴昕在明星大侦探中的表现如何") == []  # function chars
    assert subs("怎么提高结构化思维", "如何提升自己的结构化思维能力") == []  # a rephrasing


def test_an_ime_typo_elsewhere_neither_hides_a_substitution_nor_makes_one(m):
    subs = m._substitutions
    # 谈练爱/关玉 are typos of 谈恋爱/关于: the swapped slots still stand between equal text
    typed = "为什么电影电视剧里谈练爱的总是帅哥美女关玉普通人的爱情故事那么少"
    title = "为什么电影电视剧里谈恋爱的总是年轻人关于中年人的爱情故事那么少"
    assert subs(typed, title) == subs(typed.replace("练", "恋").replace("玉", "于"), title) != []
    # a typo beside a dropped function character is still no substitution (晨跑时我所再地方 / 所在的地方)
    assert subs("晨跑时我所再地方空气很差", "晨跑时我所在的地方空气很差") == []


def test_swapped_number_costs_more_than_a_missing_one(m):
    swapped = dict(m.search("2024 LPL 夏季季后赛 EDG 不敌 TES，他们输在哪？", 3)).get("q10", 0.0)
    missing = dict(m.search("LPL 夏季季后赛 EDG 不敌 TES，他们输在哪？", 3)).get("q10", 0.0)
    assert swapped < missing


@pytest.mark.parametrize("ranker_log_odds, doubt, band", [
    (-1.0, 50.0, Band.DID_YOU_MEAN),  # the ranker gives the top 27 %: suggested, capped
    (-1.0, 0.0, Band.ANSWER),  # the rule turned off
    (1.0, 50.0, Band.ANSWER),  # the ranker agrees (73 %)
])
def test_a_top_hit_the_ranker_doubts_is_suggested_not_answered(m, ranker_log_odds, doubt, band):
    # relevance and confidence models sure of every candidate (99.3 %): only the ranker's doubt stops a direct
    # answer, as for 考驾照科目二怎么考 -> 考驾照给我的挫败感太强了，科目二考两次还没过 on 180k titles
    settings = m.settings.model_copy(update={"ranker_doubt": doubt})
    doubting = Matcher(m._data, m._an, {}, settings)
    # each model gives every row the same log-odds (two equal leaves)
    doubting._scorer = Scorer({"ranker": one_split("qcov", left=ranker_log_odds, right=ranker_log_odds),
                               "relevance": one_split("qcov", left=5.0, right=5.0),
                               "confidence": one_split("relevance_p", CONFIDENCE_FEATURES, left=5.0, right=5.0)})
    d = doubting.decide("暑假托管班是官方办的吗")
    assert d.band == band and d.hits[0].key == "q2"
    if band == Band.DID_YOU_MEAN:
        assert d.hits[0].score == settings.substitution_cap
    exact = doubting.decide("大家觉得跑男好看吗？")  # the title as typed is answered whatever the ranker says
    assert exact.band == Band.ANSWER and exact.hits[0].key == "q3"


def test_top_score_does_not_depend_on_k(m):
    q = "新能源汽车价格战对二手车有什么影响"
    full = m.search(q, k=10)
    assert m.search(q, k=1) == full[:1]
    assert m.search(q, k=3) == full[:3]


def test_gap_to_runner_up_raises_only_the_top_score(m):
    q = "残差网络为什么能解决退化问题"
    hand = m.settings.model_copy(update={"learned_scorer": False})  # the hand-made confidence (fallback)
    plain = Matcher(m._data, m._an, {}, hand.model_copy(update={"gap_weight": 0.0})).search(q, k=5)
    gapped = Matcher(m._data, m._an, {}, hand).search(q, k=5)
    assert [k for k, _ in plain] == [k for k, _ in gapped]
    assert gapped[0][1] > plain[0][1]
    assert gapped[1:] == plain[1:]
    assert all(0.0 <= s <= 100.0 for _, s in gapped)


def test_confidences_are_capped_by_the_hit_above():
    assert hand_confidences([], 0.3) == []
    assert hand_confidences([50.0, 60.0, 10.0], 0.0) == [50.0, 50.0, 10.0]
    out = hand_confidences([50.0, 10.0], 0.5)
    assert out[1] == 10.0 and 50.0 < out[0] <= 100.0
    assert hand_confidences([100.0], 1.0) == [100.0]


def test_explain_lists_terms_and_score_parts(m):
    text = m.explain("残差网络为什么能解决退化问题", "残差网络为什么能解决深度网络的退化问题？")
    assert "qcov" in text and "confidence" in text and "<- this title" in text
    assert "+ [残差网络]" in text
    assert "0 doc(s)" in m.explain("残差网络", "不在库里的标题")


# ---------------------------------------------------------------- bands of issue 9


@pytest.mark.parametrize("text", ["你好", "谢谢你", "哈哈哈", "晚安", "你是机器人吗", "答非所问", "👍", "thanks"])
def test_small_talk_is_never_an_archive_answer(m, text):
    d = m.decide(text)
    assert d.band is Band.SMALLTALK and d.hits == () and d.smalltalk is not None


def test_politeness_around_a_question_gives_the_same_top_hit_as_the_bare_question(m):
    bare = m.decide("残差网络为什么能解决深度网络的退化问题")
    wrapped = m.decide("你好，请问残差网络为什么能解决深度网络的退化问题？谢谢")
    assert wrapped.top.key == bare.top.key == "q1"
    assert wrapped.band is bare.band and wrapped.top.score == pytest.approx(bare.top.score)
    assert "你好" not in wrapped.query and "谢谢" not in wrapped.query


@pytest.mark.parametrize(
    "text",
    ["2024 LPL 夏季季后赛 EDG 不敌 TES，他们输在哪？", "2023 LPL 夏季季后赛 JDG 不敌 TES，他们输在哪？"],
)
def test_hard_negative_with_another_number_or_name_is_not_answered(m, text):
    assert m.decide(text).band is not Band.ANSWER


PHONES = [
    (f"p{i}", t)
    for i, t in enumerate(
        [
            "手机电池不耐用怎么办",
            "买手机应该看重哪些参数",
            "手机摄像头像素越高越好吗",
            "如何看待手机厂商取消充电器",
            "旧手机怎么处理比较好",
            "手机信号差是什么原因",
        ]
    )
]


@pytest.fixture(scope="module")
def phones() -> Matcher:
    return Matcher.from_titles(ARCHIVE + FILLER + PHONES)


def test_a_bare_topic_word_shared_by_many_titles_is_a_topic(phones):
    d = phones.decide("手机")
    assert d.band is Band.TOPIC and d.topic == "手机" and d.topic_count == len(PHONES)
    assert d.hits and all(h.key.startswith("p") for h in d.hits)


def test_a_traditional_topic_word_is_read_as_the_titles_word():
    apps = [(f"s{i}", t) for i, t in enumerate(
        ["软件打不开怎么办", "有哪些好用的免费软件", "软件工程师的日常是什么样的", "如何卸载顽固软件", "学软件开发难吗",
         "软体动物有哪些"])]
    d = Matcher.from_titles(apps + FILLER).decide("軟體")  # Taiwan wording for 软件 (the characters alone: 软体)
    assert d.band is Band.TOPIC and d.topic == "软件" and d.topic_count == 5


def test_a_question_about_a_topic_word_is_not_a_topic(phones):
    assert phones.decide("手机信号差是什么原因").band is not Band.TOPIC
    assert phones.decide("猫").band is not Band.TOPIC  # in too few titles


def test_explain_score_lists_each_learned_features_contribution(m):
    ex = m.explain_score("残差网络为什么能解决退化问题", "残差网络为什么能解决深度网络的退化问题？")
    assert ex is not None and 0.0 <= ex.confidence <= 100.0
    assert {c.feature for c in ex.contributions} >= set(FEATURES)
    assert "learned confidence" in m.explain("残差网络为什么能解决退化问题", "残差网络为什么能解决深度网络的退化问题？")
    assert m.explain_score("残差网络为什么能解决退化问题", "不在库里的标题") is None


@pytest.mark.parametrize("sort_below", [0, 10**9])
def test_rare_postings_summed_by_sorting_or_by_a_pass_give_the_same_results(m, monkeypatch, sort_below):
    queries = ["残差网络为什么有效", "新能源汽车价格战", "跑男好看吗", "世界杯直播", "考研数学", "python"]
    want = [m.search(q, 5) for q in queries]
    monkeypatch.setattr(shortlist, "SORT_POSTINGS_BELOW", sort_below)
    assert [m.search(q, 5) for q in queries] == want


def test_term_postings_are_the_titles_with_the_term_and_none_for_a_term_the_index_lacks(m):
    data = m._data
    docs = data.term_postings(char_bigram_key(ord("残"), ord("差"))).tolist()
    assert docs and docs == [d for d in range(data.n_docs) if "残差" in data.content_at(d).replace(" ", "")]
    assert data.term_postings(char_bigram_key(ord("龘"), ord("靐"))).shape[0] == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.floats(0.001, 1000.0)), max_size=60))
def test_sums_by_key_are_bit_for_bit_those_of_unique_and_bincount(pairs):
    # the shortlist's accumulation replaced np.unique(return_inverse) + bincount; the sums must not move a bit
    keys = np.array([k for k, _ in pairs], dtype=np.int32)
    weights = np.array([w for _, w in pairs], dtype=np.float64)
    want_keys, inverse = np.unique(keys, return_inverse=True)
    got_keys, got = shortlist.sum_by_key(keys, weights)
    assert got_keys.tolist() == want_keys.tolist()
    assert got.tolist() == np.bincount(inverse.ravel(), weights=weights, minlength=len(want_keys)).tolist()


@settings(max_examples=300, deadline=None)
@given(st.text("残差网络连接为什么有效的吗", max_size=14), st.text("残差网络连接为什么有效的吗", max_size=14))
def test_no_alignment_has_more_equal_characters_than_the_lcs(q, t):
    # what lets _substitutions skip the alignment when the LCS is already too short
    same = sum(op.src_end - op.src_start for op in Levenshtein.opcodes(q, t) if op.tag == "equal")
    assert same <= LCSseq.similarity(q, t)


def test_word_idfs_are_the_same_remembered_or_looked_up_afresh(m, monkeypatch):
    words = ["喜欢", "世界杯", "为什么", "跑男", "没见过的词", "python", "喜欢"]
    fresh = Matcher.from_titles(ARCHIVE + FILLER, aliases={"resnet": "残差网络"})._word_idfs(words)
    assert m._word_idfs(words) == m._word_idfs(list(reversed(words))) == fresh
    assert fresh["没见过的词"] == 1.0 and 0 < fresh["世界杯"] < fresh["喜欢"] < 1.0
    monkeypatch.setattr(shortlist, "ALTERNATES_MEMO", 2)  # the memo is cleared when full, never wrong
    assert m._word_idfs(words) == m._word_idfs(words[2:]) | m._word_idfs(words[:2]) == fresh


def test_substitutions_with_the_querys_sound_given_are_the_same(m):
    pairs = [
        ("考研备考后期大家也会学不进吗", "考研备考初期大家也会学不进吗"),
        ("大家觉得她好看吗", "大家觉得跑男好看吗"),
        ("晨跑时我所再的地方空气很差", "晨跑时我所在的地方空气很差"),
        ("怎么提高结构化思维", "如何提升自己的结构化思维能力"),
    ]
    for q, t in pairs:
        assert m._substitutions(q, t, q.translate(m._sound_table)) == m._substitutions(q, t)
    assert m._substitutions(*pairs[0], pairs[0][0].translate(m._sound_table)) == [("后", "初")]


def test_shortlist_title_weight_lets_a_short_title_the_query_covers_into_the_rerank() -> None:
    """Choosing the reranked titles: with weight on the title's coverage, a short title the query covers
    wholly (猫咪不吃东西) is reranked beside long titles that merely contain every query word; the weight
    picks titles and leaves their scores alone."""
    titles = [
        ("short", "猫咪不吃东西"),
        ("long1", "家里的猫咪不吃东西还一直呕吐，是肠胃炎还是误食了异物，要不要马上带去医院检查"),
        ("long2", "家里的猫咪最近不吃东西也不爱动，是不是天气太热了，应该怎么给它降温比较好"),
        ("long3", "新买的猫咪到家里以后一直躲着不吃东西，多久能适应新环境，主人该做些什么"),
    ]
    reranked = {}
    for weight in (0.0, 1.0):
        m = Matcher.from_titles(titles, settings=MatcherSettings(rerank=2, shortlist_title_weight=weight))
        reranked[weight] = {m._data.key_at(c.kidx): c.rank for c in m.candidates("家里猫咪不吃东西")}
    assert "short" not in reranked[0.0]
    assert "short" in reranked[1.0]
    assert reranked[0.0]["long1"] == reranked[1.0]["long1"]
