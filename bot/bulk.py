"""Bulk passes run with Python's cyclic garbage collector paused.

An index build or update allocates millions of small objects (token lists, tuples, dict entries) that form
no reference cycles; reference counting frees them.  The cyclic collector is triggered by allocation counts
and, as the heap grows, walks all of it again and again: at 10^6 titles about a quarter of a build's time
(``python bench/index_scale.py``; docs/matcher.md).  ``gc.disable`` is process-wide, so a pass of
another thread also skips the collector for that time; whatever cycles they leave are collected after it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector inside the block (restored as it was, even on error)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def bulk(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``fn`` with the cyclic garbage collector paused (:func:`collector_paused`)."""

    @wraps(fn)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with collector_paused():
            return fn(*args, **kwargs)

    return run
