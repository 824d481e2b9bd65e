"""``archive-bot doctor``: what would stop the service, found before it starts, one line per check.

Reads the config, checks the token's form, opens the store, the saved index and the state file, looks
for the archive's page folders and, with ``--online``, asks the Bot API at ``telegram.base_url`` who the
bot is (getMe). Every line is ``OK`` or ``FAIL``, the check's name and a reason; the token is never printed.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from bot.answerer import archive_fingerprint
from bot.config import PLACEHOLDER_TOKENS, Config, ConfigError, load_config, redact_url
from bot.search.index import verify_index
from bot.search.matcher import Matcher
from bot.storage.backends import is_database_url, open_state, open_store
from bot.storage.state import StateStore
from bot.storage.store import Store, StoreError
from bot.telegram.probe import ProbeError, get_me

TOKEN_FORM = re.compile(r"([0-9]{1,20}):[A-Za-z0-9_-]{30,64}")
"""A bot token as @BotFather issues it: the bot's numeric id, a colon, ~35 characters of A-Z a-z 0-9 _ -."""


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    ok: bool
    reason: str

    def line(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'}  {self.name:<9} {self.reason}"


def check_token(token: str) -> Check:
    """The token's form only (whether Telegram accepts it is the online check)."""
    if token.strip() in PLACEHOLDER_TOKENS:
        return Check("token", False, "missing or still the example placeholder: put ARCHIVE_BOT_TOKEN=<token "
                                     "from @BotFather> in the environment (the service's EnvironmentFile)")
    m = TOKEN_FORM.fullmatch(token)
    if m is None:
        return Check("token", False, "does not look like a bot token (<bot id>:<35 characters>, as @BotFather "
                                     "gives it); check for quotes, spaces or a cut-off copy")
    return Check("token", True, f"looks like a bot token (bot id {m.group(1)})")


def _check_store(cfg: Config) -> tuple[Check, Store | None]:
    path = cfg.archive.db
    will_ingest = cfg.archive.ingest_on_start and bool(cfg.archive.paths)
    if is_database_url(path):
        return _check_pg_store(cfg, redact_url(path), will_ingest)
    if not os.path.exists(path):
        if will_ingest:
            return Check("store", True, f"{path} not created yet: `run` ingests archive.paths at start"), None
        return Check("store", False, f"{path} does not exist: run `archive-bot ingest`"), None
    owner = os.stat(path).st_uid
    if os.geteuid() == 0 and owner != 0:  # checked before opening: root would leave root-owned -wal/-shm files
        return Check("store", False, f"{path} belongs to uid {owner} but this runs as root: run archive-bot as "
                                     "the service's user (runuser -u archive-bot -- …)"), None
    try:
        store = Store.open(path, create=False)
    except StoreError as exc:
        return Check("store", False, str(exc)), None
    counts = store.counts()
    if counts.questions == 0 and not will_ingest:
        return Check("store", False, f"{path} is empty: run `archive-bot ingest`"), store
    return Check("store", True, f"{path}: {counts.questions} questions, {counts.answers} answers"), store


def _check_pg_store(cfg: Config, label: str, will_ingest: bool) -> tuple[Check, Store | None]:
    """The archive in PostgreSQL: the server answers, the schema is there and current, questions in it."""
    try:
        store = open_store(cfg.archive.db, create=False)
    except StoreError as exc:
        if will_ingest and "does not exist" in str(exc):
            return Check("store", True, f"{label}: no archive schema yet: `run` ingests archive.paths at start"), None
        return Check("store", False, str(exc)), None
    counts = store.counts()
    if counts.questions == 0 and not will_ingest:
        return Check("store", False, f"{label} is empty: run `archive-bot ingest`"), store
    return Check("store", True, f"{label}: {counts.questions} questions, {counts.answers} answers"), store


def _check_index(cfg: Config, store: Store | None) -> Check:
    path = cfg.archive.index_path
    if store is None:
        return Check("index", True, f"{path}: built when the store is (at the first ingest)")
    started = time.perf_counter()
    matcher = Matcher.load(path, archive_fingerprint(cfg, store), aliases=cfg.aliases, settings=cfg.matcher)
    if matcher is None:
        reason = "missing" if not os.path.exists(path) else "older than the store, damaged or of another version"
        return Check("index", False, f"{path}: {reason}: run `archive-bot ingest` (or `run` rebuilds it at start)")
    loaded = time.perf_counter() - started
    problem = verify_index(path)  # every array's checksum and every posting list, not only the structure
    if problem is not None:
        return Check("index", False, f"{path}: {problem}: delete it and run `archive-bot ingest` to rebuild it")
    return Check("index", True, f"{path}: current and verified, {len(matcher)} questions, loaded in {loaded:.1f}s")


def _check_state(cfg: Config) -> Check:
    path = cfg.archive.state_path
    if is_database_url(path):
        try:
            open_state(path).close()  # creates or migrates the schema, as `run` would
        except StoreError as exc:
            return Check("state", False, str(exc))
        return Check("state", True, f"{redact_url(path)}: opens (query log, shared update inbox)")
    if not os.path.exists(path):
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK):
            return Check("state", True, f"{path} not created yet; its folder is writable")
        return Check("state", False, f"{path}: the folder {folder} is missing or not writable for this user")
    try:
        StateStore.open(path, create=False).close()
    except StoreError as exc:
        return Check("state", False, str(exc))
    return Check("state", True, f"{path}: opens (query log, update inbox)")


