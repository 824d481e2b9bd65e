"""Opening SQLite files safely: WAL mode, numbered migrations, clear errors naming the file."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

Migration = Callable[[sqlite3.Connection], None]

log = logging.getLogger("bot.storage")

#: A commit that leaves a write-ahead log this large has it copied back into the file in a thread: SQLite's
#: own checkpoint at 1,000 pages of 4 KiB, moved off the committing thread.
CHECKPOINT_BYTES = 4 * 2**20


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


class BackgroundCheckpoint:
    """Copies the committed pages of a WAL file back into the database, in a thread.

    After a large write (1 % of a 10^6-question store: a 430 MB log), SQLite's checkpoint takes ~1.3 s,
    half of it waiting for the disk.  A commit inside :meth:`deferred` skips it; :meth:`start` then runs it
    (``wal_checkpoint(TRUNCATE)`` on a connection of its own) while the caller goes on, e.g. updating the
    index.  A failed checkpoint loses nothing: the pages stay in the log for the next one.
    """

    def __init__(self, db: sqlite3.Connection, path: str) -> None:
        self._db = db
        self.path = path
        self._thread: threading.Thread | None = None

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Inside, commits on ``db`` leave the log as it is; on leaving, :meth:`start` when it has grown."""
        self.wait()  # one checkpoint at a time, and none under a writer
        self._db.execute("PRAGMA wal_autocheckpoint = 0")
        try:
            yield
        finally:
            self._db.execute("PRAGMA wal_autocheckpoint = 1000")  # SQLite's default, for writes outside
        self.start()

    def start(self) -> None:
        """Checkpoint in a thread if the log holds at least :data:`CHECKPOINT_BYTES`."""
        try:
            if os.path.getsize(self.path + "-wal") < CHECKPOINT_BYTES:
                return
        except OSError:  # no log (an in-memory database, or nothing written yet)
            return
        self.wait()
        self._thread = threading.Thread(target=self._run, name=f"checkpoint {self.path}", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Until the running checkpoint, if any, is done."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            log.warning("%s: checkpoint of the write-ahead log failed, kept for the next one (%s)", self.path, exc)


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
        # the row a REPLACE removes fires delete triggers (the archive store's kept totals), from the migrations on
        conn.execute("PRAGMA recursive_triggers = ON")
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
