"""One way to open the stores: an SQLite file path (the embedded default) or a ``postgresql://`` URL.

The PostgreSQL modules are imported only for a URL: psycopg takes ~0.1 s to import, paid otherwise by every
command of an SQLite archive."""

from __future__ import annotations

import os

from bot.config import is_database_url
from bot.storage.state import StateStore
from bot.storage.store import Store

__all__ = ["is_database_url", "open_state", "open_store", "state_exists"]


def open_store(url_or_path: str, *, create: bool = True) -> Store:
    """The archive store at an SQLite path or a PostgreSQL URL. Raises StoreError naming it."""
    if is_database_url(url_or_path):
        from bot.storage.pg_store import PgStore

        return PgStore.open(url_or_path, create=create)
    return Store.open(url_or_path, create=create)


def open_state(url_or_path: str, *, create: bool = True) -> StateStore:
    """The bot's state store at an SQLite path or a PostgreSQL URL. Raises StoreError naming it."""
    if is_database_url(url_or_path):
        from bot.storage.pg_state import PgStateStore

        return PgStateStore.open(url_or_path, create=create)
    return StateStore.open(url_or_path, create=create)


def state_exists(url_or_path: str) -> bool:
    """Whether there may be a state to read (a URL always may; a path when the file exists)."""
    return is_database_url(url_or_path) or os.path.exists(url_or_path)
