"""Text normalisation, tokenisation and term keys for matching Chinese questions.

``Normalizer.normalize`` gives a display-independent form of a text (NFKC, casefold, Traditional to
Simplified, punctuation and emoji to spaces, ``第N页`` dropped).  ``Analyzer`` adds jieba tokenisation,
question-boilerplate removal and the integer term keys the inverted index is built from:

* word keys (one per distinct content token),
* character-bigram keys (two adjacent CJK characters, or two adjacent non-CJK runs such as
  ``mlp mixer``),
* pinyin-bigram keys (the same bigram with every CJK character replaced by its toneless pinyin), so
  a homophone IME typo (残叉网络 for 残差网络) still shares the pinyin key with the right title.

Keys are 64-bit integers, stable across processes (no ``hash()``), so a saved index stays valid.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import re
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import jieba
import opencc

from bot.search import fastcut, jiebadict
from bot.search.lexicon import (  # noqa: F401  (re-exported: the names analysis always offered)
    BOILERPLATE,
    EXTRA_SYNONYMS,
    MAX_SYNONYM_SET,
    build_pinyin_table,
    load_synonyms,
)
from bot.search.tables import Tables, open_tables

_PAGE_RE = re.compile(r"第\s*[0-9一二三四五六七八九十百零〇两]+\s*页")
CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
#: Units: one CJK character, or a run of ASCII letters, of digits, or of other letters.  Splitting
#: letters from digits makes "resnet50" and "resnet 50" share their bigram.
UNIT_RE = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]|[a-z]+|[0-9]+"
    r"|[^a-z0-9\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+"
)
_SPACE_RE = re.compile(r"\s+")
#: The same rules over texts joined by newlines (:meth:`Normalizer.normalize_many`), where every other
#: whitespace is one space by then: a line's page marker, runs of spaces, a space at a line's ends.
_PAGE_LINE_RE = re.compile(r"第 ?[0-9一二三四五六七八九十百零〇两]+ ?页")
_SPACES_RE = re.compile(r" {2,}")
_LINE_EDGE_RE = re.compile(r" ?\n ?")

#: Term types, stored in the top byte of a key.
T_CHAR, T_PINYIN, T_WORD = 1, 2, 3
TYPE_SHIFT = 56
_LOW56 = (1 << 56) - 1
_RUN_BASE = 1 << 21  # codes of non-CJK runs: 2^21 + 21-bit crc

#: Word keys remembered per Analyzer (a blake2b per token is a tenth of a title's analysis).
WORD_KEY_MEMO = 1 << 17
#: Analyses of the last texts kept (one query is analysed by the shortlist, the features and the topic check).
RECENT_ANALYSES = 64
#: How many raw characters are looked at before normalisation (bounds work on huge inputs).
RAW_CAP_FACTOR = 4


def _keep_char(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return (cat[0] in "LN" and cat != "Nl") or ch == " "


#: Characters remembered by a :class:`KeepTable` before it starts afresh (bounds memory on hostile input).
KEEP_TABLE_MAX = 1 << 15


#: The Hong Kong variant characters that OpenCC's ``tw2s`` and ``tw2sp`` leave as they are (衞生 stayed 衞生,
#: never 卫生), to their Simplified forms; every other Hong Kong variant they convert (checked over
#: U+3400..U+9FFF against its ``hk2s``).
HK_VARIANTS: dict[str, str] = {"敍": "叙", "枱": "台", "粧": "妆", "糭": "粽", "衞": "卫", "衹": "只"}


class KeepTable(dict[int, str]):
    """``str.translate`` table of :func:`_keep_char`: a kept character maps to itself (one of
    :data:`HK_VARIANTS` to its Simplified form), any other to a space.  Filled as characters are met, so
    the per-character test runs in C after the first time."""

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        out = HK_VARIANTS.get(ch, ch) if _keep_char(ch) else " "
        if len(self) >= KEEP_TABLE_MAX:
            self.clear()
        self[cp] = out
        return out


#: Bumped when :class:`Normalizer` changes what a text becomes (a saved index of titles normalised otherwise is
#: stale).  2: a Simplified 么 stays 么 (it became 幺).  3: the Hong Kong variants of :data:`HK_VARIANTS`;
#: Traditional characters converted alone (OpenCC ``tw2s``), no longer with Taiwan phrases (``tw2sp``), which
#: also rewrote Simplified titles (程序员 → 进程员, 新增 → 添加, 布林肯 → 布尔肯; 1.6 % of 180,416 titles).
NORMALIZER_VERSION = 3


class Normalizer:
    """Display-independent normal form of a text.  Never raises; builds its OpenCC converters once."""

    def __init__(self, max_chars: int = 200) -> None:
        self.max_chars = max_chars
        self._cc = opencc.OpenCC("tw2s")  # Traditional characters (and Taiwan variants) to Simplified ones
        self._phrases = opencc.OpenCC("tw2sp")  # ... and Taiwan wording to mainland wording (see readings)
        self._keep = KeepTable()
        # (text, cap, normal form, the text before OpenCC when it had Traditional characters, else ""):
        # a query is normalised by several steps
        self._last: tuple[str, int, str, str] = ("", 0, "", "")

    def normalize(self, text: object, max_chars: int | None = None) -> str:
        """NFKC, casefold, Traditional to Simplified characters, punctuation/emoji/control chars to single
        spaces, ``第N页`` dropped, truncated to ``max_chars`` (default: the instance's) characters."""
        return self._forms(text, max_chars)[0]

    def readings(self, text: object) -> tuple[str, ...]:
        """A query's normal form, then, when the query is in Traditional characters and OpenCC's Taiwan
        phrases give it other wording, that wording too (軟體 → 软件, 程式設計師 → 程序员, where the normal
        form keeps 软体, 程式设计师); :class:`~bot.search.matcher.Matcher` keeps the reading that matches
        better.  Simplified text has one reading; nothing to match: none."""
        out, traditional = self._forms(text, None)
        if not out:
            return ()
        if not traditional:
            return (out,)
        alt = _finish(_convert(self._phrases, traditional), self.max_chars)
        return (out,) if alt == out or not alt else (out, alt)

    def _forms(self, text: object, max_chars: int | None) -> tuple[str, str]:
        """``(normal form, the text as it was before OpenCC when it had Traditional characters, else "")``,
        remembered for the last text."""
        if not isinstance(text, str) or not text:
            return "", ""
        cap = self.max_chars if max_chars is None else max_chars
        last = self._last  # one tuple, read and replaced whole: safe to share between threads
        if last[1] == cap and last[0] == text:
            return last[2], last[3]
        pre = self._prepare(text, cap)
        simplified = _convert(self._cc, pre) if pre else ""
        out, traditional = _finish(simplified, cap), (pre if simplified != pre else "")
        self._last = (text, cap, out, traditional)
        return out, traditional

    def _prepare(self, text: str, cap: int) -> str:
        """NFKC, casefold, kept characters, single spaces: everything before OpenCC."""
        raw_cap = cap * RAW_CAP_FACTOR
        s = text[:raw_cap]
        # lone surrogates and other unencodable code points go away first: OpenCC needs valid UTF-8
        s = (
            s.encode("utf-8", "replace").decode("utf-8", "replace").replace("?", " ")
            if _has_surrogate(s)
            else s
        )
        s = unicodedata.normalize("NFKC", s).casefold()
        s = s[:raw_cap].translate(self._keep)
        return _SPACE_RE.sub(" ", s).strip()

    def normalize_many(self, texts: Sequence[object], max_chars: int | None = None) -> list[str]:
        """:meth:`normalize` of each text, with NFKC, OpenCC and the regexes run once over the texts joined
        by newlines (10^6 titles: 12.5 -> 7.6 s).  A newline inside a text is a space either way; a batch
        with a lone surrogate, or one the steps would not keep line for line, goes text by text."""
        cap = self.max_chars if max_chars is None else max_chars
        out = self._joined(texts, cap)
        return [self.normalize(t, max_chars=cap) for t in texts] if out is None else out

    def _joined(self, texts: Sequence[object], cap: int) -> list[str] | None:
        """:meth:`normalize_many` over the joined texts; None when it cannot keep them line for line."""
        raw_cap = cap * RAW_CAP_FACTOR
        pre = [t[:raw_cap].replace("\n", " ") if isinstance(t, str) else "" for t in texts]
        joined = "\n".join(pre)
        if _has_surrogate(joined):
            return None
        parts = unicodedata.normalize("NFKC", joined).casefold().split("\n")
        if len(parts) != len(pre):
            return None
        keep = self._keep
        joined = "\n".join([(p if len(p) <= raw_cap else p[:raw_cap]).translate(keep) for p in parts])
        joined = _LINE_EDGE_RE.sub("\n", _SPACES_RE.sub(" ", joined)).strip(" ")
        try:
            joined = self._cc.convert(joined.replace("么", "麼"))  # as in _convert
        except Exception:  # never seen on valid UTF-8; _convert has its own guard (and keeps the text)
            return None
        joined = _PAGE_LINE_RE.sub(" ", joined)
        out = _LINE_EDGE_RE.sub("\n", _SPACES_RE.sub(" ", joined)).strip(" ").split("\n")
        if len(out) != len(pre):
            return None
        return [s if len(s) <= cap else s[:cap].rstrip() for s in out]


def _convert(cc: opencc.OpenCC, s: str) -> str:
    """``s`` through OpenCC; a lone 么 is read as Simplified (OpenCC takes it for Traditional 幺: 上班么)."""
    with contextlib.suppress(Exception):  # OpenCC is robust on valid UTF-8; never let it raise
        return cc.convert(s.replace("么", "麼"))
    return s


def _finish(s: str, cap: int) -> str:
    """After OpenCC: ``第N页`` dropped, single spaces, at most ``cap`` characters."""
    s = _SPACE_RE.sub(" ", _PAGE_RE.sub(" ", s)).strip()
    return s[:cap].rstrip()


def _has_surrogate(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False



def run_code(run: str) -> int:
    """Code of a non-CJK unit (a run of letters, digits or other characters): 2^21 + a 21-bit crc."""
    return _RUN_BASE + (zlib.crc32(run.encode("utf-8", "replace")) & (_RUN_BASE - 1))


def char_bigram_key(c1: int, c2: int) -> int:
    """Key of the bigram of two CJK characters (their code points); ``batch.py`` builds the same, vectorised."""
    return (T_CHAR << TYPE_SHIFT) | (c1 << 24) | c2


def word_key(word: str) -> int:
    """Stable 64-bit key of a word."""
    h = int.from_bytes(hashlib.blake2b(word.encode("utf-8", "replace"), digest_size=7).digest(), "big")
    return (T_WORD << TYPE_SHIFT) | (h & _LOW56)


@dataclass(frozen=True)
class Analysis:
    """Terms of one text.

    ``content`` is the space-joined content tokens (boilerplate removed); ``words`` the distinct word
    keys; ``positions`` the distinct ``(char_bigram_key | None, pinyin_bigram_key)`` pairs, where the char
    key is None when the pair has no CJK character (then both keys would say the same).
    """

    content: str
    words: tuple[int, ...]
    positions: tuple[tuple[int | None, int], ...]
    #: per position: True when its two units come from different jieba tokens (a word junction)
    junctions: tuple[bool, ...] = ()

    def keys(self) -> list[int]:
        out = list(self.words)
        for ck, pk in self.positions:
            if ck is not None:
                out.append(ck)
            out.append(pk)
        return list(dict.fromkeys(out))


class Analyzer:
    """Normaliser + jieba tokenizer instance + pinyin table; turns a text into an :class:`Analysis`.

    The jieba dictionary is loaded eagerly here (~0.2 s from its cache in the temp dir, :mod:`jiebadict`),
    never lazily on the first query.  ``extra_words`` (archive terms, alias sides) are added to this
    tokenizer only.  The pinyin table and the synonyms come from the host's shared
    :class:`~bot.search.tables.Tables` (``tables``).
    """

    def __init__(self, max_chars: int = 200, extra_words: Iterable[str] = (), tables: Tables | None = None) -> None:
        self.normalizer = Normalizer(max_chars)
        logging.getLogger("jieba").setLevel(logging.WARNING)
        tok = jieba.Tokenizer()
        jiebadict.initialize(tok)
        self._tok = tok
        self.tables = tables or open_tables()
        self._py = self.tables.pinyin()
        self._wkeys: dict[str, int] = {}  # word_key memo (bounded: cleared when full)
        self._recent: dict[str, Analysis] = {}  # the last texts' analyses (a query is analysed by several steps)
        self.extra_words: tuple[str, ...] = ()
        self.add_words(extra_words)

    @property
    def tokenizer(self) -> jieba.Tokenizer:
        """This analyzer's jieba tokenizer (with its added words)."""
        return self._tok

    @property
    def pinyin(self) -> dict[str, int]:
        """Character -> toneless pinyin code (the host's shared table)."""
        return self._py

    def add_words(self, words: Iterable[str]) -> None:
        """Add terms to this instance's jieba dictionary (construction time only: changes tokenisation)."""
        new = [w for w in dict.fromkeys(words) if w and " " not in w and w not in self.extra_words]
        tok = self._tok
        for w in new:
            cjk = CJK_RE.search(w)
            freq = tok.suggest_freq(w, tune=False) if cjk else 0
            total = tok.total
            tok.add_word(w, freq=max(freq, tok.FREQ.get(w) or 0, 100))
            if not cjk:
                # a word without CJK leaves jieba's total alone, so it changes only the tokens of texts
                # that contain it (what lets an incremental index update add or drop archive words)
                tok.total = total
        self.extra_words = self.extra_words + tuple(new)
        self._recent.clear()  # tokens changed

    def normalize(self, text: object) -> str:
        return self.normalizer.normalize(text)

    def word_keys(self, words: Iterable[str]) -> list[int]:
        """:func:`word_key` of each word (remembered, like the words of analysed texts)."""
        memo = self._wkeys
        out = []
        for w in words:
            wk = memo.get(w)
            if wk is None:
                if len(memo) >= WORD_KEY_MEMO:
                    memo.clear()
                wk = memo[w] = word_key(w)
            out.append(wk)
        return out

    def tokens(self, normalized: str) -> list[list[str]]:
        """Content tokens per whitespace-separated segment of an already normalised text."""
        segments = [[t for t in fastcut.lcut(self._tok, seg) if t.strip()] for seg in normalized.split(" ")]
        content = [[t for t in seg if t not in BOILERPLATE] for seg in segments]
        if not any(content):  # only boilerplate: keep it, it is all we have
            content = segments
        return [seg for seg in content if seg]

    def analyze(self, text: object, *, normalized: bool = False) -> Analysis:
        s = text if normalized and isinstance(text, str) else self.normalize(text)
        if not s:
            return Analysis("", (), ())
        recent = self._recent
        got = recent.get(s)
        if got is None:
            if len(recent) >= RECENT_ANALYSES:
                recent.clear()
            got = recent[s] = self._analyze(s)
        return got

    def _analyze(self, s: str) -> Analysis:
        segs = self.tokens(s)
        py = self._py
        words: dict[int, None] = {}
        units: list[tuple[int, int, bool, int, int]] = []  # (char code, pinyin code, is_cjk, segment, token)
        n_tok = 0
        wkeys = iter(self.word_keys([tok for seg in segs for tok in seg]))
        for si, seg in enumerate(segs):
            for tok in seg:
                words[next(wkeys)] = None
                n_tok += 1
                for u in UNIT_RE.findall(tok):
                    if len(u) == 1 and CJK_RE.match(u):
                        c = ord(u)
                        units.append((c, py.get(u, c), True, si, n_tok))
                    else:
                        c = run_code(u)
                        units.append((c, c, False, si, n_tok))
        positions: dict[int, int | None] = {}
        junction: dict[int, bool] = {}
        for (c1, p1, k1, s1, t1), (c2, p2, k2, s2, t2) in itertools.pairwise(units):
            if k1 and k2 and s1 == s2:
                ck: int | None = char_bigram_key(c1, c2)
            elif not k1 and not k2:
                ck = None
            else:
                continue
            pk = (T_PINYIN << TYPE_SHIFT) | (p1 << 24) | p2
            if pk not in positions:
                positions[pk] = ck
            junction[pk] = junction.get(pk, True) and t1 != t2
        content = " ".join(" ".join(seg) for seg in segs)
        return Analysis(
            content, tuple(words), tuple((ck, pk) for pk, ck in positions.items()),
            tuple(junction[pk] for pk in positions),
        )
