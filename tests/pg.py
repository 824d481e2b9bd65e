"""A PostgreSQL server for the tests: ``ARCHIVE_BOT_TEST_PG`` (a ``postgresql://`` URL to a database
whose user may create databases). Unset: the PostgreSQL tests are skipped, except under ``CI=true``,
where they fail (``.ci/run`` starts a throwaway server and sets the variable)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ENV = "ARCHIVE_BOT_TEST_PG"


def server_url() -> str:
    """The test server's URL; skips (fails under CI) when there is none or it does not answer."""
    url = os.environ.get(ENV, "")
    problem = "" if url else f"{ENV} is not set"
    if url:
        try:
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.Error as exc:
            problem = f"{ENV}: the server does not answer ({exc})"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI: {problem}", pytrace=False)
        pytest.skip(f"no PostgreSQL: {problem}")
    return url


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new empty database on the server of ``url``, dropped afterwards; yields its URL."""
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield urlunsplit(urlsplit(url)._replace(path="/" + name))
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
