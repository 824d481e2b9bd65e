"""PostgreSQL as the backend: dialect translation, migrations, the CLI over a URL, the shared inbox."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from bot.config import parse_config
from bot.storage.backends import open_state, open_store
from bot.storage.ingest import ingest
from bot.storage.pg import redact_url, translate
from bot.storage.pg_state import PgStateStore
from bot.storage.pg_store import PG_SCHEMA_VERSION
from bot.storage.store import Store, StoreError
from tests.pg import fresh_database, server_url
from tests.test_cli import cli

ROOT = Path(__file__).parent.parent


@pytest.fixture
def db_url():
    with fresh_database(server_url()) as url:
        yield url


@pytest.fixture
def state(db_url):
    s = open_state(db_url)
    yield s
    s.close()


def update(update_id: int, chat: int) -> str:
    return json.dumps({"update_id": update_id, "message": {"chat": {"id": chat}}})


# -- without a server ------------------------------------------------------------------------------


def test_the_stores_sqlite_dialect_is_translated_to_postgresql():
    assert translate("SELECT a FROM t WHERE b = ? AND c LIKE '5%'") == "SELECT a FROM t WHERE b = %s AND c LIKE '5%%'"
    assert translate("INSERT OR IGNORE INTO t(a) VALUES (?)") == "INSERT INTO t(a) VALUES (%s) ON CONFLICT DO NOTHING"
    assert translate("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)") == (
        "INSERT INTO meta(key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value")


def test_a_url_in_the_config_is_kept_as_it_is_and_its_password_comes_from_the_environment(tmp_path):
    cfg = parse_config({"archive": {"db": "postgresql://bot:${PGPASS}@db.example:5432/archive"}},
                       base=tmp_path, environ={"PGPASS": "s3cret"}, require_token=False)
    assert cfg.archive.db == "postgresql://bot:s3cret@db.example:5432/archive"
    assert cfg.archive.state_path == cfg.archive.db  # same database, a schema of its own
    assert cfg.archive.index_path == str(tmp_path / "archive-bot.index")
    assert redact_url(cfg.archive.db) == "postgresql://bot:***@db.example:5432/archive"


def test_an_unreachable_server_is_reported_without_the_password():
    with pytest.raises(StoreError, match="cannot connect") as err:
        open_store("postgresql://bot:s3cret@127.0.0.1:9/archive?connect_timeout=2")
    assert "s3cret" not in str(err.value) and "bot:***@127.0.0.1:9" in str(err.value)


# -- with a server ---------------------------------------------------------------------------------


def test_a_store_made_by_a_newer_program_is_refused(db_url):
    open_store(db_url).close()
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO archive.schema_version(version) VALUES (%s)", (PG_SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer archive-bot"):
        open_store(db_url)


def test_a_missing_store_is_not_created_when_reading(db_url):
    with pytest.raises(StoreError, match="does not exist"):
        open_store(db_url, create=False)


def test_archive_and_state_share_one_database_in_two_schemas(db_url):
    store, state = open_store(db_url), open_state(db_url)
    with store.transaction():
        store.bump_version()
    state.log_query(1, "问", "no_match", 1.0, None)
    with psycopg.connect(db_url) as conn:
        schemas = {r[0] for r in conn.execute("SELECT table_schema FROM information_schema.tables"
                                               " WHERE table_name = 'meta'")}
    assert schemas == {"archive", "bot_state"} and store.fingerprint() != "empty"
    store.close()
    state.close()


def test_ingest_into_postgresql_and_export_round_trip_through_the_cli(db_url, tmp_path):
    config = tmp_path / "bot.yaml"
    config.write_text(f"archive:\n  db: {db_url}\n  paths: [{ROOT / 'sample-archive'}]\n", encoding="utf-8")
    ingested = cli("ingest", "--config", str(config))
    assert ingested.returncode == 0, ingested.stderr
    exported = cli("export", "--config", str(config), "-o", str(tmp_path / "out.jsonl"))
    assert exported.returncode == 0, exported.stderr
    lite = Store.open(str(tmp_path / "copy.db"))
    report = ingest(lite, [str(tmp_path / "out.jsonl")])
    pg = open_store(db_url, create=False)
    assert report.imported == pg.counts().questions > 10
    assert list(lite.iter_questions()) == list(pg.iter_questions())
    asked = cli("ask", "殘差連接為什麼有效", "--json", "--config", str(config))
    assert asked.returncode == 0 and json.loads(asked.stdout)["band"] == "answer"
    lite.close()
    pg.close()


def test_an_interrupted_ingest_leaves_the_postgresql_archive_unchanged(db_url):
    store = open_store(db_url)
    ingest(store, [str(ROOT / "sample-archive")])
    before = (store.counts(), store.fingerprint())

    def boom(_report):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest(store, [str(ROOT / "sample-archive")], force=True, progress=boom, progress_every=3)
    assert (store.counts(), store.fingerprint()) == before
    store.close()


# -- the shared inbox --------------------------------------------------------------------------------


def test_an_update_is_recorded_once_and_not_again_after_it_was_handled(state):
    assert isinstance(state, PgStateStore)
    assert state.record_update(1, 10, update(1, 10))
    assert not state.record_update(1, 10, update(1, 10))  # a redelivery while waiting
    [claimed] = state.claim("r1", lease=30, limit=10)
    assert claimed["update_id"] == 1
    state.mark_handled(1)
    assert not state.record_update(1, 10, update(1, 10))  # a redelivery after it was answered
    assert state.pending() == 0


def test_one_chat_is_claimed_one_update_at_a_time_in_order_and_chats_in_parallel(state):
    for uid, chat in [(1, 10), (2, 10), (3, 20), (4, 10), (5, 20)]:
        state.record_update(uid, chat, update(uid, chat))
    assert [u["update_id"] for u in state.claim("r1", lease=30, limit=10)] == [1, 3]
    assert state.claim("r2", lease=30, limit=10) == []  # both chats busy
    state.mark_handled(3)
    assert [u["update_id"] for u in state.claim("r2", lease=30, limit=10)] == [5]
    state.mark_handled(1)
    assert [u["update_id"] for u in state.claim("r2", lease=30, limit=10)] == [2]


def test_a_claim_whose_lease_ran_out_is_taken_over_by_another_replica(state, db_url):
    state.record_update(7, 10, update(7, 10))
    assert state.claim("dead", lease=30, limit=10)
    other = open_state(db_url)
    assert other.claim("alive", lease=30, limit=10) == []
    state._pg.execute_native("UPDATE inbox SET lease_until = 0")  # the lease of the dead replica ran out
    assert [u["update_id"] for u in other.claim("alive", lease=30, limit=10)] == [7]
    other.close()


def test_two_replicas_claiming_in_turn_never_get_the_same_update(state, db_url):
    for uid in range(1, 41):
        state.record_update(uid, 1000 + uid, update(uid, 1000 + uid))
    other = open_state(db_url)
    got: list[int] = []
    for _ in range(8):
        got += [u["update_id"] for u in state.claim("a", lease=30, limit=3)]
        got += [u["update_id"] for u in other.claim("b", lease=30, limit=3)]
    assert sorted(got) == list(range(1, 41)) and len(set(got)) == 40
    other.close()


def test_doctor_checks_a_postgresql_store_and_state_without_printing_the_password(db_url, tmp_path):
    store = open_store(db_url)
    ingest(store, [str(ROOT / "sample-archive")])
    store.close()
    with_password = db_url.replace("postgresql://postgres@", "postgresql://postgres:${PGPW}@")
    config = tmp_path / "bot.yaml"
    config.write_text(f"archive:\n  db: {with_password}\n", encoding="utf-8")
    result = cli("doctor", "--config", str(config), env={"PGPW": "s3cretpw"})
    lines = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith(("OK", "FAIL"))}
    assert lines["store"].startswith("OK") and "questions" in lines["store"]
    assert lines["state"].startswith("OK") and "postgres:***@" in lines["state"]
    assert "s3cretpw" not in result.stdout + result.stderr


def test_a_live_replica_renewing_its_lease_keeps_its_claim(state, db_url):
    state.record_update(9, 10, update(9, 10))
    assert state.claim("alive", lease=1, limit=10)
    assert state.renew("alive", lease=30) == 1
    state._pg.execute_native("UPDATE inbox SET lease_until = lease_until - 5")  # the first 1 s lease is long over
    other = open_state(db_url)
    assert other.claim("other", lease=30, limit=10) == []
    other.close()
