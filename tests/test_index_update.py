"""Incremental index updates give what a full rebuild gives; the streaming build; the fast tokenizer."""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import struct

import jieba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answerer import load_matcher
from bot.config import parse_config
from bot.runtime import open_services
from bot.search import fastcut
from bot.search.analysis import Analyzer
from bot.search.build import SegmentBuilder, build_index
from bot.search.index import MAGIC, open_index, verify_index
from bot.search.matcher import Matcher
from bot.search.segment import ARRAYS
from bot.storage.ingest import ingest
from bot.storage.store import Store
from tests.pages import make_page, write

TITLES = [
    "残差网络为什么能解决深度网络的退化问题",
    "如何看待全国多地官方开办暑期免费托管班",
    "大家觉得跑男好看吗",
    "晨跑时我所在的地方空气很差怎么办",
    "用什么播放器看世界杯直播比较好",
    "父母总是催婚该怎么沟通",
    "如何评价 python 的类型注解",
    "为什么猫咪喜欢晚上跑酷",
    "考研数学一和数学二的区别有哪些",
    "python 适合做数据分析吗",
    "如何看待新能源汽车价格战对二手车的影响",
    "如何看待新能源汽车价格战对燃油车的影响",
    "程序员三十五岁以后何去何从",
    "35岁程序员的出路在哪里",
    "今天的天气很好适合出去玩",
    "北京有哪些好吃的小吃",
    "上海的房价还会涨吗",
    "学 python 编程要多久",
    "怎样才能提高英语口语水平",
    "世界杯历史上最精彩的比赛是哪一场",
    "网络小说为什么这么受欢迎",
    "深度学习入门推荐哪些书",
    "猫和狗哪个更适合新手养",
    "跑步对膝盖有伤害吗",
    "新手如何开始健身",
    "怎么判断西瓜甜不甜",
    "第一次出国旅游要准备什么",
    "二手房交易要注意哪些问题",
    "孩子不爱读书怎么办",
    "如何在家做一杯好喝的咖啡",
]
QUERIES = ["残叉网络退化", "跑男好看", "python 数据分析", "新能源汽车 二手车", "世界杯直播", "咖啡", "出国 准备"]


def _pairs(archive: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(k, t) for k in sorted(archive) for t in archive[k]]


def _titles_of(archive: dict[str, list[str]]):
    return lambda keys: [(k, t) for k in sorted(keys) for t in archive.get(k, [])]


