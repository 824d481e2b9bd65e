"""Getting updates in and replies out: retries of failed sends, per-chat ordering, the poll loop.

Updates are acknowledged to Telegram only after they were recorded in the state store's inbox
(our own poll loop, not PTB's Updater, which acknowledges on fetch), and the ids of handled
updates are kept, so a crash neither loses nor repeats a reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import httpx
from telegram import Bot, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter, Application

from bot.telegram.context import Services

log = logging.getLogger("bot.telegram.delivery")
T = TypeVar("T")


def may_have_been_delivered(exc: NetworkError) -> bool:
    """A read/write time-out: the request reached Telegram, which may have carried it out."""
    cause = exc.__cause__
    return isinstance(exc, TimedOut) and isinstance(cause, httpx.TimeoutException) and not isinstance(
        cause, (httpx.ConnectTimeout, httpx.PoolTimeout)
    )


class RetryingRateLimiter(AIORateLimiter):
    """PTB's flood control (429 ``retry_after``) plus retries of 5xx, time-outs and dropped connections.

    ``AIORateLimiter`` retries only 429s; a send failing otherwise would be lost. Bad requests
    (400), forbidden (403) and conflicts are not retried: trying again cannot help. Delivery is
    *at least once*: a send that timed out is repeated too (bounded, with back-off), although
    Telegram may have carried it out before the response was lost; a rare duplicate is better than
    a person left without an answer.
    """

    def __init__(self, *, network_retries: int, base_delay: float = 0.5, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._network_retries = network_retries
        self._base_delay = base_delay

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        delay = self._base_delay
        for attempt in range(self._network_retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except (BadRequest, Forbidden, InvalidToken, Conflict, RetryAfter):
                raise
            except NetworkError as exc:  # includes TimedOut, 5xx and dropped connections
                if attempt >= self._network_retries:
                    raise
                log.warning("%s failed (%s: %s); retry %d of %d in %.1fs%s", endpoint, type(exc).__name__,
                            exc.message, attempt + 1, self._network_retries, delay,
                            " (it may have been carried out: at least once)" if may_have_been_delivered(exc) else "")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        raise AssertionError("unreachable")


def describe_raw(data: object) -> str:
    """What may be logged of a raw update: its update_id and top-level keys, never its content."""
    if not isinstance(data, dict):
        return f"update=? (a {type(data).__name__}, not an object)"
    return f"update={data.get('update_id')!r} keys={sorted(str(k) for k in data)}"


def parse_update(data: object, bot: Bot) -> Update | None:
    """One raw update as an :class:`Update`, or None (logged without its content) if PTB cannot parse it."""
    try:
        if not isinstance(data, dict) or not is_update_id(data.get("update_id")):
            raise ValueError("no valid update_id")
        update = Update.de_json(data, bot)
    except Exception as exc:  # TypeError, KeyError, ValueError…: one bad update must not stop the bot
        log.warning("%s could not be parsed (%s); skipped", describe_raw(data), type(exc).__name__)
        return None
    return update


MAX_UPDATE_ID = 2**63 - 1


def is_update_id(value: object) -> bool:
    """An integer update_id that fits the state store (SQLite INTEGER)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_UPDATE_ID


async def fetch_raw_updates(bot: Bot, *, offset: int | None, timeout: int, limit: int | None = None) -> list[object]:
    """``getUpdates`` without parsing: the raw list, so one update PTB cannot parse is skipped alone.

    ``Bot.get_updates`` parses the whole batch at once and raises on the first bad update (with the
    batch, user text and all, in a CRITICAL log line); this makes the same request through
    ``Bot._post`` (the call ``get_updates`` itself makes, with the same getUpdates timeouts).
    """
    result = await bot._post(
        "getUpdates",
        {"offset": offset, "timeout": timeout, "limit": limit, "allowed_updates": list(Update.ALL_TYPES)},
    )
    return list(result) if isinstance(result, list) else []


class ChatSerializer:
    """Updates of one chat are handled in order; different chats run concurrently."""

    def __init__(self, limit: int) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}
        self._slots = asyncio.Semaphore(limit)

    async def run(self, chat_id: int | None, work: Callable[[], Awaitable[None]]) -> None:
        if chat_id is None:
            async with self._slots:
                await work()
            return
        lock, users = self._locks.get(chat_id, (asyncio.Lock(), 0))
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock, self._slots:
                await work()
        finally:
            lock, users = self._locks[chat_id]
            if users <= 1:
                del self._locks[chat_id]
            else:
                self._locks[chat_id] = (lock, users - 1)


async def handle_update(app: Application, services: Services, update: Update) -> None:
    """Process one update unless it was handled before (a redelivery after a crash)."""
    if services.state.was_handled(update.update_id):
        log.info("update=%d repeated (already handled); skipped", update.update_id)
        services.state.mark_handled(update.update_id)
        return
    await app.process_update(update)
    services.state.mark_handled(update.update_id)


def _order_key(update: Update) -> int | None:
    chat, user = update.effective_chat, update.effective_user
    return chat.id if chat else (user.id if user else None)


