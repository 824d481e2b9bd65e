"""Shared helpers for the matcher benchmarks: data loading, metrics, Markdown tables."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

# The project root, importable from here on.  Nothing of ``bot`` is imported at this module's import: a bench
# that measures another tree's code (index_digest.py --code, index_scale.py's baseline) puts that tree first
# on the path after importing this module, and its ``bot`` must be the one loaded.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DATA_DIR = os.environ.get("ARCHIVE_BOT_DATA", "/work/shared/data")
KINDS = ("short", "para", "trad", "typo", "kw", "neg")


def read_tsv(data: str, name: str) -> list[list[str]]:
    """The tab-separated rows of ``data/name``."""
    with open(os.path.join(data, name), encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f]


def read_human_sets(data: str) -> tuple[list[tuple[str, str]], list[list[str]], list[list[str]]]:
    """``(archive items without any edit's exclude_id, queries_human rows, queries_edits rows)``: the
    archive and lines as ``eval_human.py`` judges them."""
    edits, human = read_tsv(data, "queries_edits.tsv"), read_tsv(data, "queries_human.tsv")
    exclude = {r[3] for r in edits}
    items = [(i, t) for i, t in (r[:2] for r in read_tsv(data, "archive_dev.tsv")) if i not in exclude]
    return items, human, edits


def cached_matcher(path: str | None, fingerprint: str, titles: Sequence[tuple[str, str]], settings=None):
    """The matcher saved at ``path`` under ``fingerprint``, else built from ``titles`` (and saved there)."""
    from bot.search.matcher import Matcher

    m = Matcher.load(path, fingerprint, settings=settings) if path else None
    if m is None:
        m = Matcher.from_titles(titles, settings=settings)
        if path:
            m.save(path, fingerprint)
    return m


def read_archive(path: str | None = None) -> list[tuple[str, str]]:
    """``(id, title)`` pairs; skips a header line if there is one."""
    out = []
    with open(path or os.path.join(DATA_DIR, "archive_dev.tsv"), encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t", 1)
            if len(parts) == 2 and parts[0] != "id" and parts[1].strip():
                out.append((parts[0], parts[1]))
    return out


def read_queries(path: str | None = None) -> list[tuple[int, str, str, str]]:
    """``(line_no, query, target_id, kind)``; target "-1" means not in the archive."""
    out = []
    with open(path or os.path.join(DATA_DIR, "queries_dev.tsv"), encoding="utf-8") as f:
        for n, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3 and parts[2] != "kind":
                out.append((n, parts[0], parts[1], parts[2]))
    return out


def scale_titles(pool: Sequence[tuple[str, str]], n: int) -> list[tuple[str, str]]:
    """``n`` pairs: the pool, then its titles again with a numbered suffix (as make_archive.py does)."""
    m = len(pool)
    if n <= m:
        return list(pool[:n])
    return list(pool) + [(f"x{i}", f"{pool[i % m][1]}({i // m})") for i in range(m, n)]


def auc(pos: Sequence[float], neg: Sequence[float]) -> float:
    """ROC AUC = P(score of a random positive > score of a random negative), ties count half."""
    if not pos or not neg:
        return float("nan")
    import numpy as np

    p, q = np.sort(np.asarray(pos, float)), np.asarray(neg, float)
    less = np.searchsorted(p, q, side="left")
    less_eq = np.searchsorted(p, q, side="right")
    wins = (len(p) - less_eq).sum() + 0.5 * (less_eq - less).sum()
    return float(wins / (len(p) * len(q)))


def read_paraphrases(path: str | None = None) -> list[tuple[int, str, str, str]]:
    """``(line_no, query, target_id, kind)`` of ``bench/paraphrase_dev.tsv`` (kinds ``human``/``hardneg``)."""
    here = os.path.dirname(os.path.abspath(__file__))
    return read_queries(path or os.path.join(here, "paraphrase_dev.tsv"))


def is_heldout(query: str) -> bool:
    """Stable ~40 % held-out split of the paraphrase set (by a hash of the query text)."""
    import zlib

    return zlib.crc32(query.encode("utf-8")) % 10 < 4


class Bm25Baseline:
    """BM25 (bm25s over jieba words, HMM on, after OpenCC t2s) over the archive titles; ``search(q)`` ->
    (keys, top score)."""

    def __init__(self, archive: Sequence[tuple[str, str]]) -> None:
        import re

        import bm25s
        import jieba
        import opencc

        tok = jieba.Tokenizer()
        tok.initialize()
        punct = re.compile(r"[^\w]+")
        t2s = opencc.OpenCC("t2s")
        self._words = lambda s: [
            w for w in tok.lcut(punct.sub(" ", t2s.convert(s).casefold()), HMM=True) if w.strip()
        ]
        self._archive = archive
        corpus = [" ".join(self._words(t)) for _, t in archive]
        self._ctoks = bm25s.tokenize(corpus, token_pattern=r"(?u)\S+", stopwords=None, show_progress=False)
        self._retr = bm25s.BM25()
        self._retr.index(self._ctoks, show_progress=False)

    def search(self, q: str, k: int = 10) -> tuple[list[str], float]:
        vocab = self._ctoks.vocab
        qt = [w for w in self._words(q) if w in vocab]
        if not qt:
            return [], 0.0
        docs, scores = self._retr.retrieve([[vocab[w] for w in qt]], k=k, show_progress=False, n_threads=1)
        return [self._archive[int(i)][0] for i in docs[0]], float(scores[0][0])


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def fmt(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def timings(fn, queries: list[str], warmup: int = 50) -> tuple[float, float, float, float]:
    """Wall-clock and thread-CPU (immune to preemption on a shared machine) median and p95, in ms."""
    for q in queries[:warmup]:
        fn(q)
    wall, cpu = [], []
    for q in queries:
        c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
        fn(q)
        wall.append((time.perf_counter_ns() - t0) / 1e6)
        cpu.append((time.thread_time_ns() - c0) / 1e6)
    wall.sort()
    cpu.sort()
    p95 = min(len(wall) - 1, int(0.95 * len(wall)))
    return wall[len(wall) // 2], wall[p95], cpu[len(cpu) // 2], cpu[p95]
