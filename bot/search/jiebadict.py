"""jieba's prefix dictionary, cached in a form that loads in about a third of the time of jieba's own cache.

jieba keeps its parsed dictionary (word -> frequency, prefixes included: ~500,000 entries) in a marshal file
in the temp dir; ``marshal.load`` of it takes ~0.53 s, and every ``Analyzer`` (each serving process, each
ingest and build) pays it.  Here the same dictionary is kept as two arrays in an ``.npz`` (the words joined
by newlines as UTF-8, and their frequencies): reading them and making the dict takes ~0.16 s.  The file names
the jieba version and the path, size and mtime of the dictionary file it was made from (a digest of them is in
its name too); any difference, or a file that does not read back whole, and jieba's own loading is used (and
the cache written again).  Arrays are read with ``allow_pickle=False``: a file planted in the temp dir can at
worst change the tokens.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile

import jieba
import numpy as np

#: The cache's file name in the temp dir (next to jieba's own ``archive-bot-jieba.cache``), with a digest of
#: its source: two installations on one host (another venv, another jieba) keep a file each instead of
#: overwriting each other's at every start (jieba names its caches of other dictionaries the same way).
CACHE_NAME = "archive-bot-jieba-dict-{digest}.npz"
JIEBA_CACHE_NAME = "archive-bot-jieba.cache"

log = logging.getLogger(__name__)


def source() -> str:
    """What the default dictionary is made from: jieba's version and its ``dict.txt`` (path, size, mtime)."""
    path = os.path.join(os.path.dirname(os.path.abspath(jieba.__file__)), jieba.DEFAULT_DICT_NAME)
    try:
        st = os.stat(path)
    except OSError:
        return f"jieba {jieba.__version__} {path} missing"
    return f"jieba {jieba.__version__} {path} {st.st_size} {st.st_mtime_ns}"


def cache_path(directory: str, made_from: str) -> str:
    """Where the cache of the dictionary made from ``made_from`` (:func:`source`) lives in ``directory``."""
    digest = hashlib.blake2b(made_from.encode("utf-8", "replace"), digest_size=6).hexdigest()
    return os.path.join(directory, CACHE_NAME.format(digest=digest))


def initialize(tok: jieba.Tokenizer, cache_dir: str | None = None) -> None:
    """Give ``tok`` (a tokenizer of jieba's default dictionary, not initialised yet) its prefix dictionary:
    from this module's cache in ``cache_dir`` (default: the temp dir) when it was made from the same
    dictionary, else by jieba's own ``initialize`` (its cache or its dictionary file), then cached."""
    directory = cache_dir or tempfile.gettempdir()
    want = source()
    path = cache_path(directory, want)
    got = read(path, want)
    if got is not None:
        tok.FREQ, tok.total = got
        tok.initialized = True
        return
    tok.tmp_dir = directory
    tok.cache_file = JIEBA_CACHE_NAME
    tok.initialize()
    write(path, want, tok.FREQ, tok.total)


def read(path: str, want: str) -> tuple[dict[str, int], int] | None:
    """The cached ``(FREQ, total)`` made from ``want`` (:func:`source`); None when missing, of another
    source, or not whole."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["source"]) != want:
                return None
            words = bytes(z["words"]).decode("utf-8").split("\n")
            freq = z["freq"]
            total = int(z["total"])
    except Exception as exc:  # a cache never stops a start: missing, not a zip, truncated, other arrays
        if not isinstance(exc, FileNotFoundError):
            log.info("jieba dictionary cache %s unreadable (%s); jieba loads its own", path, exc)
        return None
    if freq.ndim != 1 or freq.shape[0] != len(words) or freq.dtype != np.int64:
        return None
    return dict(zip(words, freq.tolist(), strict=True)), total


def write(path: str, made_from: str, freq: dict[str, int], total: int) -> bool:
    """Cache ``(freq, total)`` at ``path`` (atomically; False, and nothing written, when a word holds a
    newline or the directory is not writable)."""
    words = list(freq)
    joined = "\n".join(words)
    if joined.count("\n") != max(len(words) - 1, 0):
        return False
    counts = np.fromiter(freq.values(), dtype=np.int64, count=len(words))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".archive-bot-jieba-", suffix=".npz")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, source=np.array(made_from), words=np.frombuffer(joined.encode("utf-8"), dtype=np.uint8),
                     freq=counts, total=np.array(total, dtype=np.int64))
        os.replace(tmp, path)
    except OSError as exc:
        log.info("could not cache jieba's dictionary at %s: %s", path, exc)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return False
    return True
