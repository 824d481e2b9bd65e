"""A matcher stand-in for end-to-end tests: the real matcher, with fixed decisions for some texts; and
hand-made scorer models.

Lets the UI be driven through every band (small talk, topics, "did you mean") without depending on
what the real matcher decides for a given wording.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.models import Decision
from bot.search.features import FEATURES
from bot.search.matcher import Matcher


def one_split(feature: str, names: tuple[str, ...] = FEATURES, left: float = -2.0, right: float = 2.0,
              threshold: float = 0.5) -> dict:
    """A scorer model's parameters (``Trees``): one tree splitting ``feature`` at ``threshold``, log-odds
    ``left`` below it and ``right`` above."""
    return {"features": list(names), "depth": 1, "base": 0.0, "learning_rate": 1.0,
            "trees": [{"feature": [names.index(feature)], "threshold": [threshold], "value": [0.0, left, right]}]}


class StubMatcher:
    """``decide`` answers from ``decisions`` and ``search`` from ``searches`` when the text is there;
    everything else goes to the real ``matcher``."""

    def __init__(
        self,
        matcher: Matcher,
        decisions: Mapping[str, Decision],
        searches: Mapping[str, Sequence[tuple[str, float]]] | None = None,
    ) -> None:
        self._matcher = matcher
        self._decisions = dict(decisions)
        self._searches = dict(searches or {})

    def decide(self, text: str, k: int = 3) -> Decision:
        return self._decisions.get(text) or self._matcher.decide(text, k)

    def search(self, text: str, k: int = 10) -> list[tuple[str, float]]:
        if text in self._searches:
            return list(self._searches[text])[:k]
        return self._matcher.search(text, k)

    def __len__(self) -> int:
        return len(self._matcher)
