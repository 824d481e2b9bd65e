"""Normalisation and tokenisation."""

from __future__ import annotations

import pytest

from bot.search.analysis import Analyzer, Normalizer


@pytest.fixture(scope="module")
def norm() -> Normalizer:
    return Normalizer()


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


def test_traditional_is_converted_to_simplified(norm):
    out = norm.normalize("如何看待全國多地官方開辦暑期免費託管班")
    assert out == "如何看待全国多地官方开办暑期免费托管班"


def test_taiwan_wording_is_a_second_reading_of_a_traditional_query(norm):
    assert norm.readings("軟體怎麼安裝") == ("软体怎么安装", "软件怎么安装")
    assert norm.readings("程式設計師") == ("程式设计师", "程序员")
    assert norm.readings("執行") == ("执行", "运行")  # mainland 执行 first: Taiwan phrases alone made it 运行
    assert norm.readings("殘差網絡為什麼有效") == ("残差网络为什么有效",)  # no Taiwan wording: one reading
    assert norm.readings("！？") == ()


def test_simplified_text_keeps_its_wording(norm):
    # Taiwan phrase tables applied to Simplified text rewrote words that are spelt alike in both scripts
    assert norm.normalize("程序员新增布林肯智慧屏") == "程序员新增布林肯智慧屏"
    assert norm.normalize_many(["程序员的文件夹"]) == ["程序员的文件夹"]
    assert norm.readings("程序员怎么新增文件") == ("程序员怎么新增文件",)


@pytest.mark.parametrize(
    "text,normal",
    [("人可以不上班么？", "人可以不上班么"), ("饿了么外卖", "饿了么外卖"), ("婴儿太小咋么办", "婴儿太小咋么办"),
     ("什麼", "什么"), ("這麼好", "这么好")],
)
def test_the_simplified_particle_me_is_kept_and_the_traditional_one_converted(norm, text, normal):
    assert norm.normalize(text) == normal  # OpenCC alone turns a lone 么 into 幺
    assert norm.normalize_many([text, "第二行"]) == [normal, "第二行"]


def test_full_width_becomes_half_width_and_casefolded(norm):
    assert norm.normalize("ＲｅｓＮｅｔ５０") == "resnet50"


def test_punctuation_and_emoji_become_single_spaces(norm):
    assert norm.normalize("你好😀，世界！！？") == "你好 世界"


def test_mixed_english_is_kept_as_words(norm):
    assert norm.normalize("ResNet50 ImageNet Top1?") == "resnet50 imagenet top1"


def test_page_marker_is_dropped(norm):
    assert norm.normalize("如何学习 第2页") == "如何学习"


@pytest.mark.parametrize("text", ["", "   ", "？！。，,.!?", "😀😀", "\x00\x01\x7f", None])
def test_empty_or_punctuation_only_gives_empty(norm, text):
    assert norm.normalize(text) == ""


def test_lone_surrogates_do_not_raise(norm):
    assert norm.normalize("\ud800残差\udfff网络") == "残差 网络"


def test_long_input_is_capped(norm):
    out = norm.normalize("残差网络" * 1000)
    assert 0 < len(out) <= norm.max_chars


def test_huge_input_is_fast_and_capped(norm):
    assert len(norm.normalize("a" * 100_000)) <= norm.max_chars


def test_hong_kong_variants_become_simplified(norm):
    # OpenCC's tw2s converts most (啓動, 綫上, 裏面, 説明, 羣眾) but not these six
    assert norm.normalize("衞健委啓動綫上説明會") == "卫健委启动线上说明会"
    assert norm.normalize("敍事 枱燈 化粧 糭子 衹有") == "叙事 台灯 化妆 粽子 只有"
    assert norm.normalize_many(["衞生間", "衹是"]) == ["卫生间", "只是"]


def test_normalizing_a_text_again_gives_the_same_for_its_own_cap(norm):
    text = "殘差網絡為什麼有效？ResNet"
    full = norm.normalize(text)
    assert norm.normalize(text, max_chars=4) == "残差网络"  # the text just seen, with another cap
    assert norm.normalize(text) == full == "残差网络为什么有效 resnet"
    assert norm.normalize("殘差網絡為什麼有效？") == "残差网络为什么有效"


def test_boilerplate_is_removed_but_content_kept(analyzer):
    assert analyzer.analyze("请问大家觉得跑男好看吗？").content.replace(" ", "") == "跑男好看"


def test_only_boilerplate_is_kept_rather_than_emptied(analyzer):
    assert analyzer.analyze("为什么呢").content != ""


def test_homophone_typo_shares_pinyin_keys(analyzer):
    right = {pk for _ck, pk in analyzer.analyze("残差网络").positions}
    typo = {pk for _ck, pk in analyzer.analyze("残叉网络").positions}
    assert right == typo


def test_keys_are_stable_across_instances(analyzer):
    text = "resnet50 在 imagenet 上"
    assert Analyzer().analyze(text).keys() == analyzer.analyze(text).keys()


def test_added_words_are_kept_whole(analyzer):
    a = Analyzer(extra_words=["瑞斯奈特"])
    assert "瑞斯奈特" in a.tokens("我爱瑞斯奈特")[0]


def test_bigrams_across_a_word_boundary_are_marked_as_junctions(analyzer: Analyzer) -> None:
    an = analyzer.analyze("我喜欢苹果")
    tokens = an.content.split(" ")
    assert "".join(tokens) == "我喜欢苹果" and len(tokens) >= 2
    # every adjacent character pair, flagged by whether it crosses a token boundary
    expected = []
    joined = "".join(tokens)
    bounds = {sum(len(t) for t in tokens[: i + 1]) for i in range(len(tokens))}
    for i in range(len(joined) - 1):
        expected.append(i + 1 in bounds)
    assert list(an.junctions) == expected
    assert len(an.junctions) == len(an.positions)
