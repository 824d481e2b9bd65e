"""Plain data shared by the layers: archive records and match decisions.

Nothing here knows SQL, jieba or Telegram.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    """One answer: its author and its text (paragraphs separated by a blank line)."""

    author: str
    text: str


@dataclass(frozen=True)
class Link:
    """A reference to another question by title; ``id`` is set when it is in the archive."""

    title: str
    id: str | None = None


@dataclass(frozen=True)
class Question:
    """A question as the bot shows it: all its pages merged."""

    id: str
    title: str
    answers: tuple[Answer, ...] = ()
    related: tuple[Link, ...] = ()
    prev: Link | None = None
    next: Link | None = None
    alt_titles: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


class Band(enum.Enum):
    """What the bot does with a query."""

    ANSWER = "answer"
    DID_YOU_MEAN = "did_you_mean"
    NO_MATCH = "no_match"
    #: greeting, thanks, laughter, bye, about the bot, complaint, emoji: never an archive answer
    SMALLTALK = "smalltalk"
    #: a bare topic word many titles share (手机, 原神, python): browse its questions
    TOPIC = "topic"


@dataclass(frozen=True)
class Hit:
    """One candidate: a question key and a 0-100 confidence."""

    key: str
    score: float


@dataclass(frozen=True)
class Decision:
    """The matcher's verdict on one query: the band and the ranked hits behind it.

    ``smalltalk`` is the kind of small talk for SMALLTALK ("greeting", "thanks", "laughter", "bye",
    "about_bot", "complaint", "praise", "emoji", "other"); ``topic`` the topic word as typed (normalised)
    and ``topic_count`` how many archived questions contain it, for TOPIC; ``query`` the text actually
    matched after greetings and politeness were stripped (may equal the input).
    """

    band: Band
    hits: tuple[Hit, ...] = field(default_factory=tuple)
    smalltalk: str | None = None
    topic: str | None = None
    topic_count: int = 0
    query: str = ""

    @property
    def top(self) -> Hit | None:
        return self.hits[0] if self.hits else None


@dataclass(frozen=True)
class Outcome:
    """What to show for one query: the decision, the answered question, the candidates' titles."""

    decision: Decision
    question: Question | None
    candidates: tuple[tuple[Hit, str], ...]
    topic: TopicPage | None = None  # TOPIC: the first page of the topic's questions

    @property
    def band(self) -> Band:
        return self.decision.band

    @property
    def score(self) -> float:
        top = self.decision.top
        return top.score if top else 0.0


@dataclass(frozen=True)
class TopicPage:
    """One page of a topic's questions: ``hits`` (with titles) from ``offset``; ``more`` when a next page exists."""

    word: str
    total: int
    offset: int
    hits: tuple[tuple[Hit, str], ...]
    more: bool
