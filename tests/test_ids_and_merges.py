"""Issue 10 items 2 and 4: ids keep meaningful symbols; pages of one title from several files are all
kept; old ids keep answering; JSON Lines records follow the same rules and lifecycle as pages."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3

import pytest

from bot.archive.ids import ID_LENGTH, is_valid_id, legacy_question_id, question_id, title_key
from bot.archive.jsonl import from_json, to_json
from bot.models import Answer, Question
from bot.storage.ingest import ingest
from bot.storage.sqlitedb import open_db
from bot.storage.store import Counts, Store
from bot.storage.store_schema import MIGRATIONS
from bot.ui import callback_data as cb
from tests.harness import running_bot
from tests.pages import make_page, write

USER = 9191


@pytest.fixture
def store(tmp_path):
    s = Store.open(str(tmp_path / "archive.db"))
    yield s
    s.close()


def test_symbols_that_carry_meaning_make_different_ids():
    ids = {question_id(t) for t in ("C++ 怎么入门?", "C 怎么入门?", "C# 怎么入门?", "F# 怎么入门?")}
    assert len(ids) == 4
    assert question_id("？？？") != question_id("！！！")
    assert question_id("A & B 有什么区别?") != question_id("AB 有什么区别?")
    assert question_id("GPT-3.5 好用吗?") != question_id("GPT-35 好用吗?")


def test_ids_are_the_same_as_every_earlier_release_gave():
    """Ids stand in buttons and deep links already sent: the hash and its base32 spelling never change."""
    assert question_id("残差网络为什么有效？") == "albworrjt7tk"
    assert question_id("C++ 怎么入门?") == "gv6sev6pkcyz"
    assert legacy_question_id("C++ 怎么入门?") == "6rsmr2oma4nt"
    assert question_id("？？？") == "rzntrqqcjytf"
    for n in range(2000):  # the table-driven spelling equals base64's, over many digests
        title = f"标题 {n} title"
        digest = hashlib.blake2b(title_key(title).encode("utf-8"), digest_size=8).digest()
        assert question_id(title) == base64.b32encode(digest).decode("ascii").lower()[:ID_LENGTH]


def test_case_width_spaces_and_sentence_punctuation_fold():
    base = question_id("C++ 怎么入门?")
    for variant in ("c++怎么入门？", "Ｃ＋＋ 怎么入门", "C++  怎么入门 ?", "C++ 怎么入门? 第2页", "“C++”怎么入门。"):
        assert question_id(variant) == base, variant


def test_one_id_rule_for_the_importer_and_the_callback_codec():
    record = from_json('{"id": "my-question_1_with_a_long_name_x", "title": "t"}')
    assert is_valid_id(record.id) and cb.is_valid_id(record.id)
    assert cb.decode(cb.encode(cb.Related(record.id, 999_999, "abcd"))) == cb.Related(record.id, 999_999, "abcd")
    assert cb.decode_start_payload(cb.encode_start_payload(record.id)) == record.id
    for bad in ("My-Question", "a" * 33, "a b", "é"):
        assert not is_valid_id(bad) and not cb.is_valid_id(bad)


def test_pages_with_titles_differing_in_symbols_do_not_overwrite_each_other(store, tmp_path):
    for name, title in (("cpp.txt", "C++ 怎么入门?"), ("c.txt", "C 怎么入门?"), ("cs.txt", "C# 怎么入门?"),
                        ("q.txt", "？？？"), ("e.txt", "！！！")):
        write(tmp_path / "a", name, make_page(title, 1, [(name, f"{title} 的回答。")]))
    ingest(store, [str(tmp_path / "a")])
    assert store.counts().questions == 5
    assert store.get(question_id("C# 怎么入门?")).answers == (Answer("cs.txt", "C# 怎么入门? 的回答。"),)


def test_pages_of_one_title_from_two_files_are_united_and_survive_deleting_one(store, tmp_path):
    folder = tmp_path / "a"
    one = write(folder, "one.txt", make_page("同一个问题?", 1, [("a", "第一个文件的回答。")]))
    two = write(folder, "two.txt", make_page("同一个问题？", 1, [("b", "第二个文件的回答。")]))
    report = ingest(store, [str(folder)])
    qid = question_id("同一个问题?")
    q = store.get(qid)
    assert [a.author for a in q.answers] == ["a", "b"]
    assert set(q.sources) == {str(one), str(two)}
    assert report.merged and "merged: 1 page(s)" in report.summary()
    os.remove(two)
    ingest(store, [str(folder)], prune=True)
    assert [a.author for a in store.get(qid).answers] == ["a"]
    ingest(store, [str(folder)], force=True)
    assert store.get(qid).sources == (str(one),)
    write(folder, "two.txt", make_page("同一个问题？", 1, [("b", "第二个文件的回答。")]))
    os.remove(one)
    ingest(store, [str(folder)], prune=True)
    assert [a.author for a in store.get(qid).answers] == ["b"]


def v1_store(path: str, title: str) -> None:
    """A store as the first schema and id rule left it: one question under its legacy id."""
    conn = open_db(path, MIGRATIONS[:1], what="archive store")
    old = legacy_question_id(title)
    conn.execute("INSERT INTO questions(id, title, sources) VALUES (?, ?, '[\"/old.txt\"]')", (old, title))
    conn.execute("INSERT INTO pages(question_id, page_no, origin, source, title) VALUES (?, 1, 'page', "
                 "'/old.txt', ?)", (old, title))
    conn.execute("INSERT INTO answers VALUES (?, 1, 0, 'a', '旧的回答。')", (old,))
    conn.execute("INSERT INTO files VALUES ('/old.txt', 1, 1, 'x')")
    conn.close()


def test_the_pages_of_a_question_saved_one_file_each_are_not_reported_as_merged(store, tmp_path):
    folder = tmp_path / "a"
    write(folder, "q_1.txt", make_page("分页的问题?", 1, [("a", "第一页的回答。")]))
    write(folder, "q_2.txt", make_page("分页的问题?", 2, [("b", "第二页的回答。")]))
    report = ingest(store, [str(folder)])
    assert [a.author for a in store.get(question_id("分页的问题?")).answers] == ["a", "b"]
    assert report.merged == [] and "merged" not in report.summary()


def test_questions_whose_id_changed_keep_answering_their_old_ids(tmp_path):
    title = "C++ 怎么入门?"
    old, new = legacy_question_id(title), question_id(title)
    assert old != new
    path = str(tmp_path / "archive.db")
    v1_store(path, title)
    store = Store.open(path)  # migrated
    assert store.get(old).answers == (Answer("a", "旧的回答。"),)
    write(tmp_path, "old.txt", make_page(title, 1, [("a", "新的回答。")]))
    os.rename(tmp_path / "old.txt", tmp_path / "pages.txt")
    ingest(store, [str(tmp_path / "pages.txt")])
    with store.transaction():
        store.forget_file("/old.txt")
    assert store.get(new).answers == (Answer("a", "新的回答。"),)
    via_old = store.get(old)  # a button or deep link sent before the upgrade
    assert via_old is not None and via_old.id == new
    store.close()


def test_an_old_id_of_a_fresh_ingest_resolves_too(store, tmp_path):
    write(tmp_path, "p.txt", make_page("C# 怎么入门?", 1))
    ingest(store, [str(tmp_path / "p.txt")])
    assert store.get(legacy_question_id("C# 怎么入门?")).id == question_id("C# 怎么入门?")


# -- JSON Lines ------------------------------------------------------------------------------------

SEPARATORS = "\u2028\u2029\u0085\r\x0b\x0c\x1c\x1d\x1e\n"


def test_export_then_ingest_round_trips_text_with_every_line_separator(store, tmp_path):
    text = "".join(f"第{i}段{sep}" for i, sep in enumerate(SEPARATORS)) + "完"
    q = Question(id=question_id("分隔符?"), title="分隔符?", answers=(Answer("a", text),))
    dump = write(tmp_path, "d.jsonl", to_json(q) + "\n" + to_json(Question(id=question_id("二?"), title="二?")) + "\n")
    report = ingest(store, [str(dump)])
    assert report.imported == 2 and not report.skipped
    assert store.get(q.id).answers[0].text == text


def test_a_lone_surrogate_skips_its_line_only(store, tmp_path):
    lines = ['{"title": "好的问题?"}', '{"title": "坏的\\ud800问题?"}', '{"title": "另一个好问题?"}']
    dump = write(tmp_path, "d.jsonl", "\n".join(lines) + "\n")
    report = ingest(store, [str(dump)])
    assert report.imported == 2
    assert [(p, "surrogate" in why) for p, why in report.skipped] == [(f"{dump}:2", True)]


def test_a_record_with_the_id_of_another_question_is_refused(store, tmp_path):
    write(tmp_path, "p.txt", make_page("页面里的问题?", 1, [("a", "原来的回答。")]))
    ingest(store, [str(tmp_path / "p.txt")])
    qid = question_id("页面里的问题?")
    line = json.dumps({"id": qid, "title": "完全不同的问题?", "answers": [{"author": "x", "text": "覆盖!"}]})
    dump = write(tmp_path, "d.jsonl", line + "\n")
    report = ingest(store, [str(dump)])
    assert report.imported == 0
    assert report.skipped[0][0] == f"{dump}:1" and "another question" in report.skipped[0][1]
    assert store.get(qid).answers == (Answer("a", "原来的回答。"),)


def test_records_leave_with_their_line_or_file(store, tmp_path):
    folder = tmp_path / "j"
    lines = [json.dumps({"title": t, "answers": [{"author": "a", "text": t}]}, ensure_ascii=False)
             for t in ("一?", "二?", "三?")]
    dump = write(folder, "d.jsonl", "\n".join(lines) + "\n")
    ingest(store, [str(folder)])
    assert store.counts().questions == 3
    write(folder, "d.jsonl", "\n".join(lines[:2]) + "\n")  # a line deleted
    assert ingest(store, [str(folder)]).questions_removed == 1
    assert store.get(question_id("三?")) is None and store.counts().questions == 2
    os.remove(dump)
    report = ingest(store, [str(folder)], prune=True)
    assert report.removed_files == 1 and store.counts().questions == 0


def test_migration_keeps_a_v1_store_readable(tmp_path):
    path = str(tmp_path / "archive.db")
    v1_store(path, "普通的问题?")
    store = Store.open(path)
    assert store.schema_version == len(MIGRATIONS)
    assert store.get(legacy_question_id("普通的问题?")).answers == (Answer("a", "旧的回答。"),)
    assert store.counts() == Counts(questions=1, pages=1, answers=1)  # the kept totals start from its rows
    store.close()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM files").fetchone() == (0,)  # re-read next time


ATTENTION = "注意力机制(Attention)到底在做什么?"  # a sample title whose id changed with the id rule


async def test_deep_links_and_buttons_sent_under_an_old_id_still_open_the_question(fake_api, tmp_path,
                                                                                   sample_matcher):
    old = legacy_question_id(ATTENTION)
    assert old != question_id(ATTENTION)
    async with running_bot(fake_api, tmp_path, matcher=sample_matcher) as bot:
        fake_api.push_command(USER, USER, "start", f"q_{old}")
        [opened] = await fake_api.wait_for_messages(1, USER)
        assert opened.text.startswith(ATTENTION)
        fake_api.push_callback(opened, cb.encode(cb.Open(old)))
        paged = (await fake_api.wait_for_messages(2, USER))[-1]
        assert paged.text.startswith(ATTENTION) and not bot.api.rejections


def test_an_export_of_an_earlier_version_joins_the_pages_of_the_same_title(store, tmp_path):
    write(tmp_path, "p.txt", make_page(ATTENTION, 1, [("page", "页面的回答。")]))
    record = {"id": legacy_question_id(ATTENTION), "title": ATTENTION,
              "answers": [{"author": "r", "text": "导出的回答。"}]}
    dump = write(tmp_path, "old-export.jsonl", json.dumps(record, ensure_ascii=False) + "\n")
    ingest(store, [str(tmp_path / "p.txt"), str(dump)])
    assert store.counts().questions == 1
    q = store.get(legacy_question_id(ATTENTION))
    assert q.id == question_id(ATTENTION) and sorted(a.author for a in q.answers) == ["page", "r"]
