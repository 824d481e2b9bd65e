"""Bulk passes (index build and update) run with the cyclic garbage collector paused, and restore it."""

from __future__ import annotations

import gc

import pytest

from bot.bulk import bulk, collector_paused
from bot.search import batch
from bot.search.matcher import Matcher


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_paused_inside_and_restored_after_even_on_error(collector_on):
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(collector_on):
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_a_bulk_function_keeps_its_name_and_result(collector_on):
    @bulk
    def work(x: int, *, y: int = 1) -> tuple[int, bool]:
        """doc"""
        return x + y, gc.isenabled()

    assert work(2, y=3) == (5, False) and work.__name__ == "work" and work.__doc__ == "doc"
    assert gc.isenabled()


def test_index_build_and_update_run_with_the_collector_paused(collector_on, monkeypatch):
    seen: list[bool] = []
    terms = batch.BatchAnalyzer.terms

    def spy(self, texts):
        seen.append(gc.isenabled())
        return terms(self, texts)

    monkeypatch.setattr(batch.BatchAnalyzer, "terms", spy)
    titles = [("a", "残差网络为什么有效"), ("b", "跑步对膝盖有伤害吗"), ("c", "如何学习Python编程")]
    m = Matcher.from_titles(titles)
    new = dict(titles) | {"b": "跑步伤膝盖吗"}
    updated = m.updated(["b"], lambda keys: [(k, new[k]) for k in sorted(keys)])
    assert updated is not None and updated.search("跑步伤膝盖吗", 1)[0][0] == "b"
    assert len(seen) >= 2 and not any(seen)
    assert gc.isenabled()
