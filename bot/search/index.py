"""Inverted index over term keys: build, update, save, load.

The pieces live in their own modules: :mod:`bot.search.segment` (the arrays and the kernels every path
shares), :mod:`bot.search.build` (bounded-memory build in sorted runs), :mod:`bot.search.update`
(incremental update: a change of k questions costs k analyses plus a numpy merge of the arrays) and
:mod:`bot.search.indexfile` (the file format, memory-mapped read-only on load, structure checked on open).
This module keeps the names the matcher and the tests import.
"""

from __future__ import annotations

from bot.search.build import SegmentBuilder, build_index, index_titles
from bot.search.indexfile import FORMAT_VERSION, MAGIC, load_index, open_index, save_index, verify_index
from bot.search.segment import WORD_WEIGHT, IndexData, idf_of
from bot.search.update import update_index

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "WORD_WEIGHT",
    "IndexData",
    "SegmentBuilder",
    "build_index",
    "idf_of",
    "index_titles",
    "load_index",
    "open_index",
    "save_index",
    "update_index",
    "verify_index",
]
