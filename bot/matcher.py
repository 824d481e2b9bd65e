"""The library entry point kept where it always was: ``from bot.matcher import Matcher``.

The matcher lives in :mod:`bot.search.matcher`; this module re-exports its public names.
"""

from bot.models import Band, Decision, Hit
from bot.search.matcher import Matcher, MatcherSettings

__all__ = ["Band", "Decision", "Hit", "Matcher", "MatcherSettings"]
