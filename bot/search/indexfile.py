"""The index file: written once (atomically), opened with ``numpy.memmap`` read-only.

Format (version 2): ``MAGIC``, the header length (uint64), the header's crc32 (uint32), a JSON header
(format version, fingerprint, library versions, array table with dtype/shape/offset/crc32 of each array)
and the raw arrays, each 64-byte aligned.  Opening maps the file (``numpy.memmap``, read-only, so processes
on one host share the pages) and checks the header (its crc, version, fingerprint, sizes) and the structure
a query relies on (monotonic offsets, sorted vocabulary, key and document ids in range) without a crc over
the arrays: it reads the small arrays and scans the postings once for their largest id (milliseconds at
10^6 titles), never the text blobs.  :func:`verify_index` also recomputes every array's crc32 and checks
that each term's postings ascend (``doctor``, tests).
"""

from __future__ import annotations

import json
import logging
import math
import os
import struct
import zlib

import numpy as np

from bot.search.segment import ARRAYS, CHUNK, IndexData

FORMAT_VERSION = 2
MAGIC = b"ABOTIDX\x00"
_ALIGN = 64
_PRE = len(MAGIC) + 8 + 4

log = logging.getLogger(__name__)


def _crc(arr: np.ndarray) -> int:
    raw = memoryview(np.ascontiguousarray(arr)).cast("B")
    crc = 0
    step = CHUNK * 4
    for a in range(0, len(raw), step):
        crc = zlib.crc32(raw[a : a + step], crc)
    return crc


def save_index(path: str | os.PathLike[str], data: IndexData, fingerprint: str, meta: dict[str, str]) -> None:
    """Write atomically (temp file + rename); a crc32 of every array goes into the header."""
    arrays = {name: np.ascontiguousarray(getattr(data, name)) for name in ARRAYS}
    table = []
    offset = end = 0
    for name, arr in arrays.items():
        table.append(
            {
                "name": name,
                "dtype": arr.dtype.str,
                "shape": list(arr.shape),
                "offset": offset,
                "nbytes": int(arr.nbytes),
                "crc": _crc(arr),
            }
        )
        end = offset + int(arr.nbytes)
        offset += int(math.ceil(arr.nbytes / _ALIGN) * _ALIGN)
    header = json.dumps(
        {
            "version": FORMAT_VERSION,
            "fingerprint": fingerprint,
            "meta": meta,
            "end": end,
            "extra_words": list(data.extra_words),
            "arrays": table,
        }
    ).encode("utf-8")
    start = int(math.ceil((_PRE + len(header)) / _ALIGN) * _ALIGN)
    tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC + struct.pack("<QI", len(header), zlib.crc32(header)) + header)
            f.write(b"\0" * (start - f.tell()))
            for arr, spec in zip(arrays.values(), table, strict=True):
                f.seek(start + spec["offset"])
                f.write(memoryview(arr).cast("B"))
            f.truncate(start + end)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _read_header(path: str | os.PathLike[str]) -> tuple[dict, int, int] | None:
    """(header, data start, file size), or None when the file is not a current-format index."""
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            return None
        pre = f.read(12)
        if len(pre) != 12:
            return None
        hlen, hcrc = struct.unpack("<QI", pre)
        if hlen > 1 << 28:
            return None
        raw = f.read(hlen)
        if len(raw) != hlen or zlib.crc32(raw) != hcrc:
            return None
        header = json.loads(raw.decode("utf-8"))
        size = os.fstat(f.fileno()).st_size
    if not isinstance(header, dict) or header.get("version") != FORMAT_VERSION:
        return None
    return header, int(math.ceil((_PRE + hlen) / _ALIGN) * _ALIGN), size


def open_index(path: str | os.PathLike[str]) -> tuple[IndexData, dict] | None:
    """Map the file read-only and check its structure; (data, header) or None. No fingerprint check."""
    try:
        got = _read_header(path)
        if got is None:
            return None
        header, start, size = got
        if size != start + int(header["end"]):
            return None
        mm = np.memmap(path, dtype=np.uint8, mode="r") if size else np.zeros(0, np.uint8)
        arrays: dict[str, np.ndarray] = {}
        for spec in header["arrays"]:
            dtype = np.dtype(spec["dtype"])
            shape = [int(s) for s in spec["shape"]]
            count = int(np.prod(shape, dtype=np.int64))
            off = start + int(spec["offset"])
            if (
                dtype.hasobject
                or count < 0
                or count * dtype.itemsize != spec["nbytes"]
                or off % dtype.alignment
                or off + spec["nbytes"] > size
            ):
                return None
            arr = np.frombuffer(mm, dtype=dtype, count=count, offset=off) if count else np.zeros(0, dtype)
            arr = arr.reshape(shape)
            arr.flags.writeable = False
            arrays[spec["name"]] = arr
        if set(arrays) != set(ARRAYS):
            return None
        data = IndexData(**arrays, extra_words=tuple(str(w) for w in header.get("extra_words", ())))
        problem = structure_problem(data)
        if problem:
            log.warning("index file %s is inconsistent (%s): it will be rebuilt", path, problem)
            return None
        return data, header
    except (OSError, ValueError, KeyError, TypeError, struct.error, UnicodeDecodeError, json.JSONDecodeError):
        return None


