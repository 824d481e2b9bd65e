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

__all__ = ["ORIGIN_BUTTON", "ORIGIN_TYPED", "MissRow", "Rewording", "StateStore", "StoreError"]


ORIGIN_TYPED = "typed"
"""A question a person typed (a message, a caption, /ask)."""
ORIGIN_BUTTON = "button"
"""A search the bot wrote itself: the title behind a 🔍 related-topic or discussion button."""


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


def _v3_learning(db: sqlite3.Connection) -> None:
    """Learning from people: the "did you mean" lists shown, each user's choice, the accepted rewordings."""
    run_script(
        db,
        """
        CREATE TABLE learn_shown (
            qcheck TEXT PRIMARY KEY, query TEXT NOT NULL, candidates TEXT NOT NULL, ts REAL NOT NULL
        );
        CREATE TABLE learn_choices (
            user_hash TEXT NOT NULL, query TEXT NOT NULL, question_id TEXT, ts REAL NOT NULL,
            PRIMARY KEY (user_hash, query)
        );
        CREATE INDEX learn_choices_by_query ON learn_choices(query, question_id);
        CREATE TABLE learn_accepted (
            query TEXT NOT NULL, question_id TEXT NOT NULL, users INTEGER NOT NULL, how TEXT NOT NULL,
            ts REAL NOT NULL, PRIMARY KEY (query, question_id)
        );
        """,
    )


