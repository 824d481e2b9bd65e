"""The bot's own runtime state, in a SQLite file apart from the archive.

Kept apart so that a long ingest, which holds the archive's write lock, never stalls the bot:
the query log (what people asked and how it went) and the ids of updates already answered.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from dataclasses import dataclass

from bot.storage.sqlitedb import StoreError, open_db, run_script, transaction

__all__ = ["MissRow", "StateStore", "StoreError"]


def _v1(db: sqlite3.Connection) -> None:
    run_script(
        db,
        """
        CREATE TABLE query_log (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            user_hash TEXT NOT NULL,
            query TEXT NOT NULL,
            band TEXT NOT NULL,
            score REAL NOT NULL,
            question_id TEXT
        );
        CREATE INDEX query_log_by_band ON query_log(band, query);
        CREATE TABLE handled_updates (update_id INTEGER PRIMARY KEY, ts REAL NOT NULL);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        """,
    )


def _v2(db: sqlite3.Connection) -> None:
    run_script(db, "CREATE TABLE inbox (update_id INTEGER PRIMARY KEY, ts REAL NOT NULL, payload TEXT NOT NULL)")


MIGRATIONS = (_v1, _v2)
PRUNE_EVERY = 3600.0
"""Seconds between two prunings of old handled-update ids (done while marking one handled)."""


@dataclass(frozen=True)
class MissRow:
    """One line of the "what to add to the archive" report."""

    query: str
    count: int
    band: str
    best_score: float


class StateStore:
    """Query log and handled-update ids. Build with :meth:`open`."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self._db = conn
        self.path = path
        self._salt = self._load_salt()
        self._next_prune = 0.0

    @classmethod
    def open(cls, path: str, *, create: bool = True) -> StateStore:
        return cls(open_db(path, MIGRATIONS, what="bot state store", create=create), path)

    def close(self) -> None:
        self._db.close()

    def _load_salt(self) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()
        if row:
            return row[0]
        salt = secrets.token_hex(16)
        self._db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('salt', ?)", (salt,))
        return self._db.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()[0]

    def user_hash(self, user_id: int | None) -> str:
        """A stable pseudonym for a user: salted, so ids cannot be recovered by enumeration."""
        return hashlib.sha256(f"{self._salt}:{user_id}".encode()).hexdigest()[:16]

    def log_query(self, user_id: int | None, query: str, band: str, score: float, qid: str | None) -> None:
        """Record one question asked (the user id is stored hashed, never in clear)."""
        self._db.execute(
            "INSERT INTO query_log(ts, user_hash, query, band, score, question_id) VALUES (?, ?, ?, ?, ?, ?)",
            (time.time(), self.user_hash(user_id), query[:500], band, float(score), qid),
        )

    def misses(self, limit: int = 20, *, since: float = 0.0) -> list[MissRow]:
        """The most frequent questions that got no direct answer: what the archive should add."""
        rows = self._db.execute(
            "SELECT query, count(*) AS n, band, max(score) FROM query_log"
            " WHERE band != 'answer' AND ts >= ? GROUP BY query, band ORDER BY n DESC, query LIMIT ?",
            (since, limit),
        )
        return [MissRow(q, n, band, round(score, 1)) for q, n, band, score in rows]

    def was_handled(self, update_id: int) -> bool:
        row = self._db.execute("SELECT 1 FROM handled_updates WHERE update_id = ?", (update_id,)).fetchone()
        return row is not None

    def mark_handled(self, update_id: int) -> None:
        """Record that an update has been answered (so a redelivery is not answered again)."""
        with transaction(self._db):
            self._db.execute(
                "INSERT OR IGNORE INTO handled_updates(update_id, ts) VALUES (?, ?)", (update_id, time.time())
            )
            self._db.execute("DELETE FROM inbox WHERE update_id = ?", (update_id,))
        if time.monotonic() >= self._next_prune:  # whatever the mode, and with no archive watcher
            self._next_prune = time.monotonic() + PRUNE_EVERY
            self.prune_handled()

    def enqueue(self, updates: list[tuple[int, str]]) -> set[int]:
        """Keep received updates (id, JSON) until handled; return the ids that are new."""
        with transaction(self._db):
            known = {
                r[0] for r in self._db.execute(
                    "SELECT update_id FROM handled_updates WHERE update_id BETWEEN ? AND ?"
                    " UNION SELECT update_id FROM inbox WHERE update_id BETWEEN ? AND ?",
                    (updates[0][0], updates[-1][0], updates[0][0], updates[-1][0]),
                )
            } if updates else set()
            fresh = [(uid, time.time(), payload) for uid, payload in updates if uid not in known]
            self._db.executemany("INSERT OR IGNORE INTO inbox(update_id, ts, payload) VALUES (?, ?, ?)", fresh)
        return {uid for uid, _, _ in fresh}

    def inbox(self) -> list[dict]:
        """Updates received but not yet handled (left by a crash or a stop), oldest first."""
        rows = self._db.execute("SELECT payload FROM inbox ORDER BY update_id").fetchall()
        return [json.loads(payload) for (payload,) in rows]

    def prune_handled(self, older_than: float = 7 * 86400) -> None:
        """Forget handled-update ids older than ``older_than`` seconds (Telegram keeps updates 24 h)."""
        self._db.execute("DELETE FROM handled_updates WHERE ts < ?", (time.time() - older_than,))
