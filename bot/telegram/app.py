"""The PTB Application: built from the config, started, and served until SIGTERM/SIGINT.

Start-up order: the Bot API is contacted (getMe, retried while unreachable), commands are
registered, then updates are taken (polling or webhook). SIGHUP reloads the archive, as does an
admin's /reload and a change noticed by the periodic check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from telegram.error import Forbidden, InvalidToken, NetworkError, TimedOut
from telegram.ext import Application, ApplicationBuilder

from bot.config import Config
from bot.logs import quiet_http_loggers
from bot.telegram.context import Services
from bot.telegram.delivery import RetryingRateLimiter, poll, sleep_or_stop, unless_stopped
from bot.telegram.handlers import register, set_commands
from bot.telegram.webhook import run_webhook
from bot.ui.render import Renderer
from bot.ui.reply import RenderSettings

log = logging.getLogger("bot.telegram.app")
EXIT_OK = 0
EXIT_FAILURE = 1


def build_application(cfg: Config, services: Services) -> Application:
    """One PTB Application from the config, with handlers registered and no Updater (we poll)."""
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
        .build()
    )
    app.bot_data["services"] = services
    register(app)
    return app


async def watch_archive(services: Services, stop: asyncio.Event) -> None:
    """Reload when the archive's fingerprint changes (an ingest finished)."""
    interval = services.config.archive.reload_interval
    if interval <= 0:
        return
    while not stop.is_set():
        await sleep_or_stop(stop, interval)
        if stop.is_set():
            break
        try:
            await services.reload()
            services.state.prune_handled()
        except Exception:  # a bad reload must never stop the bot: it keeps the old archive
            log.exception("reload failed, still serving the previous archive")


async def start_bot(app: Application, services: Services, stop: asyncio.Event) -> bool:
    """Initialise the Application (getMe), retrying while the Bot API is unreachable."""
    backoff = 1.0
    while not stop.is_set():
        try:
            await unless_stopped(app.initialize(), stop)
            break
        except (InvalidToken, Forbidden):
            log.error("telegram.token was rejected by the Bot API (Unauthorized); check the token")
            return False
        except (NetworkError, TimedOut) as exc:
            log.warning("Bot API not reachable (%s: %s); retrying in %.0fs", type(exc).__name__, exc.message, backoff)
            await sleep_or_stop(stop, backoff)
            backoff = min(backoff * 2, 60.0)
    if stop.is_set():
        return False
    services.renderer = Renderer(RenderSettings.from_config(services.config, app.bot.username),
                                 converter=services.renderer.converter)
    await app.start()
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
                await run_webhook(app, services, stop)
            else:
                await poll(app, services, stop)
        finally:
            stop.set()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
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
    except Exception:
        log.exception("reload failed, still serving the previous archive")
