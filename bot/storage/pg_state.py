"""The bot's state on PostgreSQL (schema ``bot_state``), shared by every replica.

The same :class:`~bot.storage.state.StateStore` (query log with its origin column, learned
rewordings, handled-update ledger, inbox, salt), plus what replicas need: an inbox any replica can
claim from. A row is claimed with ``FOR UPDATE SKIP LOCKED`` only when it is the oldest left of its
chat, so one chat's updates are handled one at a time and in order; a claim carries a lease (server
clock), and the row of a replica that died is taken over once its lease has run out.
"""

from __future__ import annotations

import json

from bot.storage.pg import PgDatabase
from bot.storage.state import MIN_USERS, Rewording, StateStore

__all__ = ["PG_MIGRATIONS", "SCHEMA", "PgStateStore"]

SCHEMA = "bot_state"
_NOW = "extract(epoch from clock_timestamp())"


def _pg_v1(db: PgDatabase) -> None:
    """Everything the SQLite state's four migrations make, and the inbox's claim columns."""
    db.run_script(
        """
        CREATE TABLE query_log (
            id BIGSERIAL PRIMARY KEY,
            ts DOUBLE PRECISION NOT NULL,
            user_hash TEXT NOT NULL,
            query TEXT NOT NULL,
            band TEXT NOT NULL,
            score DOUBLE PRECISION NOT NULL,
            question_id TEXT,
            origin TEXT NOT NULL DEFAULT 'typed'
        );
        CREATE INDEX query_log_by_band ON query_log(band, query);
        CREATE TABLE handled_updates (update_id BIGINT PRIMARY KEY, ts DOUBLE PRECISION NOT NULL);
        CREATE INDEX handled_updates_by_ts ON handled_updates(ts);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE inbox (
            update_id BIGINT PRIMARY KEY,
            ts DOUBLE PRECISION NOT NULL,
            payload TEXT NOT NULL,
            chat_key BIGINT,
            claimed_by TEXT,
            lease_until DOUBLE PRECISION NOT NULL DEFAULT 0
        );
        CREATE INDEX inbox_by_chat ON inbox(chat_key, update_id);
        CREATE TABLE learn_shown (
            qcheck TEXT PRIMARY KEY, query TEXT NOT NULL, candidates TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL
        );
        CREATE TABLE learn_choices (
            user_hash TEXT NOT NULL, query TEXT NOT NULL, question_id TEXT, ts DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (user_hash, query)
        );
        CREATE INDEX learn_choices_by_query ON learn_choices(query, question_id);
        CREATE TABLE learn_accepted (
            query TEXT NOT NULL, question_id TEXT NOT NULL, users INTEGER NOT NULL, how TEXT NOT NULL,
            ts DOUBLE PRECISION NOT NULL, PRIMARY KEY (query, question_id)
        )
        """
    )


PG_MIGRATIONS = (_pg_v1,)


class PgStateStore(StateStore):
    """Query log, learning, handled updates and the shared inbox, in PostgreSQL."""

    shared_inbox = True
    """Replicas share this inbox: a webhook records an update here and any replica handles it."""

    def __init__(self, db: PgDatabase, url: str) -> None:
        self._pg = db
        self.url = url
        super().__init__(db, db.label)  # type: ignore[arg-type]  # the same calls as an sqlite3 connection

    @classmethod
    def open(cls, path: str, *, create: bool = True) -> PgStateStore:
        return cls(PgDatabase.open_migrated(path, SCHEMA, PG_MIGRATIONS, what="bot state store", create=create), path)

    def close(self) -> None:
        self._pg.close()

    @property
    def schema_version(self) -> int:
        return self._pg.version()

    def rewordings(self, min_users: int = MIN_USERS, *, query: str | None = None) -> list[Rewording]:
        rows = self._pg.execute_native(
            "SELECT c.query, c.question_id, count(*) AS n,"
            " (SELECT count(*) FROM learn_choices o WHERE o.query = c.query) - count(*),"
            " EXISTS (SELECT 1 FROM learn_accepted a WHERE a.query = c.query AND a.question_id = c.question_id)"
            " FROM learn_choices c WHERE c.question_id IS NOT NULL AND (%s::text IS NULL OR c.query = %s::text)"
            " GROUP BY c.query, c.question_id HAVING count(*) >= %s ORDER BY n DESC, c.query, c.question_id",
            (query, query, max(min_users, MIN_USERS)),
        )
        return [Rewording(q, qid, n, others, bool(acc)) for q, qid, n, others, acc in rows]

    # -- the shared inbox (webhook replicas) ----------------------------------------------------

    def record_update(self, update_id: int, chat_key: int | None, payload: str) -> bool:
        """Keep a received update until one replica has handled it; False if it was known (a redelivery)."""
        cur = self._pg.execute_native(
            f"INSERT INTO inbox(update_id, ts, payload, chat_key) SELECT %s, {_NOW}, %s, %s"
            " WHERE NOT EXISTS (SELECT 1 FROM handled_updates WHERE update_id = %s)"
            " ON CONFLICT (update_id) DO NOTHING",
            (update_id, payload, chat_key, update_id),
        )
        return cur.rowcount > 0

    def claim(self, replica: str, *, lease: float, limit: int) -> list[dict]:
        """Claim up to ``limit`` updates for ``replica`` for ``lease`` seconds: each the oldest left of its
        chat, unclaimed or with a run-out lease; rows another replica is claiming are skipped."""
        rows = self._pg.execute_native(
            f"UPDATE inbox SET claimed_by = %s, lease_until = {_NOW} + %s WHERE update_id IN ("
            " SELECT i.update_id FROM inbox i"
            f" WHERE i.lease_until < {_NOW} AND (i.chat_key IS NULL OR NOT EXISTS ("
            "  SELECT 1 FROM inbox o WHERE o.chat_key = i.chat_key AND o.update_id < i.update_id))"
            " ORDER BY i.update_id LIMIT %s FOR UPDATE SKIP LOCKED)"
            " RETURNING update_id, payload",
            (replica, float(lease), int(limit)),
        ).fetchall()
        return [json.loads(payload) for _, payload in sorted(rows)]

    def release(self, update_id: int, replica: str) -> None:
        """Give a claimed update back (it could not be handled now): any replica may take it at once."""
        self._pg.execute_native(
            "UPDATE inbox SET claimed_by = NULL, lease_until = 0 WHERE update_id = %s AND claimed_by = %s",
            (update_id, replica),
        )

    def renew(self, replica: str, *, lease: float) -> int:
        """Extend the lease of every update ``replica`` holds (it is alive and still at work); return how many."""
        return self._pg.execute_native(
            f"UPDATE inbox SET lease_until = {_NOW} + %s WHERE claimed_by = %s", (float(lease), replica)).rowcount

    def release_all(self, replica: str) -> int:
        """Give back every update ``replica`` still holds (it is stopping); return how many."""
        return self._pg.execute_native(
            "UPDATE inbox SET claimed_by = NULL, lease_until = 0 WHERE claimed_by = %s", (replica,)).rowcount

    def pending(self) -> int:
        """Updates recorded and not yet handled (claimed or not)."""
        row = self._pg.execute_native("SELECT count(*) FROM inbox").fetchone()
        return int(row[0]) if row else 0