def _query_origin(db: sqlite3.Connection) -> None:
    """Tell typed questions from the bot's own searches (a 🔍 related-topic or discussion button)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(query_log)")}
    if "origin" not in columns:
        db.execute(f"ALTER TABLE query_log ADD COLUMN origin TEXT NOT NULL DEFAULT '{ORIGIN_TYPED}'")


MIGRATIONS = (_v1, _v2, _v3_learning, _query_origin)
PRUNE_EVERY = 3600.0
"""Seconds between two prunings of old handled-update ids (done while marking one handled)."""


@dataclass(frozen=True)
class MissRow:
    """One line of the "what to add to the archive" report."""

    query: str
    count: int
    band: str
    best_score: float


@dataclass(frozen=True)
class Rewording:
    """A query that distinct users resolved to one archived question ("did you mean" choices)."""

    query: str
    question_id: str
    users: int  # distinct users who chose this question for this query
    others: int  # distinct users who chose another question, or "none of these", for it
    accepted: bool

    @property
    def id(self) -> str:
        """A short stable id for ``archive-bot learned --accept``."""
        return rewording_id(self.query, self.question_id)


def rewording_id(query: str, question_id: str) -> str:
    return hashlib.sha256(f"{query}\x1f{question_id}".encode()).hexdigest()[:8]


#: Never learn from one user alone.
MIN_USERS = 2


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

    def log_query(self, user_id: int | None, query: str, band: str, score: float, qid: str | None,
                  *, origin: str = ORIGIN_TYPED) -> None:
        """Record one question asked (the user id is stored hashed, never in clear), committed at once:
        any connection reading afterwards sees it. ``origin``: :data:`ORIGIN_TYPED` or :data:`ORIGIN_BUTTON`."""
        self._db.execute(
            "INSERT INTO query_log(ts, user_hash, query, band, score, question_id, origin)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (time.time(), self.user_hash(user_id), query[:500], band, float(score), qid, origin),
        )

    def misses(self, limit: int = 20, *, since: float = 0.0, origin: str = ORIGIN_TYPED) -> list[MissRow]:
        """The most frequent questions that got no direct answer: what the archive should add.

        Only what people typed by default; the bot's own searches (``origin=ORIGIN_BUTTON``) apart."""
        rows = self._db.execute(
            "SELECT query, count(*) AS n, band, max(score) FROM query_log"
            " WHERE band NOT IN ('answer', 'smalltalk', 'topic') AND ts >= ? AND origin = ?"
            " GROUP BY query, band ORDER BY n DESC, query LIMIT ?",
            (since, origin, limit),
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

    # -- learning from "did you mean" choices ---------------------------------------------------

    def remember_shown(self, check: str, query: str, candidates: list[str]) -> None:
        """A "did you mean" list for ``query`` was shown; its buttons carry ``check``."""
        with transaction(self._db):
            row = self._db.execute("SELECT query, candidates FROM learn_shown WHERE qcheck = ?", (check,)).fetchone()
            known = json.loads(row[1]) if row and row[0] == query else []
            merged = list(dict.fromkeys([*known, *candidates]))[-50:]
            self._db.execute(
                "INSERT OR REPLACE INTO learn_shown(qcheck, query, candidates, ts) VALUES (?, ?, ?, ?)",
                (check, query[:500], json.dumps(merged), time.time()),
            )

    def shown(self, check: str) -> tuple[str, frozenset[str]] | None:
        """The query and the candidate ids behind a "did you mean" list's ``check``, if known."""
        row = self._db.execute("SELECT query, candidates FROM learn_shown WHERE qcheck = ?", (check,)).fetchone()
        return (row[0], frozenset(json.loads(row[1]))) if row else None

    def record_choice(self, user_id: int | None, query: str, question_id: str | None) -> None:
        """A user resolved ``query`` to ``question_id`` (None: "none of these"); a later choice replaces theirs."""
        self._db.execute(
            "INSERT OR REPLACE INTO learn_choices(user_hash, query, question_id, ts) VALUES (?, ?, ?, ?)",
            (self.user_hash(user_id), query[:500], question_id, time.time()),
        )

    def rewordings(self, min_users: int = MIN_USERS, *, query: str | None = None) -> list[Rewording]:
        """Queries at least ``min_users`` (≥ 2) distinct users resolved to the same question, most agreed first."""
        rows = self._db.execute(
            "SELECT c.query, c.question_id, count(*) AS n,"
            " (SELECT count(*) FROM learn_choices o WHERE o.query = c.query) - count(*),"
            " EXISTS (SELECT 1 FROM learn_accepted a WHERE a.query = c.query AND a.question_id = c.question_id)"
            " FROM learn_choices c WHERE c.question_id IS NOT NULL AND (? IS NULL OR c.query = ?)"
            " GROUP BY c.query, c.question_id HAVING n >= ? ORDER BY n DESC, c.query, c.question_id",
            (query, query, max(min_users, MIN_USERS)),
        )
        return [Rewording(q, qid, n, others, bool(acc)) for q, qid, n, others, acc in rows]

    def accept(self, rewording: Rewording, how: str = "manual") -> bool:
        """Accept a rewording (matched like an alternate title from the next index build). True if new."""
        if rewording.users < MIN_USERS:
            raise ValueError("never learn from one user alone")
        cur = self._db.execute(
            "INSERT OR IGNORE INTO learn_accepted(query, question_id, users, how, ts) VALUES (?, ?, ?, ?, ?)",
            (rewording.query, rewording.question_id, rewording.users, how, time.time()),
        )
        return cur.rowcount > 0

    def auto_accept(self, query: str, question_id: str, min_users: int) -> bool:
        """With ``min_users`` ≥ 2: accept once that many distinct users agree and they outnumber the rest."""
        if min_users < MIN_USERS:
            return False
        for r in self.rewordings(min_users, query=query):
            if r.question_id == question_id and not r.accepted and r.users > r.others:
                return self.accept(r, how="auto")
        return False

    def choose(self, user_id: int | None, check: str, question_id: str | None, auto_accept: int = 0) -> bool:
        """A user pressed a "did you mean" button (``question_id``, or None for "none of these") of the list
        whose buttons carry ``check``: record it if that list offered the question. True when this choice
        made a rewording accepted (``auto_accept`` ≥ 2 distinct users agree)."""
        shown = self.shown(check)
        if shown is None or user_id is None:
            return False
        query, candidates = shown
        if question_id is not None and question_id not in candidates:
            return False  # not offered for this query (a forged or outdated button): nothing to learn
        self.record_choice(user_id, query, question_id)
        return question_id is not None and self.auto_accept(query, question_id, auto_accept)

    def accepted(self) -> list[tuple[str, str]]:
        """Accepted rewordings as ``(question id, query)`` pairs, in a stable order."""
        return self._db.execute(
            "SELECT question_id, query FROM learn_accepted ORDER BY question_id, query").fetchall()
