"""The long-lived service: build everything from the config, then poll or serve a webhook.

Start-up order: store and state opened, index loaded (or built) and jieba initialised, then the
Bot API is contacted; only then are updates taken. Updates are acknowledged to Telegram only
after they were handled (our own poll loop, not PTB's Updater, which acknowledges on fetch), and
the ids of handled updates are kept in the state store, so a crash neither loses nor repeats a
reply. SIGTERM/SIGINT finish the updates in flight and close the stores; SIGHUP reloads the
archive (as does an admin's /reload, and a change noticed by the periodic check).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
from telegram import Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from bot.answerer import Answerer, load_matcher, matcher_settings
from bot.config import Config
from bot.ingest import ingest
from bot.matcher import Matcher
from bot.render import Renderer, RenderSettings
from bot.state import StateStore
from bot.store import Store, StoreError

log = logging.getLogger("bot.service")
T = TypeVar("T")
EXIT_OK = 0
EXIT_FAILURE = 1


# -- logging -------------------------------------------------------------------------------


class RedactFilter(logging.Filter):
    """Replace secrets (the bot token) wherever they would appear in a log record."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s and len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        cleaned = message
        for secret in self._secrets:
            cleaned = cleaned.replace(secret, "<token>")
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            for secret in self._secrets:
                record.exc_text = record.exc_text.replace(secret, "<token>")
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {"ts": round(record.created, 3), "level": record.levelname, "logger": record.name,
                   "msg": record.getMessage()}
        if record.exc_info or record.exc_text:
            payload["exc"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(payload, ensure_ascii=False)


def setup_logging(cfg: Config, stream=None) -> logging.Handler:
    """Configure the root logger; the token is redacted from every record."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if cfg.logging.json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactFilter([cfg.telegram.token]))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(cfg.logging.level)
    quiet_http_loggers()
    return handler


def quiet_http_loggers() -> None:
    """httpx logs every request URL at INFO, and the URL carries the token: keep it at WARNING."""
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# -- sending with retries ------------------------------------------------------------------


# Methods whose repetition would show the user something twice.
NOT_IDEMPOTENT = frozenset({"sendMessage", "sendPhoto", "sendDocument", "forwardMessage", "copyMessage"})


def may_have_been_delivered(exc: NetworkError) -> bool:
    """A read/write time-out: the request reached Telegram, which may have carried it out."""
    cause = exc.__cause__
    return isinstance(exc, TimedOut) and isinstance(cause, httpx.TimeoutException) and not isinstance(
        cause, (httpx.ConnectTimeout, httpx.PoolTimeout)
    )


class RetryingRateLimiter(AIORateLimiter):
    """PTB's flood control (429 ``retry_after``) plus retries of 5xx, time-outs and dropped connections.

    ``AIORateLimiter`` retries only 429s; a send failing otherwise would be lost. Bad requests
    (400), forbidden (403) and conflicts are not retried: trying again cannot help. A send that
    timed out *after* it was written is not repeated either: Telegram may have delivered it, and a
    duplicate answer is worse than a late one (the user can ask again; the log says so).
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
                if endpoint in NOT_IDEMPOTENT and may_have_been_delivered(exc):
                    log.warning("%s timed out after it was sent; not repeated (it may have been delivered)",
                                endpoint)
                    raise
                log.warning("%s failed (%s: %s); retry %d of %d in %.1fs", endpoint, type(exc).__name__,
                            exc.message, attempt + 1, self._network_retries, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        raise AssertionError("unreachable")


# -- the services handlers use ------------------------------------------------------------


class UserRateLimit:
    """Sliding one-minute window of questions per user."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._prune_at = 10_000

    def allow(self, user_id: int) -> bool:
        now = self._clock()
        window = self._seen.setdefault(user_id, deque())
        while window and now - window[0] >= 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        if len(self._seen) > self._prune_at:  # forget idle users so memory stays flat over months
            for uid in [u for u, w in self._seen.items() if not w or now - w[-1] >= 60]:
                del self._seen[uid]
            self._prune_at = max(10_000, 2 * len(self._seen))
        return True


@dataclass
class Services:
    """Everything the handlers need, built from the config. Kept in ``application.bot_data``."""

    config: Config
    store: Store
    state: StateStore
    answerer: Answerer
    renderer: Renderer
    limiter: UserRateLimit
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    started: float = field(default_factory=time.time)
    last_reload: float = field(default_factory=time.time)

    def close(self) -> None:
        self.store.close()
        self.state.close()

    async def reload(self, *, force: bool = False) -> bool:
        """Swap in a new index when the archive changed (or when forced). True if swapped."""
        async with self.reload_lock:
            if not force and self.store.fingerprint() == self.answerer.matcher_fingerprint:
                return False
            cfg = self.config
            matcher, fingerprint = await asyncio.to_thread(build_matcher, cfg)
            self.answerer = Answerer(self.store, matcher, fingerprint)
            self.last_reload = time.time()
            log.info("archive reloaded: %d questions", len(matcher))
            return True


def build_matcher(cfg: Config):
    """Open a private read connection and load (or build) the matcher for the current archive."""
    store = Store.open(cfg.archive.db, create=False)
    try:
        fingerprint = store.fingerprint()
        matcher = load_matcher(store, cfg.archive.index_path, aliases=cfg.aliases,
                               settings=matcher_settings(cfg.matcher))
        return matcher, fingerprint
    finally:
        store.close()


def render_settings(cfg: Config, bot_username: str | None = None) -> RenderSettings:
    """The renderer's settings from the config."""
    return RenderSettings(
        answers_per_message=cfg.answers.per_message,
        answer_chars=cfg.answers.chars,
        url_template=cfg.site.url_template or None,
        bot_username=bot_username,
        max_related=cfg.answers.max_related,
        locale=cfg.locale,
    )


def ensure_archive(cfg: Config, store: Store, *, quiet: bool = True) -> None:
    """With ``archive.ingest_on_start``, ingest the configured paths (cheap when nothing changed)."""
    if cfg.archive.ingest_on_start and cfg.archive.paths:
        report = ingest(store, cfg.archive.paths)
        if not quiet or report.skipped:
            logging.getLogger("bot.ingest").info(
                "ingested %s: %d pages, %d skipped", ", ".join(cfg.archive.paths), report.pages, len(report.skipped)
            )


def open_services(cfg: Config, *, matcher: Matcher | None = None) -> Services:
    """Open the stores and load the index (initialising jieba). Raises StoreError naming a file.

    ``matcher`` skips loading the index: for tests that share one across many stores.
    """
    store = Store.open(cfg.archive.db, create=cfg.archive.ingest_on_start)
    try:
        ensure_archive(cfg, store, quiet=False)
        state = StateStore.open(cfg.archive.state_path)
    except BaseException:
        store.close()
        raise
    if matcher is None:
        matcher, fingerprint = build_matcher(cfg)
    else:
        fingerprint = store.fingerprint()
    return Services(
        config=cfg,
        store=store,
        state=state,
        answerer=Answerer(store, matcher, fingerprint),
        renderer=Renderer(render_settings(cfg)),
        limiter=UserRateLimit(cfg.rate_limit.per_minute),
    )


# -- the Application -----------------------------------------------------------------------


def build_application(cfg: Config, services: Services) -> Application:
    """One PTB Application from the config, with handlers registered and no Updater (we poll)."""
    from bot.handlers import register

    tg = cfg.telegram
    quiet_http_loggers()
    app = (
        ApplicationBuilder()
        .token(tg.token)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .updater(None)
        .rate_limiter(RetryingRateLimiter(
            network_retries=tg.max_retries, max_retries=tg.max_retries,
            overall_max_rate=tg.overall_max_rate, group_max_rate=tg.group_max_rate,
        ))
        .connect_timeout(tg.request_timeout)
        .read_timeout(tg.request_timeout)
        .write_timeout(tg.request_timeout)
        .pool_timeout(tg.request_timeout)
        .get_updates_connect_timeout(tg.request_timeout)
        .get_updates_read_timeout(tg.poll_timeout + tg.request_timeout)
        .concurrent_updates(tg.concurrent_updates)
        .build()
    )
    app.bot_data["services"] = services
    register(app)
    return app


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
        log.info("update=%d already handled; skipped", update.update_id)
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
    leftovers = [Update.de_json(data, app.bot) for data in state.inbox()]
    if leftovers:
        log.info("replaying %d update(s) received before the last stop", len(leftovers))
        for update in leftovers:
            dispatcher.dispatch(update)
    while not stop.is_set():
        await dispatcher.wait_below(max_in_flight)
        try:
            updates = await _unless_stopped(
                app.bot.get_updates(offset=offset, timeout=tg.poll_timeout, allowed_updates=Update.ALL_TYPES), stop
            )
            if updates is None:
                break
        except (InvalidToken, Forbidden):
            raise
        except Conflict as exc:
            log.error("getUpdates conflict (another instance polling, or a webhook is set): %s", exc.message)
            await _sleep_or_stop(stop, 5.0)
            continue
        except RetryAfter as exc:
            await _sleep_or_stop(stop, exc._retry_after.total_seconds())
            continue
        except (NetworkError, TimedOut) as exc:
            log.warning("getUpdates failed (%s: %s); retrying in %.1fs", type(exc).__name__, exc.message, backoff)
            await _sleep_or_stop(stop, backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        backoff = 0.2
        if updates:
            fresh = state.enqueue([(u.update_id, u.to_json()) for u in updates])
            for update in updates:
                if update.update_id in fresh:
                    dispatcher.dispatch(update)
            offset = updates[-1].update_id + 1
        if tg.poll_interval:
            await _sleep_or_stop(stop, tg.poll_interval)
    await dispatcher.drain(timeout=10.0)
    if offset is not None:
        # Acknowledge what was fetched (it is in the inbox), so a restart does not fetch it again.
        with contextlib.suppress(Exception):
            await app.bot.get_updates(offset=offset, timeout=0, limit=1)


async def _unless_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """``await work``, unless ``stop`` is set first: then cancel it and return None."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if task in done:
        return task.result()
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
    return None


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def watch_archive(services: Services, stop: asyncio.Event) -> None:
    """Reload when the archive's fingerprint changes (an ingest finished)."""
    interval = services.config.archive.reload_interval
    if interval <= 0:
        return
    while not stop.is_set():
        await _sleep_or_stop(stop, interval)
        if stop.is_set():
            break
        try:
            await services.reload()
            services.state.prune_handled()
        except Exception as exc:  # a bad reload must never stop the bot: it keeps the old archive
            log.error("reload failed, still serving the previous archive: %s", exc)


async def start_bot(app: Application, services: Services, stop: asyncio.Event) -> bool:
    """Initialise the Application (getMe), retrying while the Bot API is unreachable."""
    backoff = 1.0
    while not stop.is_set():
        try:
            await _unless_stopped(app.initialize(), stop)
            break
        except (InvalidToken, Forbidden):
            log.error("telegram.token was rejected by the Bot API (Unauthorized); check the token")
            return False
        except (NetworkError, TimedOut) as exc:
            log.warning("Bot API not reachable (%s: %s); retrying in %.0fs", type(exc).__name__, exc.message, backoff)
            await _sleep_or_stop(stop, backoff)
            backoff = min(backoff * 2, 60.0)
    if stop.is_set():
        return False
    services.renderer = Renderer(render_settings(services.config, app.bot.username))
    await app.start()
    from bot.handlers import set_commands

    try:
        await set_commands(app.bot)
    except NetworkError as exc:
        log.warning("setMyCommands failed (%s); the command menu may be out of date", exc.message)
    return True


async def serve(
    app: Application, services: Services, *, stop: asyncio.Event | None = None, signals: bool = True
) -> int:
    """Run until SIGTERM/SIGINT (or ``stop``): poll or serve the webhook; then shut down cleanly."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    with contextlib.suppress(NotImplementedError, RuntimeError):
        for sig in (signal.SIGTERM, signal.SIGINT) if signals else ():
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        if signals:
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(_reload_logged(services)))
            installed.append(signal.SIGHUP)
    try:
        if not await start_bot(app, services, stop):
            return EXIT_OK if stop.is_set() else EXIT_FAILURE
        log.info("bot @%s started (%s mode, %d questions)", app.bot.username, services.config.telegram.mode,
                 len(services.answerer.matcher))
        watcher = asyncio.ensure_future(watch_archive(services, stop))
        try:
            if services.config.telegram.mode == "webhook":
                from bot.webhook import run_webhook

                await run_webhook(app, services, stop)
            else:
                await poll(app, services, stop)
        finally:
            stop.set()
            watcher.cancel()
            with contextlib.suppress(BaseException):
                await watcher
        return EXIT_OK
    except (InvalidToken, Forbidden):
        log.error("telegram.token was rejected by the Bot API (Unauthorized); check the token")
        return EXIT_FAILURE
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        if app.running:
            await app.stop()
        with contextlib.suppress(Exception):
            await app.shutdown()
        log.info("bot stopped")


async def _reload_logged(services: Services) -> None:
    try:
        swapped = await services.reload(force=True)
        log.info("SIGHUP: archive %s", "reloaded" if swapped else "unchanged")
    except Exception as exc:
        log.error("reload failed, still serving the previous archive: %s", exc)


def run(cfg: Config) -> int:
    """``archive-bot run``: the whole service's life. Returns the process exit code."""
    setup_logging(cfg)
    try:
        services = open_services(cfg)
    except StoreError as exc:
        log.error("%s", exc)
        print(f"archive-bot: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        app = build_application(cfg, services)
        return asyncio.run(serve(app, services))
    finally:
        services.close()
