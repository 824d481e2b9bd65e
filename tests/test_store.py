"""The archive store on both backends (SQLite, PostgreSQL): merging pages, stable ids, links, migrations."""

import os
import sqlite3
import time

import pytest

from bot.archive.ids import question_id
from bot.archive.parse import parse_page
from bot.models import Answer, Link, Question
from bot.storage.backends import open_store
from bot.storage.pg_store import PG_SCHEMA_VERSION
from bot.storage.store import Store, StoreError
from bot.storage.store_schema import COUNTED, SCHEMA_VERSION
from tests.pages import make_page


@pytest.fixture
def store(backend):
    s = open_store(backend.location("archive.db"))
    s.backend = backend.name
    yield s
    s.close()


def put(store, text, source):
    with store.transaction():
        return store.put_page(parse_page(text).page, source)


def test_question_id_is_short_ascii_and_stable_across_spelling_variants():
    qid = question_id("Resnet是否只是一个深度学习的trick? 第1页")
    assert qid == question_id("resnet 是否只是一个深度学习的 trick？")
    assert len(qid) == 12 and qid.isascii() and qid.isalnum()
    assert qid != question_id("Resnet是否只是一个深度学习的trick吗?")


def test_pages_of_one_question_merge_in_page_order(store):
    put(store, make_page("合并的问题?", 2, [("b", "第二页的回答。")], ["乙?", "甲?"]), "/a/p2.txt")
    qid = put(store, make_page("合并的问题?", 1, [("a", "第一页的回答。")], ["甲?"]), "/a/p1.txt")
    q = store.get(qid)
    assert [a.author for a in q.answers] == ["a", "b"]
    assert [r.title for r in q.related] == ["甲?", "乙?"]
    assert q.sources == ("/a/p1.txt", "/a/p2.txt")
    assert store.counts().questions == 1


def test_same_page_twice_shows_its_answers_once_and_lists_both_files(store):
    text = make_page("重复的问题?", 1, [("a", "回答。")])
    put(store, text, "/a/x.txt")
    qid = put(store, text, "/b/copy-of-x.txt")
    assert store.counts().questions == 1
    assert store.get(qid).answers == (Answer("a", "回答。"),)
    assert store.get(qid).sources == ("/a/x.txt", "/b/copy-of-x.txt")


def test_related_and_neighbours_resolve_to_ids_only_when_archived(store):
    other = put(store, make_page("另一个问题?", 1), "/o.txt")
    text = make_page("主问题?", 1, related=["另一个问题？", "不存在的问题?"], prev="另一个问题?", nxt="没有?")
    qid = put(store, text, "/m.txt")
    q = store.get(qid)
    assert q.related == (Link("另一个问题？", other), Link("不存在的问题?", None))
    assert q.prev == Link("另一个问题?", other) and q.next == Link("没有?", None)


def test_changed_page_replaces_its_answers(store):
    qid = put(store, make_page("会变的问题?", 1, [("a", "旧回答。")]), "/p.txt")
    put(store, make_page("会变的问题?", 1, [("a", "新回答。"), ("b", "另一个。")]), "/p.txt")
    assert [a.text for a in store.get(qid).answers] == ["新回答。", "另一个。"]


def test_a_file_whose_title_changed_moves_to_the_new_question(store):
    old = put(store, make_page("旧标题?", 1), "/p.txt")
    new = put(store, make_page("新标题?", 1), "/p.txt")
    assert store.get(old) is None and store.get(new) is not None


def test_imported_question_keeps_its_alternates_and_sources(store):
    q = Question(id="abc123", title="标题?", answers=(Answer("x", "y"),), related=(Link("r?"),),
                 prev=Link("p?"), next=None, alt_titles=("别名?",), sources=("s1", "s2"))
    with store.transaction():
        store.put_question(q)
    assert store.get("abc123") == q
    assert list(store.iter_titles()) == [("abc123", "标题?"), ("abc123", "别名?")]


def test_failed_transaction_leaves_store_unchanged(store):
    put(store, make_page("原来的问题?", 1), "/a.txt")
    before = store.fingerprint()
    with pytest.raises(RuntimeError), store.transaction():
        store.put_page(parse_page(make_page("新问题?", 1)).page, "/b.txt")
        store.bump_version()
        raise RuntimeError("killed")
    assert store.counts().questions == 1 and store.fingerprint() == before


def test_migrations_bring_a_new_store_to_the_current_version(store):
    assert store.schema_version == (SCHEMA_VERSION if store.backend == "sqlite" else PG_SCHEMA_VERSION)


def test_store_reopened_keeps_its_questions_and_is_not_migrated_again(backend):
    location = backend.location("archive.db")
    first = open_store(location)
    qid = put(first, make_page("留下的问题?", 1, [("a", "回答。")]), "/k.txt")
    first.close()
    again = open_store(location, create=False)
    assert again.get(qid).answers == (Answer("a", "回答。"),) and again.counts().questions == 1
    again.close()


def test_random_and_example_questions_come_from_the_archive(store):
    assert store.random_id() is None and store.example() is None
    qid = put(store, make_page("一个例子问题?", 1, [("a", "回答。")]), "/e.txt")
    assert store.random_id() == qid and store.example() == (qid, "一个例子问题?")


