"""Shared fixtures (asyncio mode ``auto`` is configured in pyproject.toml)."""

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.fakebotapi import FakeBotAPI

FAKE_TOKEN = "123456:TEST-TOKEN"


@pytest_asyncio.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    """A started fake Bot API on 127.0.0.1 for token ``FAKE_TOKEN``; stopped afterwards."""
    async with FakeBotAPI(token=FAKE_TOKEN) as api:
        yield api