def _assert_same(a: Matcher, b: Matcher) -> None:
    for name in ARRAYS:
        x, y = getattr(a._data, name), getattr(b._data, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert a._data.extra_words == b._data.extra_words
    for q in QUERIES + TITLES[:10]:
        assert a.search(q, 5) == b.search(q, 5)


def _short_key(rng: random.Random, fresh: list[str]) -> str:
    return f"n{len(fresh)}{rng.randint(0, 999)}"


def _question_id(rng: random.Random, _fresh: list[str]) -> str:
    """A key as wide as every question id (12 hex digits)."""
    return f"{rng.getrandbits(48):012x}"


def _edit(rng: random.Random, archive: dict[str, list[str]], fresh: list[str], new_key=_short_key) -> set[str]:
    """A few random adds (keys from ``new_key``), removals, title changes and alternate titles; returns the
    changed keys."""
    changed = set()
    for _ in range(rng.randint(1, 6)):
        op = rng.random()
        keys = sorted(archive)
        if op < 0.3 and fresh:
            k = new_key(rng, fresh)
            archive[k] = [fresh.pop()]
        elif op < 0.55 and len(keys) > 3:
            k = rng.choice(keys)
            del archive[k]
        elif op < 0.8:
            k = rng.choice(keys)
            archive[k] = [rng.choice(TITLES) + rng.choice(["", "呢", "啊到底", " rust 版", " golang", "go 语言"])]
        else:
            k = rng.choice(keys)
            archive[k] = [*archive[k], rng.choice(TITLES)]
        changed.add(k)
    return changed


@pytest.mark.parametrize("seed,block", [(1, None), (2, None), (3, None), (4, 16), (5, 40)])
def test_incremental_updates_equal_a_full_rebuild_on_random_edits(seed, block, monkeypatch):
    if block:  # merge the postings in many small blocks, as at 10^6 titles
        monkeypatch.setattr("bot.search.update.CHUNK", block)
    rng = random.Random(seed)
    archive = {f"q{i:02d}": [t] for i, t in enumerate(TITLES[:20])}
    fresh = TITLES[20:]
    m = Matcher.from_titles(_pairs(archive))
    for _ in range(4):
        changed = _edit(rng, archive, fresh)
        updated = m.updated(changed, _titles_of(archive))
        assert updated is not None
        _assert_same(updated, Matcher.from_titles(_pairs(archive)))
        m = updated


def test_update_that_removes_everything_and_adds_back():
    archive = {"a": [TITLES[0]], "b": [TITLES[1]]}
    m = Matcher.from_titles(_pairs(archive))
    empty = m.updated({"a", "b"}, _titles_of({}))
    assert empty is not None and len(empty) == 0 and empty.search(TITLES[0]) == []
    back = empty.updated({"c"}, _titles_of({"c": [TITLES[2]]}))
    assert back is not None
    _assert_same(back, Matcher.from_titles([("c", TITLES[2])]))


def test_a_word_that_comes_and_goes_retokenises_the_titles_that_have_it():
    archive = {f"q{i}": [t] for i, t in enumerate(TITLES[:12])}
    archive["r0"] = ["学zqx编程难吗"]  # tokenised 学/zqx/编程 without the word zq, 学/zq/x/编程 with it
    m = Matcher.from_titles(_pairs(archive))
    steps = [
        {"r1": ["zq 和 go 哪个好"]},  # zq in one title
        {"r2": ["zq 难学吗"]},  # in two: the tokenizer gains it, r0 must be re-analysed
        {"r1": []},  # and loses it again
        {"q6": ["如何评价 python 的类型注解和 zq"], "r1": ["zq 是什么"]},
    ]
    for step in steps:
        for k, ts in step.items():
            if ts:
                archive[k] = ts
            else:
                archive.pop(k, None)
        m2 = m.updated(set(step), _titles_of(archive))
        assert m2 is not None
        full = Matcher.from_titles(_pairs(archive))
        _assert_same(m2, full)
        m = m2
    assert "zq" in m._data.extra_words


def test_saved_updated_index_loads_with_the_same_results(tmp_path):
    archive = {f"q{i}": [t] for i, t in enumerate(TITLES[:15])}
    m = Matcher.from_titles(_pairs(archive))
    archive["q3"] = ["如何看待大家觉得跑男好看"]
    del archive["q4"]
    updated = m.updated({"q3", "q4"}, _titles_of(archive))
    assert updated is not None
    updated.save(tmp_path / "i.bin", "fp")
    loaded = Matcher.load(tmp_path / "i.bin", "fp")
    assert loaded is not None
    _assert_same(loaded, Matcher.from_titles(_pairs(archive)))


def test_ingest_reports_changed_ids_and_the_index_is_updated_not_rebuilt(tmp_path, caplog):
    pages = tmp_path / "pages"
    for i, t in enumerate(TITLES[:10]):
        write(pages, f"p{i}.txt", make_page(t))
    store = Store.open(str(tmp_path / "a.db"))
    try:
        first = ingest(store, [str(pages)])
        assert len(first.changed_ids) == 10
        index = str(tmp_path / "index.bin")
        load_matcher(store, index)
        previous = store.fingerprint()
        write(pages, "p1.txt", make_page(TITLES[12]))  # p1 now holds another question
        (pages / "p2.txt").unlink()
        write(pages, "p20.txt", make_page(TITLES[20]))
        report = ingest(store, [str(pages)], prune=True)
        ids = {store.find_by_title(TITLES[i]) for i in (12, 20)}
        assert ids <= report.changed_ids and len(report.changed_ids) == 4
        with caplog.at_level(logging.INFO, logger="bot.answerer"):
            updated = load_matcher(store, index, changed=report.changed_ids, previous=previous)
        assert "index updated for 4 changed questions" in caplog.text
        _assert_same(updated, Matcher.from_titles(store.iter_titles()))
        reloaded = Matcher.load(index, store.fingerprint())
        assert reloaded is not None
        _assert_same(reloaded, updated)
    finally:
        store.close()


def test_ingest_on_start_updates_the_saved_index_instead_of_rebuilding_it(tmp_path, caplog):
    pages = tmp_path / "pages"
    for i, t in enumerate(TITLES[:10]):
        write(pages, f"p{i}.txt", make_page(t))
    cfg = parse_config({"telegram": {"token": "123456:abc"},
                        "archive": {"db": str(tmp_path / "a.db"), "paths": [str(pages)], "ingest_on_start": True}},
                       source="test", base=tmp_path, environ={})
    open_services(cfg).close()  # first start: ingest + full build, saved
    write(pages, "p1.txt", make_page(TITLES[12]))
    write(pages, "p20.txt", make_page(TITLES[20]))
    with caplog.at_level(logging.INFO, logger="bot.answerer"):
        services = open_services(cfg)
    try:
        assert "index updated for 3 changed questions" in caplog.text
        assert "index built" not in caplog.text
        _assert_same(services.answerer.matcher, Matcher.from_titles(services.store.iter_titles()))
    finally:
        services.close()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.answerer"):
        open_services(cfg).close()  # nothing changed: the saved index is loaded as it is
    assert "index loaded from" in caplog.text and "updated" not in caplog.text


def test_streaming_build_in_small_runs_equals_one_run():
    an = Analyzer()
    docs = [(f"k{i % 7}", an.analyze(t)) for i, t in enumerate(TITLES)]
    small = SegmentBuilder(batch=3)
    for k, a in docs:
        small.add(k, a)
    one = build_index(docs)
    many = small.finish()
    for name in ARRAYS:
        assert np.array_equal(getattr(one, name), getattr(many, name)), name


_CHARS = "的是了在和我你他网络残差学习数据分析北京上海天气跑男好看吗一二三abcXYZ019+#&._%- \u3400é"


@pytest.fixture(scope="module")
def tok() -> jieba.Tokenizer:
    return Analyzer(extra_words=["abc", "python"])._tok


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=_CHARS, max_size=30))
def test_fast_cut_gives_jiebas_tokens(tok, text):
    assert fastcut.lcut(tok, text) == tok.lcut(text, HMM=False)


