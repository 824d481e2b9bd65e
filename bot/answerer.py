"""The core the bot and the CLI share: a question in text → a decision with the records behind it.

Builds the matcher from the store (loading the saved index when it is current, rebuilding and
saving it otherwise). Knows nothing of Telegram.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import time
from collections.abc import Collection, Iterator, Mapping, Sequence

from bot.config import Config
from bot.models import Band, Decision, Hit, Link, Outcome, Question, TopicPage
from bot.search.analysis import Normalizer
from bot.search.matcher import Matcher, MatcherSettings
from bot.search.tables import open_tables
from bot.storage.backends import open_state, state_exists
from bot.storage.state import StateStore
from bot.storage.store import Store, StoreError

log = logging.getLogger(__name__)

#: Questions on one page of a topic.
TOPIC_PAGE = 6


def learned_titles(cfg: Config, store: Store, state: StateStore | None = None) -> list[tuple[str, str]]:
    """Accepted rewordings as ``(question id, query)`` pairs whose question is still in the archive.

    Read from ``state`` when given, else from the configured state file (if there is one)."""
    if state is not None:
        pairs = state.accepted()
    else:
        path = cfg.archive.state_path
        if not state_exists(path):
            return []
        try:
            own = open_state(path, create=False)
        except StoreError as exc:
            log.warning("learned rewordings not read: %s", exc)
            return []
        try:
            pairs = own.accepted()
        finally:
            own.close()
    present = store.existing_ids(qid for qid, _ in pairs)
    return [(qid, query) for qid, query in pairs if qid in present]


def index_fingerprint(store: Store, learned: Sequence[tuple[str, str]] = ()) -> str:
    """The store's fingerprint, plus the accepted rewordings' (so accepting one rebuilds the index)."""
    return _with_learned(store.fingerprint(), learned)


def _with_learned(fingerprint: str, learned: Sequence[tuple[str, str]]) -> str:
    if not learned:
        return fingerprint
    digest = hashlib.sha256(json.dumps(sorted(learned), ensure_ascii=False).encode()).hexdigest()[:16]
    return f"{fingerprint}+learned:{digest}"


def archive_fingerprint(cfg: Config, store: Store, state: StateStore | None = None) -> str:
    """What the index the config asks for is built from, now (for the reload check)."""
    return index_fingerprint(store, learned_titles(cfg, store, state))


#: An update touching more than this share of the questions rebuilds the index in full instead.
UPDATE_MAX_SHARE = 0.25


def load_matcher(
    store: Store,
    index_path: str,
    *,
    aliases: Mapping[str, str] | None = None,
    settings: MatcherSettings | None = None,
    learned: Sequence[tuple[str, str]] = (),
    changed: Collection[str] | None = None,
    previous: str | None = None,
) -> Matcher:
    """The saved index if it matches the store's fingerprint; else, when ``changed`` (the question ids an
    ingest touched) and ``previous`` (the store's fingerprint before it) are given and the saved index is
    that previous one, the index updated for those questions; else a fresh build.  Saved for next time.

    ``learned`` rewordings ``(question id, query)`` are indexed like alternate titles."""
    fingerprint = index_fingerprint(store, learned)
    started = time.perf_counter()
    matcher = Matcher.load(index_path, fingerprint, aliases=aliases, settings=settings)
    if matcher is not None:
        log.info("index loaded from %s (%d questions) in %.2fs", index_path, len(matcher),
                 time.perf_counter() - started)
        return matcher
    if changed is not None and previous is not None:
        matcher = _updated(store, index_path, _with_learned(previous, learned), changed, learned,
                           aliases=aliases, settings=settings)
        if matcher is not None:
            log.info("index updated for %d changed questions (%d questions) in %.2fs", len(changed),
                     len(matcher), time.perf_counter() - started)
    if matcher is None:
        matcher = Matcher.from_titles(itertools.chain(store.iter_titles(), learned), aliases=aliases,
                                      settings=settings)
        log.info("index built (%d questions) in %.2fs", len(matcher), time.perf_counter() - started)
    try:
        matcher.save(index_path, fingerprint)  # atomic: a temp file renamed into place
    except OSError as exc:
        log.warning("could not save the index to %s: %s (it will be rebuilt at next start)", index_path, exc)
    else:
        open_tables(os.path.dirname(os.path.abspath(index_path)))  # the shared tables ready beside it
    return matcher


def _updated(
    store: Store,
    index_path: str,
    previous: str,
    changed: Collection[str],
    learned: Sequence[tuple[str, str]],
    *,
    aliases: Mapping[str, str] | None,
    settings: MatcherSettings | None,
) -> Matcher | None:
    """The previous index updated for ``changed``; None when there is none or a full build is due."""
    old = Matcher.load(index_path, previous, aliases=aliases, settings=settings)
    if old is None or len(changed) > max(1000, UPDATE_MAX_SHARE * len(old)):
        return None

    def titles_of(ids: Collection[str]) -> Iterator[tuple[str, str]]:
        wanted = set(ids)
        yield from store.iter_titles_of(wanted)
        yield from ((qid, query) for qid, query in learned if qid in wanted)

    return old.updated(changed, titles_of)


def open_matcher(
    cfg: Config, store: Store, *, changed: Collection[str] | None = None, previous: str | None = None
) -> Matcher:
    """The matcher the config asks for, over ``store``'s archive (the saved index when current; updated
    for ``changed`` questions when it was current at store fingerprint ``previous``)."""
    return open_matcher_with_fingerprint(cfg, store, changed=changed, previous=previous)[0]


def open_matcher_with_fingerprint(
    cfg: Config,
    store: Store,
    *,
    state: StateStore | None = None,
    changed: Collection[str] | None = None,
    previous: str | None = None,
) -> tuple[Matcher, str]:
    """:func:`open_matcher` and the fingerprint of what it was built from (archive + accepted rewordings,
    read through ``state`` when it is open already)."""
    learned = learned_titles(cfg, store, state)
    fingerprint = index_fingerprint(store, learned)
    matcher = load_matcher(store, cfg.archive.index_path, aliases=cfg.aliases, settings=cfg.matcher,
                           learned=learned, changed=changed, previous=previous)
    return matcher, fingerprint


class Answerer:
    """Store + matcher: answers text queries with records."""

    def __init__(self, store: Store, matcher: Matcher, matcher_fingerprint: str = "") -> None:
        self.store = store
        self.matcher = matcher
        self.matcher_fingerprint = matcher_fingerprint
        self._normalizer = Normalizer()
        self._example: tuple[Link | None] | None = None

    def ask(self, text: str, k: int = 3) -> Outcome:
        """Match ``text`` and fetch what the reply needs (small talk: nothing from the archive)."""
        decision = self.matcher.decide(text, k=k)
        if decision.band is Band.SMALLTALK:
            return Outcome(decision, None, ())
        if decision.band is Band.TOPIC and decision.topic:
            page = self.topic(decision.topic, 0, TOPIC_PAGE, total=decision.topic_count)
            if page.hits:
                return Outcome(decision, None, page.hits, topic=page)
            decision = Decision(Band.NO_MATCH, decision.hits, query=decision.query)
        titles = self.store.titles(h.key for h in decision.hits)
        # A hit whose question vanished from the store (index older than the store) is dropped.
        hits = tuple(h for h in decision.hits if h.key in titles)
        if len(hits) != len(decision.hits):
            band = decision.band if hits and hits[0] == decision.hits[0] else Band.DID_YOU_MEAN
            decision = Decision(band if hits else Band.NO_MATCH, hits, query=decision.query)
        question = self.store.get(hits[0].key) if decision.band is Band.ANSWER and hits else None
        if decision.band is Band.ANSWER and question is None:
            decision = Decision(Band.DID_YOU_MEAN, hits, query=decision.query)
        return Outcome(decision, question, tuple((h, titles[h.key]) for h in hits))

    def question(self, qid: str) -> Question | None:
        return self.store.get(qid)

    def topic(self, word: str, offset: int = 0, k: int = TOPIC_PAGE, *, total: int = 0) -> TopicPage:
        """Questions about ``word`` from ``offset`` (at most ``k``), most relevant first; ``total`` is how
        many the archive has (the matcher's count; 0: unknown, then the number found)."""
        found = self.matcher.search(word, offset + k + 1)
        window = found[offset : offset + k]
        titles = self.store.titles(key for key, _ in window)
        hits = tuple((Hit(key, score), titles[key]) for key, score in window if key in titles)
        total = total or len(found)
        more = len(found) > offset + k and offset + k < total
        return TopicPage(word, total, offset, hits, more)

    def example(self) -> Link | None:
        """A real question to suggest (in /help and small-talk replies): the same for the same archive."""
        if self._example is None:
            row = self.store.example()
            self._example = (Link(row[1], row[0]) if row else None,)
        return self._example[0]

    def rewording(self, text: str, decision: Decision) -> str:
        """The normalised query to learn from: the matched text (greetings stripped) in normal form."""
        return self._normalizer.normalize(decision.query or text)

    def search(self, text: str, k: int = 10) -> list[Question]:
        """The best k questions for an inline query, best first."""
        out = []
        for key, _score in self.matcher.search(text, k):
            q = self.store.get(key)
            if q is not None:
                out.append(q)
        return out