def _check_paths(cfg: Config) -> Check:
    paths = cfg.archive.paths
    if not paths:
        return Check("paths", True, "archive.paths is empty (`ingest` then needs PATH arguments)")
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        return Check("paths", False, f"missing: {', '.join(missing)}")
    unreadable = [p for p in paths if not os.access(p, os.R_OK)]
    if unreadable:
        return Check("paths", False, f"not readable for this user: {', '.join(unreadable)}")
    return Check("paths", True, f"{len(paths)} path(s) to ingest: {', '.join(paths)}")


def check_online(cfg: Config) -> Check:
    """getMe through ``telegram.base_url``: the token works, and what @BotFather settings say."""
    try:
        me = asyncio.run(get_me(cfg.telegram.token, cfg.telegram.base_url, cfg.telegram.request_timeout))
    except ProbeError as exc:
        return Check("getMe", False, f"{cfg.telegram.base_url}: {exc}")
    inline = "on" if me.supports_inline_queries else "off (turn it on with /setinline in @BotFather)"
    privacy = "off: it sees every group message" if me.can_read_all_group_messages else (
        "on: in groups it sees commands, mentions and replies to it")
    return Check("getMe", True, f"@{me.username} (id {me.id}); inline mode {inline}; group privacy {privacy}")


def run_checks(config_path: str, *, online: bool = False) -> Iterator[Check]:
    """Every check in order; the config comes first, and nothing else runs when it is invalid.
    No reason ever carries the token (it is replaced by ``<token>`` should a library quote it)."""
    try:
        cfg = load_config(config_path, require_token=False)
    except ConfigError as exc:
        yield Check("config", False, exc.report().replace("\n", "; "))
        return
    secret = cfg.telegram.token
    for check in _checks(cfg, config_path, online):
        yield Check(check.name, check.ok, redact(check.reason, secret))


def _checks(cfg: Config, config_path: str, online: bool) -> Iterator[Check]:
    yield Check("config", True, f"{config_path}: valid ({cfg.telegram.mode} mode, locale {cfg.locale}, "
                                f"{len(cfg.admins)} admin(s))")
    token = check_token(cfg.telegram.token)
    yield token
    yield _check_paths(cfg)
    store_check, store = _check_store(cfg)
    yield store_check
    try:
        yield _check_index(cfg, store)
    finally:
        if store is not None:
            store.close()
    yield _check_state(cfg)
    if online:
        yield check_online(cfg) if token.ok else Check("getMe", False, "skipped: fix the token first")


def redact(text: str, secret: str) -> str:
    """``text`` with ``secret`` replaced (a token must never reach a terminal or a log)."""
    return text.replace(secret, "<token>") if len(secret) >= 4 else text
