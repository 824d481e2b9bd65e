"""What the handlers work with: the services built from the config, and the per-user rate limit.

No Telegram types here; the handlers find a :class:`Services` in ``application.bot_data``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.answerer import Answerer, archive_fingerprint, open_matcher_with_fingerprint
from bot.config import Config
from bot.storage.backends import open_store
from bot.storage.state import StateStore
from bot.storage.store import Store
from bot.ui.render import Renderer

log = logging.getLogger("bot.telegram")


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
    """The budget of everything that runs a match: typed questions, /ask, buttons that search or page."""
    inline_limiter: UserRateLimit = field(default_factory=lambda: UserRateLimit(120))
    """Inline-mode keystrokes: a separate, larger budget (``rate_limit.inline_per_minute``)."""
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    started: float = field(default_factory=time.time)
    last_reload: float = field(default_factory=time.time)

    def close(self) -> None:
        self.store.close()
        self.state.close()

    async def reload(self, *, force: bool = False) -> bool:
        """Swap in a new index when the archive changed (or when forced). True if swapped."""
        async with self.reload_lock:
            current = archive_fingerprint(self.config, self.store, self.state)  # archive + accepted rewordings
            if not force and current == self.answerer.matcher_fingerprint:
                return False
            cfg = self.config
            matcher, fingerprint = await asyncio.to_thread(reopen_matcher, cfg)
            self.answerer = Answerer(self.store, matcher, fingerprint)
            self.last_reload = time.time()
            log.info("archive reloaded: %d questions", len(matcher))
            return True


def reopen_matcher(cfg: Config):
    """Open a private read connection and load (or build) the matcher for the current archive."""
    store = open_store(cfg.archive.db, create=False)
    try:
        return open_matcher_with_fingerprint(cfg, store)
    finally:
        store.close()
