"""Issue 10 item 9: reload failures and errors of cut-short tasks are logged, never swallowed."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import SimpleNamespace

from bot.telegram.app import _reload_logged, watch_archive
from bot.telegram.delivery import unless_stopped

TELEGRAM = Path(__file__).parent.parent / "bot" / "telegram"


async def failing_reload(**_: object) -> bool:
    raise RuntimeError("index file unreadable")


async def test_a_failed_reload_is_logged_with_its_exception(caplog):
    services = SimpleNamespace(reload=failing_reload,
                               config=SimpleNamespace(archive=SimpleNamespace(reload_interval=0.01)))
    await _reload_logged(services)
    stop = asyncio.Event()
    watcher = asyncio.ensure_future(watch_archive(services, stop))
    await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(watcher, 5)
    failures = [r for r in caplog.records if "reload failed" in r.getMessage()]
    assert len(failures) >= 2
    assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in failures)


async def test_an_error_of_a_call_cut_short_by_the_stop_is_logged(caplog):
    caplog.set_level(logging.WARNING)

    async def call() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed") from None

    stop = asyncio.Event()
    stop.set()
    assert await unless_stopped(call(), stop) is None
    assert "cleanup failed" in caplog.text


def test_no_suppress_base_exception_in_the_telegram_layer():
    offenders = [p.name for p in TELEGRAM.glob("*.py") if "suppress(BaseException)" in p.read_text(encoding="utf-8")]
    assert offenders == []
