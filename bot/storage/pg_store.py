"""The archive store on PostgreSQL: the same :class:`~bot.storage.store.Store`, over a connection pool.

The tables are the SQLite store's (schema ``archive``); the store's own SQL runs through
:class:`~bot.storage.pg.PgDatabase`. The PostgreSQL schema has its own numbered migrations
(:data:`PG_MIGRATIONS`): number 1 is the SQLite store's schema 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.storage.pg import PgDatabase
from bot.storage.sqlitedb import StoreError, transaction
from bot.storage.store import Counts, Store
from bot.storage.store_schema import COUNTED

__all__ = ["PG_MIGRATIONS", "PG_SCHEMA_VERSION", "SCHEMA", "PgStore", "StoreError"]

SCHEMA = "archive"


def _pg_v1(db: PgDatabase) -> None:
    """Questions, their pages (keyed by their file), answers, related links, files seen, meta, id aliases."""
    db.run_script(
        """
        CREATE TABLE questions (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            alt_titles TEXT NOT NULL DEFAULT '[]',
            prev_title TEXT,
            next_title TEXT,
            sources TEXT NOT NULL DEFAULT '[]'
        );
        CREATE TABLE pages (
            question_id TEXT NOT NULL,
            page_no INTEGER NOT NULL,
            origin TEXT NOT NULL,
            source TEXT NOT NULL,
            title TEXT NOT NULL,
            alt_titles TEXT NOT NULL DEFAULT '[]',
            prev_title TEXT,
            next_title TEXT,
            sources TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (question_id, page_no, source)
        );
        CREATE INDEX pages_by_source ON pages(source);
        CREATE TABLE answers (
            question_id TEXT NOT NULL,
            page_no INTEGER NOT NULL,
            source TEXT NOT NULL,
            position INTEGER NOT NULL,
            author TEXT NOT NULL,
            text TEXT NOT NULL
        );
        CREATE UNIQUE INDEX answers_by_question ON answers(question_id, page_no, source, position);
        CREATE TABLE related (
            question_id TEXT NOT NULL,
            page_no INTEGER NOT NULL,
            source TEXT NOT NULL,
            position INTEGER NOT NULL,
            title TEXT NOT NULL,
            target_id TEXT NOT NULL,
            PRIMARY KEY (question_id, page_no, source, position)
        );
        CREATE TABLE files (
            path TEXT PRIMARY KEY,
            size BIGINT NOT NULL,
            mtime_ns BIGINT NOT NULL,
            sha256 TEXT NOT NULL
        );
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE id_aliases (old_id TEXT PRIMARY KEY, title TEXT NOT NULL)
        """
    )


# Numbered migrations of the PostgreSQL schema: PG_MIGRATIONS[n-1] upgrades it from n-1 to n.
# Never edit one that has shipped; add the next.
PG_MIGRATIONS = (_pg_v1,)
PG_SCHEMA_VERSION = len(PG_MIGRATIONS)


class PgStore(Store):
    """The archive in PostgreSQL. Build with :meth:`open` (a ``postgresql://`` URL)."""

    def __init__(self, db: PgDatabase, url: str) -> None:
        super().__init__(db, db.label)  # type: ignore[arg-type]  # the same calls as an sqlite3 connection
        self._pg = db
        self.url = url

    @classmethod
    def open(cls, path: str, *, create: bool = True) -> PgStore:
        """Connect to the database at URL ``path`` and migrate its ``archive`` schema."""
        return cls(PgDatabase.open_migrated(path, SCHEMA, PG_MIGRATIONS, what="archive store", create=create), path)

    def close(self) -> None:
        self._pg.close()

    @property
    def schema_version(self) -> int:
        return self._pg.version()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic write on one pooled connection; failures become :class:`StoreError`."""
        with transaction(self._db):  # type: ignore[arg-type]
            yield

    def counts(self) -> Counts:
        """The archive's sizes, counted (PostgreSQL scans in parallel; the SQLite store keeps totals)."""
        self.flush_merges()
        one = self._db.execute
        return Counts(**{table: one(f"SELECT count(*) FROM {table}").fetchone()[0] for table in COUNTED})

    def random_id(self) -> str | None:
        self.flush_merges()
        row = self._pg.execute_native("SELECT id FROM questions ORDER BY random() LIMIT 1").fetchone()
        return row[0] if row else None

