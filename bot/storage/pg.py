"""PostgreSQL as a backend: a connection pool that speaks the SQLite dialect the stores are written in.

The stores (:mod:`bot.storage.store`, :mod:`bot.storage.state`) issue SQL with ``?`` placeholders,
``INSERT OR IGNORE`` / ``INSERT OR REPLACE`` and ``BEGIN IMMEDIATE`` … ``COMMIT``. :class:`PgDatabase`
takes the same calls and runs them on a pooled psycopg 3 connection:

* ``?`` becomes ``%s``; ``INSERT OR IGNORE`` becomes ``… ON CONFLICT DO NOTHING``; ``INSERT OR REPLACE``
  becomes an upsert on the table's key (:data:`CONFLICT_KEYS`);
* outside a transaction each statement borrows a connection (autocommit) and gives it back, so threads
  and replicas read in parallel; ``BEGIN`` pins one connection to the calling thread until ``COMMIT`` or
  ``ROLLBACK``;
* each store lives in its own PostgreSQL schema (``search_path``), so archive and state may share one
  database; migrations are numbered, recorded in ``<schema>.schema_version`` and run under an advisory
  lock, so replicas starting together migrate once.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from bot.config import is_database_url, redact_url
from bot.storage.sqlitedb import StoreError

__all__ = ["CONFLICT_KEYS", "PgDatabase", "PgMigration", "Result", "is_database_url", "redact_url", "translate"]

PgMigration = Callable[["PgDatabase"], None]

#: The key of every table written with ``INSERT OR REPLACE`` (the upsert's conflict target).
CONFLICT_KEYS: dict[str, tuple[str, ...]] = {
    "meta": ("key",),
    "files": ("path",),
    "questions": ("id",),
    "pages": ("question_id", "page_no", "source"),
    "learn_shown": ("qcheck",),
    "learn_choices": ("user_hash", "query"),
}

_REPLACE = re.compile(r"^\s*INSERT\s+OR\s+REPLACE\s+INTO\s+(\w+)\s*\(([^)]*)\)", re.IGNORECASE)
_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO", re.IGNORECASE)


def translate(sql: str) -> str:
    """One statement of the SQLite dialect used by the stores, in PostgreSQL's."""
    out = sql.replace("%", "%%").replace("?", "%s")
    replace = _REPLACE.match(out)
    if replace:
        table, columns = replace.group(1), [c.strip() for c in replace.group(2).split(",")]
        keys = CONFLICT_KEYS[table]
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in keys)
        out = _REPLACE.sub(f"INSERT INTO {table}({', '.join(columns)})", out, count=1)
        out += f" ON CONFLICT ({', '.join(keys)}) " + (f"DO UPDATE SET {updates}" if updates else "DO NOTHING")
    elif _IGNORE.match(out):
        out = _IGNORE.sub("INSERT INTO", out, count=1) + " ON CONFLICT DO NOTHING"
    return out


class Result:
    """The rows of one statement, fetched at once (the connection is back in the pool already)."""

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._next = self._rows[self._next:], len(self._rows)
        return rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())


