"""Shared fixtures (asyncio mode ``auto`` is configured in pyproject.toml)."""

from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack

import pytest
import pytest_asyncio

from bot.search.matcher import Matcher
from bot.storage.ingest import ingest
from bot.storage.store import Store
from tests.fakebotapi import FakeBotAPI
from tests.harness import SAMPLE
from tests.pg import fresh_database, server_url

FAKE_TOKEN = "123456:TEST-TOKEN"


@pytest_asyncio.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    """A started fake Bot API on 127.0.0.1 for token ``FAKE_TOKEN``; stopped afterwards."""
    async with FakeBotAPI(token=FAKE_TOKEN) as api:
        yield api


@pytest.fixture(scope="session")
def sample_store_counts(tmp_path_factory) -> tuple[int, int]:
    """(questions, page files) of the bundled sample archive, read from a store ingested from it."""
    store = Store.open(str(tmp_path_factory.mktemp("counts") / "a.db"))
    report = ingest(store, [str(SAMPLE)])
    questions = store.counts().questions
    store.close()
    return questions, report.files


@pytest.fixture(scope="session")
def sample_matcher(tmp_path_factory) -> Matcher:
    """One matcher over the sample archive, shared (building one initialises jieba: ~1 s)."""
    store = Store.open(str(tmp_path_factory.mktemp("m") / "a.db"))
    ingest(store, [str(SAMPLE)])
    matcher = Matcher.from_titles(store.iter_titles())
    store.close()
    return matcher


class Backend:
    """Where a test's stores live: SQLite files under ``tmp_path``, or fresh PostgreSQL databases."""

    def __init__(self, name: str, tmp_path, stack: ExitStack) -> None:
        self.name = name
        self._tmp = tmp_path
        self._stack = stack
        self._urls: dict[str, str] = {}

    def location(self, name: str) -> str:
        """The path (SQLite) or URL (PostgreSQL: one database per name) to open a store at."""
        if self.name == "sqlite":
            return str(self._tmp / name)
        if name not in self._urls:
            self._urls[name] = self._stack.enter_context(fresh_database(server_url()))
        return self._urls[name]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path) -> Iterator[Backend]:
    """Run the test once on each backend (PostgreSQL: skipped without a server, failed under CI)."""
    if request.param == "postgres":
        server_url()
    with ExitStack() as stack:
        yield Backend(request.param, tmp_path, stack)
