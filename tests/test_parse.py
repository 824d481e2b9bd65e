"""The page parser: one saved page → a record; never raises on bad text."""

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.archive.parse import parse_page, split_title
from tests.pages import make_page

FIXTURES = Path(__file__).parent / "fixtures"


def test_real_layout_page_gives_title_page_answers_related_and_neighbours():
    page = parse_page((FIXTURES / "resnet_p1.txt").read_text(encoding="utf-8")).page
    assert page is not None
    assert page.title == "ResNet 的残差连接为什么有效?"
    assert page.page_no == 1
    assert [a.author for a in page.answers] == ["lin-xiao-ming", "wang-fang", "chen-42"]
    assert page.answers[0].text.startswith("残差连接让每一层只需要学习")
    assert "\n\n" in page.answers[0].text  # paragraphs kept apart
    assert "\u00a0" not in page.answers[0].text
    assert page.related[0] == "Dropout 和 Batch Norm 能一起用吗?"
    assert page.prev == "git rebase 和 merge 有什么区别?"
    assert page.next == "Dropout 和 Batch Norm 能一起用吗?"


def test_second_page_number_is_read_from_title():
    page = parse_page((FIXTURES / "resnet_p2.txt").read_text(encoding="utf-8")).page
    assert page.page_no == 2 and page.title == "ResNet 的残差连接为什么有效?"


def test_page_without_answers_or_related_still_parses():
    page = parse_page(make_page("只有标题的问题?", 1, answers=[], related=None, prev=None, nxt=None)).page
    assert page is not None
    assert page.title == "只有标题的问题?" and page.answers == () and page.related == ()
    assert page.prev is None and page.next is None


def test_title_without_page_number_is_page_one():
    page = parse_page(make_page("没有页码的问题?", None, related=["别的问题?"])).page
    assert page.title == "没有页码的问题?" and page.page_no == 1


def test_crlf_bom_fullwidth_and_ideographic_spaces_are_handled():
    page_text = make_page("全角\u3000空格的问题？", 3, [("作者\u3000甲", "第一段。\u3000\n\n第二段。")])
    text = "\ufeff" + page_text.replace("\n", "\r\n")
    page = parse_page(text).page
    assert page.title == "全角 空格的问题？"
    assert page.page_no == 3
    assert page.answers[0].author == "作者 甲"
    assert page.answers[0].text == "第一段。\n\n第二段。"


def test_fullwidth_page_number_is_understood():
    assert split_title("问题 第１２页") == ("问题", 12)


def test_related_titles_are_not_repeated_within_a_page():
    page = parse_page(make_page("问题?", 1, related=["甲?", "乙?", "甲?"])).page
    assert page.related == ("甲?", "乙?")


def test_text_that_is_not_a_page_is_reported_not_raised():
    result = parse_page("shopping list\nmilk\neggs\n")
    assert result.page is None and "not an archive page" in result.problem


def test_empty_and_binary_text_are_reported():
    assert parse_page("").problem == "empty page"
    assert parse_page(" \u00a0\n\n").problem == "empty page"
    assert "binary" in parse_page("abc\x00def").problem


def test_stray_site_chrome_is_not_taken_for_content():
    text = "Some Site logo\n" + make_page("真正的标题?", 1, [("a", "回答。\n© 2020 copy")])
    page = parse_page(text).page
    assert page.title == "真正的标题?"
    assert page.answers[0].text == "回答。"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=3000))
def test_parser_never_raises_on_arbitrary_text(text):
    result = parse_page(text)
    assert (result.page is None) != (result.problem is None)
