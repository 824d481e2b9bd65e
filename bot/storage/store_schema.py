"""The archive store's SQLite schema as numbered migrations: ``MIGRATIONS[n-1]`` upgrades a store from n-1 to n."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from bot.storage.sqlitedb import run_script


def _v1(db: sqlite3.Connection) -> None:
    """Questions, their pages, answers and related links; files seen; meta.

    ``pages.origin`` is 'page' (a saved page file, ``source`` = its path) or 'jsonl' (an imported
    record, ``source`` = the JSON list of the record's sources).
    """
    run_script(
        db,
        """
        CREATE TABLE questions (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            alt_titles TEXT NOT NULL DEFAULT '[]',
            prev_title TEXT,
            next_title TEXT,
            sources TEXT NOT NULL DEFAULT '[]'
        ) WITHOUT ROWID;
        CREATE TABLE pages (
            question_id TEXT NOT NULL,
            page_no INTEGER NOT NULL,
            origin TEXT NOT NULL,
            source TEXT NOT NULL,
            title TEXT NOT NULL,
            alt_titles TEXT NOT NULL DEFAULT '[]',
            prev_title TEXT,
            next_title TEXT,
            PRIMARY KEY (question_id, page_no)
        ) WITHOUT ROWID;
        CREATE INDEX pages_by_source ON pages(source);
        CREATE TABLE answers (
            question_id TEXT NOT NULL,
            page_no INTEGER NOT NULL,
            position INTEGER NOT NULL,
            author TEXT NOT NULL,
            text TEXT NOT NULL
        );
        CREATE UNIQUE INDEX answers_by_question ON answers(question_id, page_no, position);
        CREATE TABLE related (
            question_id TEXT NOT NULL,
            page_no INTEGER NOT NULL,
            position INTEGER NOT NULL,
            title TEXT NOT NULL,
            target_id TEXT NOT NULL,
            PRIMARY KEY (question_id, page_no, position)
        ) WITHOUT ROWID;
        CREATE TABLE files (
            path TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            sha256 TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        """
    )


def _v2(db: sqlite3.Connection) -> None:
    """Pages of one question from several files all kept; JSON Lines records keyed by their file;
    old ids aliased.

    ``pages``, ``answers`` and ``related`` get the source file in their keys, so two files with the
    same title and ``第N页`` no longer overwrite each other. A record's own ``source`` list moves to
    ``pages.sources`` and ``pages.source`` becomes the file it came from ('' for records imported
    before). ``id_aliases`` maps an id already sent in buttons and deep links to the title it showed
    (the current id is computed from the title). ``files`` is emptied so the next ingest re-reads
    every file under the id rule of this version.
    """
    run_script(
        db,
        """
        CREATE TABLE pages_v2 (
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
        ) WITHOUT ROWID;
        INSERT INTO pages_v2 SELECT question_id, page_no, origin, CASE origin WHEN 'jsonl' THEN '' ELSE source END,
            title, alt_titles, prev_title, next_title, CASE origin WHEN 'jsonl' THEN source ELSE '[]' END FROM pages;
        CREATE TABLE answers_v2 (
            question_id TEXT NOT NULL,
            page_no INTEGER NOT NULL,
            source TEXT NOT NULL,
            position INTEGER NOT NULL,
            author TEXT NOT NULL,
            text TEXT NOT NULL
        );
        INSERT INTO answers_v2 SELECT a.question_id, a.page_no, p.source, a.position, a.author, a.text
            FROM answers a JOIN pages_v2 p ON p.question_id = a.question_id AND p.page_no = a.page_no;
        CREATE TABLE related_v2 (
            question_id TEXT NOT NULL,
            page_no INTEGER NOT NULL,
            source TEXT NOT NULL,
            position INTEGER NOT NULL,
            title TEXT NOT NULL,
            target_id TEXT NOT NULL,
            PRIMARY KEY (question_id, page_no, source, position)
        ) WITHOUT ROWID;
        INSERT INTO related_v2 SELECT r.question_id, r.page_no, p.source, r.position, r.title, r.target_id
            FROM related r JOIN pages_v2 p ON p.question_id = r.question_id AND p.page_no = r.page_no;
        DROP TABLE pages;
        DROP TABLE answers;
        DROP TABLE related;
        ALTER TABLE pages_v2 RENAME TO pages;
        ALTER TABLE answers_v2 RENAME TO answers;
        ALTER TABLE related_v2 RENAME TO related;
        CREATE INDEX pages_by_source ON pages(source);
        CREATE UNIQUE INDEX answers_by_question ON answers(question_id, page_no, source, position);
        CREATE TABLE id_aliases (old_id TEXT PRIMARY KEY, title TEXT NOT NULL) WITHOUT ROWID;
        INSERT OR IGNORE INTO id_aliases(old_id, title) SELECT id, title FROM questions;
        DELETE FROM files;
        """,
    )


#: The tables whose row counts :class:`~bot.storage.store.Store` keeps in ``totals``.
COUNTED = ("questions", "pages", "answers")


def _v3(db: sqlite3.Connection) -> None:
    """Row counts kept by triggers in ``totals``, so ``counts()`` is a lookup, not three scans (3.5 s at
    10^6 questions when the file is not in SQLite's cache).

    ``INSERT OR REPLACE`` deletes the row it replaces; that fires the delete trigger only with
    ``PRAGMA recursive_triggers = ON``, which :func:`~bot.storage.sqlitedb.open_db` sets on every connection.
    """
    db.execute("CREATE TABLE totals (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID")
    for table in COUNTED:
        db.execute(f"INSERT INTO totals(name, n) SELECT '{table}', count(*) FROM {table}")
        for event, step in (("INSERT", "+ 1"), ("DELETE", "- 1")):
            db.execute(
                f"CREATE TRIGGER {table}_{event.lower()}_counted AFTER {event} ON {table}"
                f" BEGIN UPDATE totals SET n = n {step} WHERE name = '{table}'; END"
            )


# Numbered migrations: MIGRATIONS[n-1] upgrades a store from version n-1 to n. Never edit one
# that has shipped; add the next.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1, _v2, _v3)
SCHEMA_VERSION = len(MIGRATIONS)