def load_index(path: str | os.PathLike[str], fingerprint: str, meta: dict[str, str]) -> IndexData | None:
    """The saved index (memory-mapped, read-only), or None if missing, damaged, inconsistent, of another
    format/library version, or stale."""
    got = open_index(path)
    if got is None:
        return None
    data, header = got
    if header.get("fingerprint") != fingerprint or header.get("meta") != meta:
        return None
    return data


def _offsets_ok(off: np.ndarray, n: int, total: int) -> bool:
    return (
        off.dtype == np.int64
        and off.ndim == 1
        and off.shape[0] == n + 1
        and int(off[0]) == 0
        and int(off[-1]) == total
        and bool(np.all(off[1:] >= off[:-1]))
    )


def structure_problem(data: IndexData) -> str | None:
    """What is inconsistent in ``data`` (None if nothing): what a query relies on (sizes, monotonic offsets,
    sorted vocabulary, key and document ids in range).  The text blobs are not read; the postings are
    scanned once for their largest id (no crc)."""
    v, d, k = data.vocab.shape[0], data.doc_key.shape[0], data.n_keys
    kinds = {
        "vocab": np.int64, "indptr": np.int64, "postings": np.uint32, "idf": np.float32, "doc_key": np.int32,
        "doc_total": np.float32, "content": np.uint8, "content_off": np.int64, "keys": np.uint8,
        "key_off": np.int64, "kwords": np.uint8,
    }
    for name, dt in kinds.items():
        arr = getattr(data, name)
        if arr.dtype != np.dtype(dt) or arr.ndim != 1:
            return f"{name} has dtype {arr.dtype} and {arr.ndim} dimensions"
    if not _offsets_ok(data.indptr, v, data.postings.shape[0]):
        return "postings offsets (indptr) are not monotonic from 0 to the postings' length"
    if v and not bool(np.all(data.vocab[1:] > data.vocab[:-1])):
        return "vocabulary is not sorted"
    if data.idf.shape[0] != v or (v and not bool(np.all(np.isfinite(data.idf)))):
        return "idf does not match the vocabulary"
    if data.doc_total.shape[0] != d or (d and not bool(np.all(np.isfinite(data.doc_total)))):
        return "document totals do not match the documents"
    if not _offsets_ok(data.content_off, d, data.content.shape[0]):
        return "content offsets are inconsistent"
    if k < 0 or not _offsets_ok(data.key_off, k, data.keys.shape[0]):
        return "key offsets are inconsistent"
    if d and (int(data.doc_key.min()) < 0 or int(data.doc_key.max()) >= k):
        return "a document's key index is out of range"
    p = data.postings
    for a in range(0, int(p.shape[0]), CHUNK):  # sequential, no crc: ~0.1 s per 10^8 postings from cache
        if int(p[a : a + CHUNK].max()) >= d:
            return "a posting's document id is out of range"
    return None


def verify_index(path: str | os.PathLike[str]) -> str | None:
    """Full check (reads every page): structure, every array's crc32, and every term's postings strictly
    ascending and in range.  None when sound, else what is wrong."""
    try:
        got = _read_header(path)
        if got is None:
            return "not an index file of the current format (or its header is damaged)"
        header = got[0]
        opened = open_index(path)
        if opened is None:
            return "inconsistent structure or sizes"
        data = opened[0]
        for spec in header["arrays"]:
            if _crc(getattr(data, spec["name"])) != spec["crc"]:
                return f"crc32 of {spec['name']} does not match"
        p, ip = data.postings, data.indptr
        n = int(p.shape[0])
        for a in range(0, n, CHUNK):
            b = min(n, a + CHUNK + 1)
            seg = p[a:b].astype(np.int64)
            if seg.size and int(seg.max()) >= data.n_docs:
                return "a posting's document id is out of range"
            # a descent is allowed only where a new term starts
            bad = np.flatnonzero(seg[1:] <= seg[:-1]) + a + 1
            if bad.size and not bool(np.all(np.isin(bad, ip))):
                return "postings of a term are not strictly ascending"
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"cannot read: {exc}"