class PgDatabase:
    """A pool of connections to one PostgreSQL database, working in one schema."""

    def __init__(self, url: str, schema: str, *, what: str, max_size: int = 8, timeout: float = 10.0) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
            raise ValueError(f"bad schema name {schema!r}")
        self.url = url
        self.label = redact_url(url)
        self.schema = schema
        self.what = what
        self._local = threading.local()
        self._sql: dict[str, str] = {}
        try:  # fail fast on a wrong address (the pool would keep retrying until its time-out)
            psycopg.connect(url, connect_timeout=max(1, int(timeout)), options=f"-c search_path={schema}").close()
        except psycopg.Error as exc:
            raise StoreError(f"{self.label}: cannot connect to the {what} ({_first_line(exc)})") from None
        self._pool = ConnectionPool(
            url, min_size=1, max_size=max_size, timeout=timeout, open=False, name=f"archive-bot-{schema}",
            kwargs={"autocommit": True, "options": f"-c search_path={schema}"},
        )
        try:
            self._pool.open(wait=True, timeout=timeout)
        except (PoolTimeout, psycopg.Error) as exc:
            self._pool.close()
            raise StoreError(f"{self.label}: cannot connect to the {what} ({_first_line(exc)})") from None

    def close(self) -> None:
        self._pool.close()

    # -- statements --------------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """Run one statement (SQLite dialect); ``BEGIN…``, ``COMMIT`` and ``ROLLBACK`` pin a connection."""
        word = sql.lstrip()[:8].upper()
        if word.startswith("BEGIN"):
            self._begin()
            return Result([], -1)
        if word.startswith(("COMMIT", "ROLLBACK")):
            self._end(word.split()[0])
            return Result([], -1)
        return self._run(lambda cur: cur.execute(self._translated(sql), tuple(params)))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Result:
        batch = [tuple(r) for r in rows]
        if not batch:
            return Result([], 0)
        return self._run(lambda cur: cur.executemany(self._translated(sql), batch))

    def execute_native(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """Run PostgreSQL SQL as it is (``%s`` placeholders)."""
        return self._run(lambda cur: cur.execute(sql, tuple(params)))

    @property
    def in_transaction(self) -> bool:
        return getattr(self._local, "conn", None) is not None

    def _translated(self, sql: str) -> str:
        out = self._sql.get(sql)
        if out is None:
            out = self._sql[sql] = translate(sql)
        return out

    def _run(self, work: Callable[[psycopg.Cursor[Any]], object]) -> Result:
        pinned = getattr(self._local, "conn", None)
        try:
            if pinned is not None:
                return _collect(pinned, work)
            with self._pool.connection() as conn:
                return _collect(conn, work)
        except psycopg.OperationalError as exc:
            raise StoreError(f"{self.label}: the {self.what} failed ({_first_line(exc)})") from None
        except PoolTimeout as exc:
            raise StoreError(f"{self.label}: no connection to the {self.what} ({exc})") from None

    def _begin(self) -> None:
        if self.in_transaction:
            raise StoreError(f"{self.label}: nested transaction")
        try:
            conn = self._pool.getconn()
        except PoolTimeout as exc:
            raise StoreError(f"{self.label}: no connection to the {self.what} ({exc})") from None
        try:
            conn.execute("BEGIN")
        except psycopg.Error as exc:
            self._pool.putconn(conn)
            raise StoreError(f"{self.label}: cannot begin a transaction ({_first_line(exc)})") from None
        self._local.conn = conn

    def _end(self, verb: str) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        try:
            conn.execute(verb)
        except psycopg.Error as exc:
            if verb == "COMMIT":
                raise StoreError(f"{self.label}: cannot write the {self.what} ({_first_line(exc)})") from None
        finally:
            self._pool.putconn(conn)

    # -- schema ------------------------------------------------------------------------------

    def version(self) -> int:
        row = self.execute_native(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'schema_version'",
            (self.schema,),
        ).fetchone()
        if row is None:
            return 0
        got = self.execute_native(f"SELECT max(version) FROM {self.schema}.schema_version").fetchone()
        return int(got[0] or 0) if got else 0

    def migrate(self, migrations: Sequence[PgMigration], *, create: bool = True) -> None:
        """Bring the schema to ``len(migrations)``, each numbered step in its own transaction, once
        across processes (advisory lock). Raises :class:`StoreError` for a newer schema, or a missing
        one when not ``create``."""
        target = len(migrations)
        version = self.version()
        if version > target:
            raise StoreError(f"{self.label}: made by a newer archive-bot (schema {version} > {target}); "
                             "upgrade archive-bot")
        if version == 0 and not create:
            raise StoreError(f"{self.label}: the {self.what} does not exist (run `archive-bot ingest` first)")
        if version == target:
            return
        self.execute("BEGIN")
        try:
            self.execute_native("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"archive-bot:{self.schema}",))
            self.execute_native(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            self.execute_native(f"CREATE TABLE IF NOT EXISTS {self.schema}.schema_version"
                                " (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            got = self.execute_native(f"SELECT max(version) FROM {self.schema}.schema_version").fetchone()
            version = int(got[0] or 0) if got else 0
            for number in range(version + 1, target + 1):
                migrations[number - 1](self)
                self.execute_native(f"INSERT INTO {self.schema}.schema_version(version) VALUES (%s)", (number,))
        except BaseException:
            self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    @classmethod
    def open_migrated(
        cls, url: str, schema: str, migrations: Sequence[PgMigration], *, what: str, create: bool = True
    ) -> PgDatabase:
        """A pool on ``url`` whose ``schema`` is migrated to ``len(migrations)``; closed again on failure."""
        db = cls(url, schema, what=what)
        try:
            db.migrate(migrations, create=create)
        except BaseException:
            db.close()
            raise
        return db

    def run_script(self, sql: str) -> None:
        """Several PostgreSQL statements separated by ``;`` (inside the caller's transaction)."""
        for statement in sql.split(";"):
            if statement.strip():
                self.execute_native(statement)


def _collect(conn: psycopg.Connection[Any], work: Callable[[psycopg.Cursor[Any]], object]) -> Result:
    with conn.cursor() as cur:
        work(cur)
        rows = cur.fetchall() if cur.description is not None else []
        return Result(rows, cur.rowcount)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
