"""Learning from people: "did you mean" choices recorded, rewordings listed, accepted, matched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.answerer import Answerer, learned_titles, load_matcher, open_matcher_with_fingerprint
from bot.config import ConfigError, parse_config
from bot.models import Band, Decision
from bot.storage.backends import open_state
from bot.storage.ingest import ingest
from bot.storage.state import MIGRATIONS, StateStore
from bot.storage.store import Store
from bot.ui import callback_data as cb
from tests.test_cli import cli

ROOT = Path(__file__).parent.parent
COFFEE = "od2auxc2ngxw"  # 每天喝咖啡对身体有害吗?
RUN = "wmjw5elbkal4"  # 晨跑和夜跑哪个更好?
QUERY = "天天来杯美式伤不伤胃"
CHECK = cb.query_check(QUERY)


@pytest.fixture
def state(backend) -> StateStore:
    """A state store on each backend (SQLite, PostgreSQL) with one "did you mean" list shown."""
    s = open_state(backend.location("archive.db.state"))
    s.remember_shown(CHECK, QUERY, [COFFEE, RUN])
    yield s
    s.close()


# -- the state store -------------------------------------------------------------------------------


def test_learning_tables_come_with_the_last_migration(tmp_path):
    path = str(tmp_path / "s.db")
    StateStore.open(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"learn_shown", "learn_choices", "learn_accepted"} <= tables


def test_a_choice_is_recorded_with_the_query_a_salted_user_hash_and_the_time(state, backend):
    assert not state.choose(42, CHECK, COFFEE)
    [(user_hash, query, qid, ts)] = state._db.execute("SELECT * FROM learn_choices").fetchall()
    assert (query, qid) == (QUERY, COFFEE) and user_hash == state.user_hash(42) and len(user_hash) == 16
    assert user_hash != open_state(backend.location("other.state")).user_hash(42)  # salted per state store
    assert ts > 0


def test_none_of_these_is_recorded_as_no_question(state):
    state.choose(42, CHECK, None)
    assert state._db.execute("SELECT question_id FROM learn_choices").fetchall() == [(None,)]


def test_a_question_not_offered_or_an_unknown_list_is_not_recorded(state):
    state.choose(42, CHECK, "zzzzzzzzzzzz")
    state.choose(42, cb.query_check("别的问题"), COFFEE)
    assert state._db.execute("SELECT count(*) FROM learn_choices").fetchone()[0] == 0


def test_one_user_alone_never_makes_a_rewording_however_often(state):
    for _ in range(5):
        state.choose(42, CHECK, COFFEE)
    assert state.rewordings() == [] and state.rewordings(min_users=1) == []
    assert not state.auto_accept(QUERY, COFFEE, 2)


def test_two_distinct_users_make_a_listed_rewording_others_are_counted(state):
    state.choose(1, CHECK, COFFEE)
    state.choose(2, CHECK, COFFEE)
    state.choose(3, CHECK, RUN)
    state.choose(4, CHECK, None)
    [row] = state.rewordings()
    assert (row.query, row.question_id, row.users, row.others, row.accepted) == (QUERY, COFFEE, 2, 2, False)
    assert len(row.id) == 8


def test_a_user_changing_their_mind_counts_once(state):
    state.choose(1, CHECK, RUN)
    state.choose(1, CHECK, COFFEE)
    state.choose(2, CHECK, COFFEE)
    [row] = state.rewordings()
    assert (row.question_id, row.users, row.others) == (COFFEE, 2, 0)


def test_accepting_refuses_a_single_users_rewording(state):
    state.choose(1, CHECK, COFFEE)
    state.choose(2, CHECK, COFFEE)
    [row] = state.rewordings()
    with pytest.raises(ValueError):
        state.accept(type(row)(row.query, row.question_id, 1, 0, False))
    assert state.accept(row) and not state.accept(row)
    assert state.accepted() == [(COFFEE, QUERY)] and state.rewordings()[0].accepted


def test_auto_accept_waits_for_n_distinct_users_who_outnumber_the_rest(state):
    assert not state.choose(1, CHECK, COFFEE, auto_accept=3)
    assert not state.choose(2, CHECK, COFFEE, auto_accept=3)
    assert state.accepted() == []
    assert state.choose(3, CHECK, COFFEE, auto_accept=3)
    assert state.accepted() == [(COFFEE, QUERY)]


def test_auto_accept_does_not_take_a_disputed_rewording(state):
    for user, qid in ((1, COFFEE), (2, COFFEE), (3, None), (4, RUN)):
        state.choose(user, CHECK, qid)
    assert not state.auto_accept(QUERY, COFFEE, 2)  # 2 agree, 2 chose something else
    assert state.accepted() == []


def test_auto_accept_of_zero_is_off(state):
    for user in range(1, 6):
        state.choose(user, CHECK, COFFEE, auto_accept=0)
    assert state.accepted() == []


def test_config_refuses_auto_accept_from_one_user():
    assert parse_config({"learning": {"auto_accept": 3}}, require_token=False).learning.auto_accept == 3
    assert parse_config({}, require_token=False).learning.auto_accept == 0
    with pytest.raises(ConfigError, match=r"learning\.auto_accept"):
        parse_config({"learning": {"auto_accept": 1}}, require_token=False)
    with pytest.raises(ConfigError, match=r"learning\.auto_accept"):
        parse_config({"learning": {"auto_accept": -2}}, require_token=False)


# -- accepted rewordings are matched like alternate titles ------------------------------------------


@pytest.fixture
def archive(tmp_path):
    cfg = parse_config({"archive": {"db": str(tmp_path / "archive.db")}}, require_token=False)
    store = Store.open(cfg.archive.db)
    ingest(store, [str(ROOT / "sample-archive")])
    yield cfg, store
    store.close()


def accept(cfg, query: str, qid: str) -> None:
    state = StateStore.open(cfg.archive.state_path)
    check = cb.query_check(query)
    state.remember_shown(check, query, [qid])
    for user in (1, 2):
        state.choose(user, check, qid)
    [row] = state.rewordings()
    state.accept(row)
    state.close()


def test_an_accepted_rewording_finds_its_question_and_rebuilds_the_saved_index(archive):
    cfg, store = archive
    before, fp_before = open_matcher_with_fingerprint(cfg, store)
    assert COFFEE not in [k for k, _ in before.search(QUERY, 3)]
    accept(cfg, QUERY, COFFEE)
    assert learned_titles(cfg, store) == [(COFFEE, QUERY)]
    after, fp_after = open_matcher_with_fingerprint(cfg, store)
    assert fp_after != fp_before and fp_after.startswith(store.fingerprint())
    decision = Answerer(store, after).ask(QUERY)
    assert decision.band is Band.ANSWER and decision.question.id == COFFEE
    # the saved index was rebuilt with the rewording: loading it for the same accepted set finds it
    reloaded = load_matcher(store, cfg.archive.index_path, learned=learned_titles(cfg, store))
    assert reloaded.search(QUERY, 1)[0][0] == COFFEE


def test_a_rewording_of_a_removed_question_is_not_indexed(archive):
    cfg, store = archive
    accept(cfg, QUERY, "zzzzzzzzzzzz")
    assert learned_titles(cfg, store) == []


def test_the_rewording_learned_is_the_normalised_matched_text(archive):
    cfg, store = archive
    answerer = Answerer(store, load_matcher(store, cfg.archive.index_path))
    assert answerer.rewording("天天來杯美式，傷不傷胃？", Decision(Band.DID_YOU_MEAN)) == "天天来杯美式 伤不伤胃"
    stripped = Decision(Band.DID_YOU_MEAN, query="天天来杯美式伤不伤胃")
    assert answerer.rewording("你好，请问天天来杯美式伤不伤胃？谢谢", stripped) == QUERY


# -- archive-bot learned -----------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "bot.yaml"
    path.write_text(f"archive:\n  db: {tmp_path / 'archive.db'}\n  paths: [{ROOT / 'sample-archive'}]\n",
                    encoding="utf-8")
    store = Store.open(str(tmp_path / "archive.db"))
    ingest(store, [str(ROOT / "sample-archive")])
    store.close()
    return path


def choices(config: Path, pairs: list[tuple[int, str, str | None]]) -> None:
    state = StateStore.open(str(config.parent / "archive.db.state"))
    for user, query, qid in pairs:
        check = cb.query_check(query)
        state.remember_shown(check, query, [COFFEE, RUN])
        state.choose(user, check, qid)
    state.close()


def test_learned_lists_only_rewordings_of_two_or_more_users(config):
    choices(config, [(1, QUERY, COFFEE), (2, QUERY, COFFEE), (3, "晚上跑步好吗", RUN)])
    result = cli("learned", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert f"{QUERY} -> 每天喝咖啡对身体有害吗?  [{COFFEE}]" in result.stdout
    assert "晚上跑步好吗" not in result.stdout  # one user alone


def test_learned_with_nothing_to_show_says_so(config):
    result = cli("learned", "--config", str(config))
    assert result.returncode == 0 and "no rewordings yet" in result.stdout


def test_learned_accept_by_id_or_by_query_marks_them_accepted(config):
    choices(config, [(1, QUERY, COFFEE), (2, QUERY, COFFEE), (1, "晚上跑步好吗", RUN), (2, "晚上跑步好吗", RUN)])
    state = StateStore.open(str(config.parent / "archive.db.state"))
    row_id = next(r.id for r in state.rewordings() if r.question_id == COFFEE)
    state.close()
    result = cli("learned", "--accept", row_id, "晚上跑步好吗？", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert f"accepted: {QUERY} -> [{COFFEE}]" in result.stdout and f"accepted: 晚上跑步好吗 -> [{RUN}]" in result.stdout
    assert result.stdout.count("  accepted  ") == 2
    state = StateStore.open(str(config.parent / "archive.db.state"))
    assert sorted(state.accepted()) == [(COFFEE, QUERY), (RUN, "晚上跑步好吗")]
    state.close()


def test_learned_accept_of_an_unknown_or_single_user_rewording_fails_clearly(config):
    choices(config, [(1, QUERY, COFFEE)])
    result = cli("learned", "--accept", QUERY, "--config", str(config))
    assert result.returncode == 1 and "no rewording with id or query" in result.stderr
    state = StateStore.open(str(config.parent / "archive.db.state"))
    assert state.accepted() == []
    state.close()


def test_learned_accept_of_a_disputed_query_asks_for_an_id(config):
    choices(config, [(1, QUERY, COFFEE), (2, QUERY, COFFEE), (3, QUERY, RUN), (4, QUERY, RUN)])
    result = cli("learned", "--accept", QUERY, "--config", str(config))
    assert result.returncode == 1 and "accept one by id" in result.stderr


# -- archive-bot ask --locale zh-Hant -----------------------------------------------------------------


def test_ask_in_zh_hant_shows_the_archive_text_in_traditional(config):
    result = cli("ask", "残差连接为什么有效", "--locale", "zh-Hant", "--config", str(config))
    assert result.returncode == 0, result.stderr
    reply = result.stdout.split("-" * 60, 1)[1]
    assert "ResNet 的殘差連線為什麼有效?" in reply and "殘差連線讓每一層" in reply
    assert "[Dropout 和 Batch Norm 能一起用嗎?]" in reply
    simplified = cli("ask", "残差连接为什么有效", "--locale", "zh-Hans", "--config", str(config)).stdout
    assert "ResNet 的残差连接为什么有效?" in simplified.split("-" * 60, 1)[1]
