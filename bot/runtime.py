"""The composition root of the service: everything built from the config, then run."""

from __future__ import annotations

import asyncio
import logging
import sys

from bot.answerer import Answerer, archive_fingerprint, open_matcher_with_fingerprint
from bot.archive.reader import default_jobs
from bot.config import Config
from bot.logs import setup_logging
from bot.search.matcher import Matcher
from bot.storage.backends import open_state, open_store
from bot.storage.ingest import ingest
from bot.storage.store import Store, StoreError
from bot.telegram.app import EXIT_FAILURE, build_application, serve
from bot.telegram.context import Services, UserRateLimit
from bot.ui.render import Renderer
from bot.ui.reply import RenderSettings, traditional_converter

log = logging.getLogger("bot.runtime")


def ensure_archive(cfg: Config, store: Store, *, quiet: bool = True) -> tuple[set[str], str] | None:
    """With ``archive.ingest_on_start``, ingest the configured paths (cheap when nothing changed).  Returns
    the ids of the questions it changed and the store's fingerprint before, so the saved index is updated
    for them instead of rebuilt (None when nothing was ingested)."""
    if cfg.archive.ingest_on_start and cfg.archive.paths:
        previous = store.fingerprint()
        report = ingest(store, cfg.archive.paths, jobs=default_jobs())
        if not quiet or report.skipped:
            logging.getLogger("bot.storage.ingest").info(
                "ingested %s: %d pages, %d skipped", ", ".join(cfg.archive.paths), report.pages, len(report.skipped)
            )
        return set(report.changed_ids), previous
    return None


def open_services(cfg: Config, *, matcher: Matcher | None = None) -> Services:
    """Open the stores and load the index (initialising jieba). Raises StoreError naming a file.

    ``matcher`` skips loading the index: for tests that share one across many stores.
    """
    store = open_store(cfg.archive.db, create=cfg.archive.ingest_on_start)
    try:
        change = ensure_archive(cfg, store, quiet=False)
        state = open_state(cfg.archive.state_path)
    except BaseException:
        store.close()
        raise
    if matcher is None:
        changed, previous = change if change is not None else (None, None)
        matcher, fingerprint = open_matcher_with_fingerprint(cfg, store, state=state, changed=changed,
                                                             previous=previous)
    else:
        fingerprint = archive_fingerprint(cfg, store, state)
    return Services(
        config=cfg,
        store=store,
        state=state,
        answerer=Answerer(store, matcher, fingerprint),
        renderer=Renderer(RenderSettings.from_config(cfg), converter=traditional_converter()),
        limiter=UserRateLimit(cfg.rate_limit.per_minute),
        inline_limiter=UserRateLimit(cfg.rate_limit.inline_per_minute),
    )


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
