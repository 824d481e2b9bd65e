"""Opening SQLite files safely: WAL mode, numbered migrations, clear errors naming the file."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

Migration = Callable[[sqlite3.Connection], None]


#: Files up to this size get SQLite's ``quick_check`` (every page read) on open; larger ones only a read
#: of the header and schema, so opening a 10^6-question store takes milliseconds, not seconds.
QUICK_CHECK_MAX_BYTES = 512 * 2**20


class StoreError(Exception):
    """A store file cannot be opened or used; the message names the file."""


def run_script(db: sqlite3.Connection, sql: str) -> None:
    """Run several statements inside the caller's transaction (``executescript`` would commit)."""
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One atomic write: everything inside commits together or not at all."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    else:
        db.execute("COMMIT")


def open_db(path: str, migrations: Sequence[Migration], *, what: str, create: bool = True) -> sqlite3.Connection:
    """Open ``path``, migrate it to ``len(migrations)``, check it; raise :class:`StoreError` naming it."""
    if path != ":memory:":
        if not os.path.exists(path):
            if not create:
                raise StoreError(f"{path}: the {what} does not exist (run `archive-bot ingest` first)")
            parent = os.path.dirname(os.path.abspath(path))
            try:
                os.makedirs(parent, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{path}: cannot create the folder {parent}: {exc.strerror}") from None
        elif os.path.isdir(path):
            raise StoreError(f"{path}: is a folder, not an SQLite file")
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        if not (os.path.isfile(path) and os.path.getsize(path) > QUICK_CHECK_MAX_BYTES):
            quick = conn.execute("PRAGMA quick_check(1)").fetchone()
            if quick is None or quick[0] != "ok":
                raise StoreError(f"{path}: the {what} file is damaged ({quick[0] if quick else 'no answer'})")
        else:  # quick_check would read every page (5 s for a 7 GB store from the page cache): header + schema
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        _migrate(conn, path, migrations)
        return conn
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        msg = str(exc)
        if "readonly" in msg or "read-only" in msg:
            raise StoreError(f"{path}: the {what} is read-only for this user ({msg})") from None
        if "not a database" in msg or "malformed" in msg or "file is encrypted" in msg:
            raise StoreError(f"{path}: not a valid {what}, or the file is damaged ({msg})") from None
        raise StoreError(f"{path}: cannot open the {what} ({msg})") from None
    except StoreError:
        if conn is not None:
            conn.close()
        raise


def _migrate(conn: sqlite3.Connection, path: str, migrations: Sequence[Migration]) -> None:
    target = len(migrations)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > target:
        raise StoreError(f"{path}: made by a newer archive-bot (schema {version} > {target}); upgrade archive-bot")
    for number in range(version + 1, target + 1):
        with transaction(conn):
            migrations[number - 1](conn)
            conn.execute(f"PRAGMA user_version = {number}")
