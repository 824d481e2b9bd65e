"""The core the bot and the CLI share: a question in text → a decision with the records behind it.

Builds the matcher from the store (loading the saved index when it is current, rebuilding and
saving it otherwise). Knows nothing of Telegram.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping

from bot.config import Config
from bot.models import Band, Decision, Outcome, Question
from bot.search.matcher import Matcher, MatcherSettings
from bot.storage.store import Store

log = logging.getLogger(__name__)


#: An update touching more than this share of the questions rebuilds the index in full instead.
UPDATE_MAX_SHARE = 0.25


def load_matcher(
    store: Store,
    index_path: str,
    *,
    aliases: Mapping[str, str] | None = None,
    settings: MatcherSettings | None = None,
    changed: Collection[str] | None = None,
    previous: str | None = None,
) -> Matcher:
    """The saved index if it matches the store's fingerprint; else, when ``changed`` (the question ids an
    ingest touched) and ``previous`` (the store's fingerprint before it) are given and the saved index is
    that previous one, the index updated for those questions; else a fresh build.  Saved for next time."""
    fingerprint = store.fingerprint()
    started = time.perf_counter()
    matcher = Matcher.load(index_path, fingerprint, aliases=aliases, settings=settings)
    if matcher is not None:
        log.info("index loaded from %s (%d questions) in %.2fs", index_path, len(matcher),
                 time.perf_counter() - started)
        return matcher
    if changed is not None and previous is not None:
        matcher = _updated(store, index_path, previous, changed, aliases=aliases, settings=settings)
        if matcher is not None:
            log.info("index updated for %d changed questions (%d questions) in %.2fs", len(changed),
                     len(matcher), time.perf_counter() - started)
    if matcher is None:
        matcher = Matcher.from_titles(store.iter_titles(), aliases=aliases, settings=settings)
        log.info("index built (%d questions) in %.2fs", len(matcher), time.perf_counter() - started)
    try:
        matcher.save(index_path, fingerprint)  # atomic: a temp file renamed into place
    except OSError as exc:
        log.warning("could not save the index to %s: %s (it will be rebuilt at next start)", index_path, exc)
    return matcher


def _updated(
    store: Store,
    index_path: str,
    previous: str,
    changed: Collection[str],
    *,
    aliases: Mapping[str, str] | None,
    settings: MatcherSettings | None,
) -> Matcher | None:
    """The previous index updated for ``changed``; None when there is none or a full build is due."""
    old = Matcher.load(index_path, previous, aliases=aliases, settings=settings)
    if old is None or len(changed) > max(1000, UPDATE_MAX_SHARE * len(old)):
        return None
    return old.updated(changed, store.iter_titles_of)


def open_matcher(
    cfg: Config, store: Store, *, changed: Collection[str] | None = None, previous: str | None = None
) -> Matcher:
    """The matcher the config asks for, over ``store``'s archive (the saved index when current; updated
    for ``changed`` questions when it was current at fingerprint ``previous``)."""
    return load_matcher(
        store, cfg.archive.index_path, aliases=cfg.aliases, settings=cfg.matcher, changed=changed, previous=previous
    )


class Answerer:
    """Store + matcher: answers text queries with records."""

    def __init__(self, store: Store, matcher: Matcher, matcher_fingerprint: str = "") -> None:
        self.store = store
        self.matcher = matcher
        self.matcher_fingerprint = matcher_fingerprint

    def ask(self, text: str, k: int = 3) -> Outcome:
        """Match ``text`` and fetch what the reply needs."""
        decision = self.matcher.decide(text, k=k)
        titles = self.store.titles(h.key for h in decision.hits)
        # A hit whose question vanished from the store (index older than the store) is dropped.
        hits = tuple(h for h in decision.hits if h.key in titles)
        if len(hits) != len(decision.hits):
            band = decision.band if hits and hits[0] == decision.hits[0] else Band.DID_YOU_MEAN
            decision = Decision(band if hits else Band.NO_MATCH, hits)
        question = self.store.get(hits[0].key) if decision.band is Band.ANSWER and hits else None
        if decision.band is Band.ANSWER and question is None:
            decision = Decision(Band.DID_YOU_MEAN, hits)
        return Outcome(decision, question, tuple((h, titles[h.key]) for h in hits))

    def question(self, qid: str) -> Question | None:
        return self.store.get(qid)

    def search(self, text: str, k: int = 10) -> list[Question]:
        """The best k questions for an inline query, best first."""
        out = []
        for key, _score in self.matcher.search(text, k):
            q = self.store.get(key)
            if q is not None:
                out.append(q)
        return out