async def handle_batch(app: Application, services: Services, serializer: ChatSerializer,
                       updates: Iterable[Update]) -> None:
    """Handle updates: per chat in order, chats concurrently; returns when all are done."""
    await asyncio.gather(*(
        serializer.run(_order_key(u), lambda u=u: handle_update(app, services, u)) for u in updates
    ))


class Dispatcher:
    """Runs updates as tasks (per chat in order) and keeps count of those in flight."""

    def __init__(self, app: Application, services: Services) -> None:
        self._app = app
        self._services = services
        self._serializer = ChatSerializer(services.config.telegram.concurrent_updates)
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self._tasks)

    def dispatch(self, update: Update) -> None:
        task = asyncio.ensure_future(self._serializer.run(_order_key(update), lambda: self._run(update)))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    async def _run(self, update: Update) -> None:
        try:
            await handle_update(self._app, self._services, update)
        except Exception:  # process_update reports handler errors itself; this is the state store failing
            log.exception("update=%d could not be recorded as handled", update.update_id)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._changed.set()

    async def wait_below(self, limit: int) -> None:
        """Back-pressure: return once fewer than ``limit`` updates are in flight."""
        while len(self._tasks) >= limit:
            self._changed.clear()
            await self._changed.wait()

    async def drain(self, timeout: float) -> None:
        """Let the updates in flight finish (shutdown); those cut off stay in the inbox for next time."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)


async def poll(app: Application, services: Services, stop: asyncio.Event) -> None:
    """Long-poll getUpdates into a durable inbox; handle each update as it comes.

    A fetched batch is written to the state store's inbox *before* the next getUpdates
    acknowledges it, and leaves the inbox once handled: a crash loses nothing (the inbox is
    replayed at start) and a slow reply to one user never holds up the others.
    """
    tg = services.config.telegram
    state = services.state
    dispatcher = Dispatcher(app, services)
    max_in_flight = max(64, 8 * tg.concurrent_updates)
    offset: int | None = None
    backoff = 0.2
    await app.bot.delete_webhook(drop_pending_updates=False)
    replay_inbox(app, services, dispatcher)
    while not stop.is_set():
        await dispatcher.wait_below(max_in_flight)
        try:
            raw = await unless_stopped(fetch_raw_updates(app.bot, offset=offset, timeout=tg.poll_timeout), stop)
            if raw is None:
                break
        except (InvalidToken, Forbidden):
            raise
        except Conflict as exc:
            log.error("getUpdates conflict (another instance polling, or a webhook is set): %s", exc.message)
            await sleep_or_stop(stop, 5.0)
            continue
        except RetryAfter as exc:
            await sleep_or_stop(stop, _seconds(exc.retry_after))
            continue
        except (NetworkError, TimedOut) as exc:
            log.warning("getUpdates failed (%s: %s); retrying in %.1fs", type(exc).__name__, exc.message, backoff)
            await sleep_or_stop(stop, backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        backoff = 0.2
        ids = [d["update_id"] for d in raw if isinstance(d, dict) and is_update_id(d.get("update_id"))]
        updates = [u for u in (parse_update(d, app.bot) for d in raw) if u is not None]
        if updates:
            fresh = state.enqueue([(u.update_id, u.to_json()) for u in updates])
            for update in updates:
                if update.update_id in fresh:
                    dispatcher.dispatch(update)
                else:
                    log.info("update=%d repeated (already received); skipped", update.update_id)
        if ids:
            offset = max(ids) + 1  # acknowledges the skipped ones too
        elif raw:
            log.error("getUpdates returned %d update(s) without a usable update_id; cannot acknowledge them",
                      len(raw))
            await sleep_or_stop(stop, 5.0)
        if tg.poll_interval:
            await sleep_or_stop(stop, tg.poll_interval)
    await dispatcher.drain(timeout=10.0)
    if offset is not None:
        # Acknowledge what was fetched (it is in the inbox), so a restart does not fetch it again.
        # Raw, so an unparsable update next in line cannot log a batch with user text (PTB's CRITICAL line).
        with contextlib.suppress(Exception):
            await fetch_raw_updates(app.bot, offset=offset, timeout=0, limit=1)


def replay_inbox(app: Application, services: Services, dispatcher: Dispatcher) -> None:
    """Handle updates received before the last stop; one that no longer parses is dropped from the inbox."""
    leftovers = services.state.inbox()
    if leftovers:
        log.info("replaying %d update(s) received before the last stop", len(leftovers))
    for data in leftovers:
        update = parse_update(data, app.bot)
        if update is not None:
            dispatcher.dispatch(update)
        elif isinstance(data, dict) and is_update_id(data.get("update_id")):
            services.state.mark_handled(data["update_id"])


async def unless_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """``await work``, unless ``stop`` is set first: then cancel it and return None."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if task in done:
        return task.result()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception as exc:  # it failed while being stopped: say so, the stop goes on
        log.warning("a call cut short by the stop failed: %s: %s", type(exc).__name__, exc)
    return None


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def _seconds(value: float | datetime.timedelta) -> float:
    """``RetryAfter.retry_after`` in seconds (an int today, a timedelta in a later PTB)."""
    return value.total_seconds() if isinstance(value, datetime.timedelta) else float(value)