def test_known_files_lists_only_files_below_the_folder(store):
    with store.transaction():
        store.record_file("/a/b/1.txt", 1, 2, "x")
        store.record_file("/a/bb/2.txt", 1, 2, "y")
    assert store.known_files("/a/b") == ["/a/b/1.txt"]
    assert store.file_state("/a/bb/2.txt") == (1, 2, "y")


def test_store_from_a_newer_program_is_refused(tmp_path):
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer archive-bot"):
        Store.open(str(path))


def test_corrupt_or_missing_store_is_reported_with_its_path(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=str(bad)):
        Store.open(str(bad))
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(str(tmp_path / "missing.db"), create=False)


def test_only_stores_up_to_the_check_size_are_read_whole_on_open(tmp_path, monkeypatch):
    from bot.storage import sqlitedb

    path = tmp_path / "big.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [("x" * 500,) for _ in range(2000)])
    conn.commit()
    conn.close()
    raw = bytearray(path.read_bytes())
    page = 4096
    raw[20 * page : 21 * page] = b"\xff" * page  # a table page in the middle, header and schema intact
    path.write_bytes(bytes(raw))
    with pytest.raises(StoreError, match="damaged"):
        Store.open(str(path))
    monkeypatch.setattr(sqlitedb, "QUICK_CHECK_MAX_BYTES", 1024)  # as if the file were larger than the bound
    conn = sqlitedb.open_db(str(path), [], what="test store")  # opens: the damage is not looked for
    assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (1,)
    conn.close()
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=str(bad)):
        Store.open(str(bad))


def _wal_bytes(path) -> int:
    wal = f"{path}-wal"
    return os.path.getsize(wal) if os.path.exists(wal) else 0


def _until(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_large_write_empties_its_write_ahead_log_without_closing_the_store(tmp_path, monkeypatch):
    from bot.storage import sqlitedb

    path = tmp_path / "archive.db"
    small = Store.open(str(path))
    put(small, make_page("小的写入?", 1), "/small.txt")
    assert _wal_bytes(path) > 0  # under the bound the log is SQLite's business, as before
    small.close()
    monkeypatch.setattr(sqlitedb, "CHECKPOINT_BYTES", 1)  # every write counts as large
    store = Store.open(str(path))
    qid = put(store, make_page("大的写入?", 1, [("a", "回答" * 2000)]), "/large.txt")
    assert _until(lambda: _wal_bytes(path) == 0)  # copied back into the file and the log truncated
    assert store.get(qid).answers[0].text.startswith("回答")
    with sqlite3.connect(path) as other:  # another process sees the write in the file itself
        assert other.execute("SELECT count(*) FROM questions").fetchone() == (2,)
    store.close()


def test_a_failed_background_checkpoint_loses_no_write(tmp_path, monkeypatch, caplog):
    from bot.storage import sqlitedb

    monkeypatch.setattr(sqlitedb, "CHECKPOINT_BYTES", 1)
    real_connect = sqlite3.connect
    store = Store.open(str(tmp_path / "archive.db"))

    def refuse(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sqlitedb.sqlite3, "connect", refuse)  # the checkpoint's own connection fails
    with caplog.at_level("WARNING", logger="bot.storage"):
        qid = put(store, make_page("检查点失败?", 1, [("a", "还在。")]), "/a.txt")
        store.close()  # waits for the checkpoint thread
    monkeypatch.setattr(sqlitedb.sqlite3, "connect", real_connect)
    assert "checkpoint of the write-ahead log failed" in caplog.text
    reopened = Store.open(str(tmp_path / "archive.db"))
    assert reopened.get(qid).answers[0].text == "还在。"
    reopened.close()


def scanned_counts(store):
    """Each table counted row by row, to check the totals the store keeps."""
    return tuple(store._db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED)


def test_counts_follow_every_kind_of_write(store):
    put(store, make_page("计数的问题?", 1, [("a", "一。"), ("b", "二。")]), "/c/1.txt")
    put(store, make_page("计数的问题?", 2, [("c", "三。")]), "/c/2.txt")
    put(store, make_page("计数的问题?", 1, [("a", "一。")]), "/c/1.txt")  # the same page, rewritten shorter
    put(store, make_page("改了标题的问题?", 1, [("d", "四。")]), "/c/2.txt")  # a file now holds another question
    with store.transaction():
        store.put_question(Question(id="rec1", title="记录里的问题?", answers=(Answer("e", "五。"),)), "/c/r.jsonl")
        store.put_question(Question(id="rec1", title="记录里的问题?", answers=()), "/c/r.jsonl")  # replaced
    counts = store.counts()
    assert (counts.questions, counts.pages, counts.answers) == scanned_counts(store) == (3, 3, 2)
    with store.transaction():
        store.forget_file("/c/1.txt")
        store.forget_records_from("/c/r.jsonl")
    counts = store.counts()
    assert (counts.questions, counts.pages, counts.answers) == scanned_counts(store) == (1, 1, 1)


def test_a_rolled_back_write_leaves_the_counts_as_they_were(store):
    put(store, make_page("回滚前的问题?", 1, [("a", "一。")]), "/r/1.txt")
    before = store.counts()
    with pytest.raises(RuntimeError), store.transaction():
        store.put_page(parse_page(make_page("回滚的问题?", 1, [("b", "二。")])).page, "/r/2.txt")
        raise RuntimeError("interrupted")
    assert store.counts() == before