@pytest.fixture
def small_store(tmp_path):
    pages = tmp_path / "pages"
    for i, t in enumerate(TITLES[:8]):
        write(pages, f"p{i}.txt", make_page(t))
    store = Store.open(str(tmp_path / "a.db"))
    ingest(store, [str(pages)])
    yield store
    store.close()


def test_old_format_index_file_is_rebuilt_and_replaced(small_store, tmp_path):
    path = tmp_path / "index.bin"
    header = json.dumps({"version": 1, "fingerprint": small_store.fingerprint(), "meta": {}, "end": 0,
                         "arrays": []}).encode()
    path.write_bytes(MAGIC + struct.pack("<Q", len(header)) + header)
    m = load_matcher(small_store, str(path))
    assert m.search(TITLES[3], 1)[0][0] == small_store.find_by_title(TITLES[3])
    assert open_index(path) is not None and verify_index(path) is None


def test_crafted_index_with_valid_crcs_is_rebuilt_on_load(small_store, tmp_path):
    path = tmp_path / "index.bin"
    good = Matcher.from_titles(small_store.iter_titles())
    indptr = np.array(good._data.indptr)
    indptr[1:3] = indptr[2:0:-1]  # descending offsets, crcs computed over them
    Matcher(dataclasses.replace(good._data, indptr=indptr), good._an, {}, good.settings).save(
        path, small_store.fingerprint()
    )
    m = load_matcher(small_store, str(path))
    assert m.search(TITLES[3], 1)[0][0] == small_store.find_by_title(TITLES[3])
    assert verify_index(path) is None


def test_key_positions_equal_one_binary_search_per_key():
    """The numpy search over keys of one width (question ids) gives each key's lower bound, as the binary
    search does, for keys present, absent, shorter, longer and past the end; mixed widths fall back."""
    from bot.search.update import _key_positions, _lower_bound

    rng = random.Random(8)
    same = sorted({f"{rng.getrandbits(48):012x}" for _ in range(40)})
    mixed = sorted({*same[:20], "a", "zz", "q1234567890123"})
    for keys in (same, mixed):
        data = Matcher.from_titles([(k, TITLES[i % len(TITLES)]) for i, k in enumerate(keys)])._data
        wanted = [*keys[::3], "", "0", "fff", "ffffffffffff", "00000000000", keys[5][:7],
                  *(f"{rng.getrandbits(48):012x}" for _ in range(30))]
        for some in (wanted, [*wanted, "zzzzzzzzzzzzzz"]):  # the second with a key longer than the rest
            assert _key_positions(data, some).tolist() == [_lower_bound(data, k.encode()) for k in some]


def test_incremental_updates_with_question_id_keys_equal_a_full_rebuild():
    """Keys of one width (as question ids): the removed and new keys are found by the numpy search."""
    rng = random.Random(9)
    archive = {_question_id(rng, []): [t] for t in TITLES[:20]}
    fresh = TITLES[20:]
    m = Matcher.from_titles(_pairs(archive))
    for _ in range(5):
        changed = _edit(rng, archive, fresh, _question_id)
        updated = m.updated(changed, _titles_of(archive))
        assert updated is not None
        _assert_same(updated, Matcher.from_titles(_pairs(archive)))
        m = updated
