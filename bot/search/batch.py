"""The index terms of many texts at once, as :meth:`Analyzer.analyze` gives them one by one.

For the build (and the incremental update): per title, ``Analyzer.analyze`` makes a tuple per character
unit, dicts of positions and an :class:`~bot.search.analysis.Analysis`; here the Python work per title is a
lookup per space-separated segment, and the pairs are made for a whole batch with numpy:

* each distinct segment is cut once (jieba via :mod:`bot.search.fastcut`) into token ids, with and
  without the boilerplate tokens, and their joined text (a bounded memo: repeated segments such as
  ``如何评价`` are common);
* each distinct token gets its word key and its units (char code, pinyin code, is-CJK) once;
* for the batch, the units of every token of every text are concatenated, the pairs come from the array
  shifted by one (same text; both CJK in one segment, or both non-CJK), and each text keeps its distinct
  word keys, its distinct pinyin-bigram keys and the char-bigram key of each pinyin key's first pair.

The keys of a text are the set ``set(analyze(text, normalized=True).keys())`` (tested on titles and random
text); their order inside a text is not kept (the index does not use it).
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from bot.search import fastcut
from bot.search.analysis import (
    BOILERPLATE,
    CJK_RE,
    T_CHAR,
    T_PINYIN,
    TYPE_SHIFT,
    UNIT_RE,
    Analyzer,
    run_code,
    word_key,
)

#: Segments remembered (cleared when full).
SEGMENT_MEMO = 1 << 17
#: A batch of fewer texts is cut segment by segment (``fastcut.lcut``) unless the trie of
#: ``Cutter.lcut_many`` is made already: making it (~0.6 s) pays from some 50,000 titles on.
MANY_MIN = 1 << 15
#: Distinct tokens remembered; past this the table starts afresh at the next batch.
TOKEN_MEMO = 1 << 20

_CHAR = T_CHAR << TYPE_SHIFT
_PINYIN = T_PINYIN << TYPE_SHIFT
_LOW47 = (1 << 47) - 1
_LOW40 = (1 << 40) - 1
#: Texts whose pairs are made in one go (bounds the temporary arrays; a text index and a pinyin key
#: share one int64 of 16 + 47 bits).
CHUNK = 1 << 14


def spans(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """The indices ``starts[i] .. starts[i] + lens[i] - 1`` of every i, concatenated (int64)."""
    first = np.cumsum(lens) - lens
    return np.arange(int(lens.sum()), dtype=np.int64) + np.repeat(starts - first, lens)


class TermBatch(NamedTuple):
    """Terms of a batch of texts: ``contents[i]`` is text i's content (``Analysis.content``; empty when
    it has none); ``doc``/``key`` list each distinct ``(text index, term key)`` once, ordered by text, then key."""

    contents: list[str]
    doc: np.ndarray
    key: np.ndarray


#: One cut segment: token ids and joined text, all tokens and without boilerplate.
_Seg = tuple[tuple[int, ...], tuple[int, ...], str, str]


class BatchAnalyzer:
    """Term keys of texts in batches, for one :class:`Analyzer` (whose words must not change while this
    is used: the memo holds tokenisations)."""

    def __init__(self, analyzer: Analyzer, many_min: int | None = None) -> None:
        self._an = analyzer
        self._many_min = MANY_MIN if many_min is None else many_min
        self._segs: dict[str, _Seg] = {}
        self._reset_tokens()

    def _reset_tokens(self) -> None:
        self._cutter = fastcut.Cutter(self._an.tokenizer)
        self._segs.clear()
        self._tid: dict[str, int] = {}
        self._bp: list[bool] = []
        self._wkey = array("q")
        self._wkeys: set[int] = set()
        self._collided = False
        self._ustart = array("q", [0])
        self._uc = array("q")
        self._up = array("q")
        self._uk = array("b")

    def _token(self, tok: str) -> int:
        tid = self._tid.get(tok)
        if tid is not None:
            return tid
        tid = self._tid[tok] = len(self._bp)
        self._bp.append(tok in BOILERPLATE)
        wk = word_key(tok)
        self._collided = self._collided or wk in self._wkeys
        self._wkeys.add(wk)
        self._wkey.append(wk)
        py = self._an.pinyin
        for u in UNIT_RE.findall(tok):
            if len(u) == 1 and CJK_RE.match(u):
                c = ord(u)
                self._uc.append(c)
                self._up.append(py.get(u, c))
                self._uk.append(1)
            else:
                c = run_code(u)
                self._uc.append(c)
                self._up.append(c)
                self._uk.append(0)
        self._ustart.append(len(self._uc))
        return tid

    def _cut(self, seg: str, tokens: list[str]) -> _Seg:
        toks = [t for t in tokens if t.strip()]
        ids = list(map(self._tid.get, toks))
        if None in ids:
            ids = [self._token(t) if i is None else i for i, t in zip(ids, toks, strict=True)]
        text = " ".join(toks)
        if BOILERPLATE.isdisjoint(toks):
            t_ids = tuple(ids)
            out = (t_ids, t_ids, text, text)
        else:
            bp = self._bp
            out = (tuple(ids), tuple(i for i in ids if not bp[i]), text,
                   " ".join(t for t in toks if t not in BOILERPLATE))
        self._segs[seg] = out
        return out

    def terms(self, texts: Sequence[str]) -> TermBatch:
        """Contents and term keys of already normalised texts (``analyze(text, normalized=True)``)."""
        if len(self._bp) >= TOKEN_MEMO or self._cutter.stale():
            self._reset_tokens()
        many = len(texts) >= self._many_min or self._cutter.ready
        contents: list[str] = []
        docs, keys = [np.zeros(0, np.int32)], [np.zeros(0, np.int64)]
        for lo in range(0, len(texts), CHUNK):
            doc, key = self._chunk(texts[lo : lo + CHUNK], contents, many)
            docs.append(doc + lo)
            keys.append(key)
        return TermBatch(contents, np.concatenate(docs), np.concatenate(keys))

    def _chunk(self, texts: Sequence[str], contents: list[str], many: bool) -> tuple[np.ndarray, np.ndarray]:
        segs = self._segs
        split = [s.split(" ") if s else [] for s in texts]
        missing = list(dict.fromkeys(x for xs in split for x in xs if x not in segs))
        if len(segs) + len(missing) > SEGMENT_MEMO:  # start afresh (this chunk's segments may pass the bound)
            segs.clear()
            missing = list(dict.fromkeys(x for xs in split for x in xs))
        tok = self._an.tokenizer
        cut = self._cutter.lcut_many(missing) if many else [fastcut.lcut(tok, x) for x in missing]
        for seg, toks in zip(missing, cut, strict=True):
            self._cut(seg, toks)
        chosen: list[tuple[int, ...]] = []
        seg_doc = array("q")
        get = segs.__getitem__
        for i, xs in enumerate(split):
            if not xs:
                contents.append("")
                continue
            parts = list(map(get, xs))
            ids = [p[1] for p in parts if p[1]]  # content tokens of each segment
            if ids:
                contents.append(" ".join([p[3] for p in parts if p[1]]))
            else:  # only boilerplate (or nothing): keep it all, as analyze does
                ids = [p[0] for p in parts if p[0]]
                contents.append(" ".join([p[2] for p in parts if p[0]]))
            chosen += ids
            seg_doc.extend([i] * len(ids))
        seg_len = array("q", map(len, chosen))
        tids = array("q", itertools.chain.from_iterable(chosen))
        if not len(tids):
            return np.zeros(0, np.int32), np.zeros(0, np.int64)
        return self._keys(
            np.frombuffer(tids, dtype=np.int64), np.frombuffer(seg_len, dtype=np.int64),
            np.frombuffer(seg_doc, dtype=np.int64),
        )

    def _keys(self, tids: np.ndarray, seg_len: np.ndarray, seg_doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tok_seg = np.repeat(np.arange(seg_len.shape[0], dtype=np.int64), seg_len)
        tok_doc = seg_doc[tok_seg]
        # units of every token, in order
        ustart = np.frombuffer(self._ustart, dtype=np.int64)
        lo = ustart[tids]
        ulen = ustart[tids + 1] - lo
        uidx = spans(lo, ulen)
        del lo
        uc = np.frombuffer(self._uc, dtype=np.int64)[uidx]
        up = np.frombuffer(self._up, dtype=np.int64)[uidx]
        uk = np.frombuffer(self._uk, dtype=np.int8)[uidx].astype(bool)
        useg = np.repeat(tok_seg, ulen)
        del uidx, ulen, tok_seg
        # pairs of adjacent units of one text: both CJK in one segment, or both non-CJK
        k1, k2 = uk[:-1], uk[1:]
        cjk = k1 & k2 & (useg[:-1] == useg[1:])
        udoc = seg_doc[useg]
        at = np.flatnonzero((udoc[:-1] == udoc[1:]) & (cjk | (~k1 & ~k2)))
        pdoc = udoc[at]
        del useg, udoc, k1, k2, uk
        pk = _PINYIN | (up[at] << 24) | up[at + 1]
        # the first pair of each (text, pinyin key) gives the char key, when both its units are CJK
        _, firsts = np.unique((pdoc << 47) | (pk & _LOW47), return_index=True)
        pdoc, pk, fat = pdoc[firsts], pk[firsts], at[firsts]
        fcjk = cjk[fat]
        ck = _CHAR | (uc[fat[fcjk]] << 24) | uc[fat[fcjk] + 1]
        if self._collided:  # two tokens with one word key (never seen): dedupe the keys themselves
            wk = np.frombuffer(self._wkey, dtype=np.int64)[tids]
            order = np.lexsort((wk, tok_doc))
            wdoc, wk = tok_doc[order], wk[order]
            new = np.ones(wdoc.shape[0], dtype=bool)
            new[1:] = (wdoc[1:] != wdoc[:-1]) | (wk[1:] != wk[:-1])
            wdoc, wk = wdoc[new], wk[new]
        else:  # distinct tokens have distinct word keys: dedupe (text, token)
            wt = np.sort((tok_doc << 40) | tids)
            wt = wt[np.concatenate(([True], wt[1:] != wt[:-1]))]
            wdoc, wk = wt >> 40, np.frombuffer(self._wkey, dtype=np.int64)[wt & _LOW40]
        doc = np.concatenate((wdoc, pdoc, pdoc[fcjk])).astype(np.int32)
        key = np.concatenate((wk, pk, ck))
        order = np.argsort(doc, kind="stable")  # three runs each in text order: merged
        return doc[order], key[order]
