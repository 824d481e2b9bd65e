"""Consistent copies of the SQLite files while the bot and an ingest keep using them."""

from __future__ import annotations

import contextlib
import os
import sqlite3

from bot.storage.sqlitedb import StoreError


def backup_file(source: str, dest: str) -> int:
    """Copy the SQLite database ``source`` to ``dest`` with SQLite's online backup API; return its size.

    The copy is one consistent snapshot (a reader's view: committed data only, even while another
    process writes); it is checked (``PRAGMA integrity_check``) under a temporary name and renamed into
    place, so ``dest`` is never half written. Raises :class:`StoreError` naming the file.
    """
    if not os.path.isfile(source):
        raise StoreError(f"{source}: no such database to back up")
    tmp = f"{dest}.tmp-{os.getpid()}"
    src: sqlite3.Connection | None = None
    out: sqlite3.Connection | None = None
    try:
        src = sqlite3.connect(source, timeout=30)
        src.execute("PRAGMA busy_timeout = 30000")
        out = sqlite3.connect(tmp)
        src.backup(out)
        check = out.execute("PRAGMA integrity_check").fetchone()
        if check is None or check[0] != "ok":
            raise StoreError(f"{source}: the copy failed its integrity check ({check[0] if check else '?'})")
        out.close()
        out = None
        os.replace(tmp, dest)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{source}: backup to {dest} failed ({exc})") from None
    except OSError as exc:
        raise StoreError(f"{dest}: cannot write the backup ({exc.strerror})") from None
    finally:
        for conn in (out, src):
            if conn is not None:
                conn.close()
        for leftover in (tmp, tmp + "-wal", tmp + "-shm"):
            with contextlib.suppress(OSError):
                os.remove(leftover)
    return os.path.getsize(dest)
