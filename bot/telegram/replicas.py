"""Several webhook replicas on one shared PostgreSQL state: record first, answer 200, handle from the inbox.

A replica that receives an update records it in the shared inbox (unique on ``update_id``) and only
then answers 200, so an update Telegram was told about is never lost with the replica. Every
replica runs a :class:`ReplicaWorker` that claims recorded updates (``FOR UPDATE SKIP LOCKED``, only
the oldest left of each chat, under a lease) and handles them: one chat's updates one at a time and
in order, whichever replica received them. A live replica renews the lease of what it holds every
third of the lease; a replica that dies leaves its claims behind, and once their lease has run out
another replica takes them over. An update already handled is skipped (the
handled-update ledger), so a redelivery is not answered twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from typing import Protocol

from telegram import Update
from telegram.ext import Application

from bot.storage.sqlitedb import StoreError
from bot.telegram.context import Services
from bot.telegram.delivery import handle_update, parse_update

log = logging.getLogger("bot.telegram.replicas")

#: Seconds between two looks at the inbox when nothing woke the worker (updates left by a dead replica).
IDLE_POLL = 0.5


class SharedInbox(Protocol):
    """What a state store shared by replicas offers (:class:`~bot.storage.pg_state.PgStateStore`)."""

    shared_inbox: bool

    def record_update(self, update_id: int, chat_key: int | None, payload: str) -> bool: ...
    def claim(self, replica: str, *, lease: float, limit: int) -> list[dict]: ...
    def renew(self, replica: str, *, lease: float) -> int: ...
    def release_all(self, replica: str) -> int: ...


def shares_inbox(services: Services) -> bool:
    """Whether this replica's state is shared with others (PostgreSQL): then updates go through the inbox."""
    return bool(getattr(services.state, "shared_inbox", False))


def replica_name(port: int) -> str:
    """This process's name in the inbox's ``claimed_by`` column."""
    return f"{socket.gethostname()}:{port}:{os.getpid()}"


def chat_key(update: Update) -> int | None:
    """The key that keeps updates in order: the chat, else the user; None when neither."""
    chat, user = update.effective_chat, update.effective_user
    return chat.id if chat else (user.id if user else None)


class ReplicaWorker:
    """Claims updates from the shared inbox and handles them, up to ``concurrent_updates`` at once."""

    def __init__(self, app: Application, services: Services, name: str) -> None:
        self._app = app
        self._services = services
        self._inbox: SharedInbox = services.state  # type: ignore[assignment]
        self.name = name
        self._lease = services.config.telegram.webhook.claim_lease
        self._limit = max(1, services.config.telegram.concurrent_updates)
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def record(self, data: dict, update: Update) -> bool:
        """Record a received update (before the 200); True if new. Raises StoreError when it cannot."""
        fresh = self._inbox.record_update(update.update_id, chat_key(update), json.dumps(data, ensure_ascii=False))
        self._wake.set()
        return fresh

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and handle until ``stop``; then let what runs finish and give back the rest."""
        loop = asyncio.get_running_loop()
        renew_at = loop.time() + self._lease / 3
        while not stop.is_set():
            self._wake.clear()
            if self._tasks and loop.time() >= renew_at:
                renew_at = loop.time() + self._lease / 3
                try:
                    self._inbox.renew(self.name, lease=self._lease)
                except StoreError as exc:
                    log.warning("claims not renewed: %s", exc)
            claimed = 0
            free = self._limit - len(self._tasks)
            if free > 0:
                try:
                    rows = self._inbox.claim(self.name, lease=self._lease, limit=free)
                except StoreError as exc:
                    log.warning("cannot claim updates from the shared inbox: %s", exc)
                    rows = []
                for data in rows:
                    self._start(data)
                claimed = len(rows)
            if claimed == 0 or len(self._tasks) >= self._limit:
                await self._sleep(stop)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=10.0)
        try:
            given = self._inbox.release_all(self.name)
        except StoreError as exc:
            log.warning("claims not given back (they expire after %.0fs): %s", self._lease, exc)
        else:
            if given:
                log.info("gave back %d claimed update(s) to the other replicas", given)

    async def _sleep(self, stop: asyncio.Event) -> None:
        waits = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
        try:
            await asyncio.wait(waits, timeout=IDLE_POLL, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    def _start(self, data: dict) -> None:
        task = asyncio.ensure_future(self._handle(data))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()  # the next update of that chat may be claimed now

    async def _handle(self, data: dict) -> None:
        update = parse_update(data, self._app.bot)
        try:
            if update is None:
                self._services.state.mark_handled(int(data["update_id"]))
                return
            await handle_update(self._app, self._services, update)
        except Exception:  # process_update reports handler errors itself; this is the state store failing
            log.exception("update=%s could not be recorded as handled (another replica retries it after "
                          "the lease)", data.get("update_id"))
