"""The bot's state store on both backends (SQLite, PostgreSQL): query log with hashed users, handled updates."""

import sqlite3

from bot.storage.backends import open_state
from bot.storage.state import MIGRATIONS, ORIGIN_BUTTON, StateStore


def test_query_log_hashes_users_and_reports_misses(backend):
    state = open_state(backend.location("state.db"))
    for _ in range(3):
        state.log_query(42, "没有的问题", "no_match", 12.0, None)
    state.log_query(42, "有的问题", "answer", 95.0, "q1")
    state.log_query(7, "模糊的问题", "did_you_mean", 60.0, "q2")
    assert [(m.query, m.count, m.band) for m in state.misses(10)] == [
        ("没有的问题", 3, "no_match"), ("模糊的问题", 1, "did_you_mean")]
    hashes = {h for (h,) in state._db.execute("SELECT user_hash FROM query_log")}
    assert len(hashes) == 2 and "42" not in hashes and "7" not in hashes


def test_user_hash_is_stable_across_reopen(backend):
    path = backend.location("state.db")
    first = open_state(path).user_hash(42)
    assert open_state(path).user_hash(42) == first


def test_handled_update_is_remembered_across_reopen(backend):
    path = backend.location("state.db")
    state = open_state(path)
    assert not state.was_handled(5)
    state.mark_handled(5)
    state.close()
    assert open_state(path).was_handled(5)


def test_inbox_keeps_received_updates_until_handled(backend):
    path = backend.location("state.db")
    state = open_state(path)
    assert state.enqueue([(1, '{"update_id": 1}'), (2, '{"update_id": 2}')]) == {1, 2}
    assert state.enqueue([(2, '{"update_id": 2}'), (3, '{"update_id": 3}')]) == {3}  # 2 is already queued
    state.mark_handled(1)
    assert state.enqueue([(1, '{"update_id": 1}')]) == set()  # handled: a redelivery is not new
    state.close()
    assert [u["update_id"] for u in open_state(path).inbox()] == [2, 3]


def test_bot_written_searches_are_logged_apart_from_typed_questions(backend):
    state = open_state(backend.location("state.db"))
    state.log_query(42, "人打的问题", "no_match", 12.0, None)
    state.log_query(42, "按钮里的话题", "no_match", 9.0, None, origin=ORIGIN_BUTTON)
    assert [m.query for m in state.misses(10)] == ["人打的问题"]
    assert [m.query for m in state.misses(10, origin=ORIGIN_BUTTON)] == ["按钮里的话题"]


def test_a_state_file_from_before_the_origin_column_keeps_its_log_as_typed(tmp_path):
    path = str(tmp_path / "state.db")
    old = sqlite3.connect(path, isolation_level=None)
    for migrate in MIGRATIONS[:2]:  # the schema before query origins
        migrate(old)
    old.execute("PRAGMA user_version = 2")
    old.execute("INSERT INTO query_log(ts, user_hash, query, band, score) VALUES (1, 'h', '旧的问题', 'no_match', 5)")
    old.close()
    state = StateStore.open(path)
    assert [m.query for m in state.misses(10)] == ["旧的问题"]
    assert state._db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_rewordings_chosen_by_two_users_are_listed_and_accepted_once(backend):
    state = open_state(backend.location("state.db"))
    state.remember_shown("chk", "换个说法", ["q1", "q2"])
    for user in (1, 2):
        state.choose(user, "chk", "q1")
    state.choose(3, "chk", "q2")
    [row] = state.rewordings()
    assert (row.query, row.question_id, row.users, row.others, row.accepted) == ("换个说法", "q1", 2, 1, False)
    assert state.accept(row) and not state.accept(row)
    assert state.rewordings(query="换个说法")[0].accepted and state.accepted() == [("q1", "换个说法")]
    assert state.rewordings(query="别的") == []
