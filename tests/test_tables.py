"""The shared static tables (synonyms, pinyin): the same answers as the Python dicts they replace, kept in
a memory-mapped file that is reused, rebuilt when damaged, and held in memory when it cannot be written;
and the normaliser's translate table, equal to the per-character test it replaced."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypinyin.pinyin_dict import pinyin_dict

from bot.answerer import load_matcher
from bot.search.analysis import Analyzer, Normalizer
from bot.search.lexicon import SYL_BASE, build_pinyin_table, load_synonyms
from bot.search.matcher import Matcher
from bot.search.tables import map_tables, open_tables, source_digest
from bot.storage.ingest import ingest
from bot.storage.store import Store
from tests.pages import make_page, write

_NORM = Normalizer()


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    return open_tables(tmp_path_factory.mktemp("tables"))


def test_shared_synonyms_give_the_thesaurus_sets(tables):
    syn = load_synonyms()
    assert len(tables.synonyms) == len(syn) > 1000
    assert list(tables.synonyms) == list(syn)
    for word, groups in syn.items():
        assert tables.synonyms[word] == tuple(sorted(groups))
        assert tables.synonyms.get(word) == tuple(sorted(groups))
    assert tables.synonyms.get("不是一个词语吧", ()) == ()
    assert "不是一个词语吧" not in tables.synonyms and "提高" in tables.synonyms
    with pytest.raises(KeyError):
        tables.synonyms["不是一个词语吧"]


def test_shared_synonym_members_list_each_sets_words_in_order(tables):
    members: dict[int, list[str]] = {}
    for word, groups in load_synonyms().items():
        for g in groups:
            members.setdefault(g, []).append(word)
    assert dict(tables.members.items()) == {g: tuple(ws) for g, ws in members.items()}
    assert any({"提高", "提升"} <= set(tables.members[g]) for g in tables.synonyms["提高"])


def test_shared_pinyin_table_equals_the_one_from_pypinyin(tables):
    def toneless(reading: str) -> str:
        decomposed = unicodedata.normalize("NFD", reading.replace("ü", "v"))
        return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")

    per_char = {cp: toneless(v.split(",")[0]) for cp, v in pinyin_dict.items()}
    sid = {s: i for i, s in enumerate(sorted(set(per_char.values())))}
    expected = {chr(cp): SYL_BASE + sid[s] for cp, s in per_char.items() if cp < 0x110000}
    assert build_pinyin_table() == expected
    assert tables.pinyin() == expected
    assert tables.pinyin()["差"] == tables.pinyin()["叉"]


def test_tables_file_is_mapped_read_only_and_reused(tmp_path):
    first = open_tables(tmp_path)
    assert first.path is not None and first.path.startswith(str(tmp_path))
    arrays = map_tables(first.path, source_digest())
    assert arrays is not None
    assert all(isinstance(a.base, np.memmap) or a.size == 0 for a in arrays.values())
    assert not arrays["slots"].flags.writeable
    again = open_tables(tmp_path)
    assert again.path == first.path
    assert again.synonyms["提升"] == first.synonyms["提升"]


def test_damaged_tables_file_is_rebuilt(tmp_path):
    path = open_tables(tmp_path).path
    raw = bytearray(Path(path).read_bytes())
    raw[-5] ^= 0xFF  # inside the last array: its crc no longer matches
    Path(path).write_bytes(bytes(raw))
    assert map_tables(path, source_digest()) is None
    rebuilt = open_tables(tmp_path)
    assert rebuilt.path == path and map_tables(path, source_digest()) is not None
    assert dict(rebuilt.members.items()) == dict(open_tables(tmp_path).members.items())


def test_unwritable_folder_keeps_the_tables_in_memory(tmp_path):
    missing = tmp_path / "no" / "such" / "folder"
    tables = open_tables(missing)
    assert tables.path is None
    assert tables.synonyms["提高"] == tuple(sorted(load_synonyms()["提高"]))


def test_analyzer_tokens_and_keys_use_the_shared_pinyin(tables):
    an = Analyzer(tables=tables)
    assert an._py == build_pinyin_table()
    # a homophone typo shares the pinyin bigram with the right title
    a, b = an.analyze("残差网络"), an.analyze("残叉网络")
    assert {pk for _c, pk in a.positions} & {pk for _c, pk in b.positions}


def test_matcher_never_loads_pypinyins_phrase_tables():
    code = (
        "import sys\n"
        "from bot.search.matcher import Matcher\n"
        "m = Matcher.from_titles([('a', '残差连接为什么有效')])\n"
        "assert m.search('残叉连接为什么有效', 1)[0][0] == 'a'\n"
        "print(sorted(n for n in sys.modules if n.startswith('pypinyin')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def _reference_normalize(norm, text: str, cap: int = 200) -> str:
    """The normaliser as it was before the translate table (per-character generator)."""
    import re

    from bot.search.analysis import HK_VARIANTS, RAW_CAP_FACTOR, _has_surrogate, _keep_char

    if not text:
        return ""
    raw_cap = cap * RAW_CAP_FACTOR
    s = text[:raw_cap]
    s = s.encode("utf-8", "replace").decode("utf-8", "replace").replace("?", " ") if _has_surrogate(s) else s
    s = unicodedata.normalize("NFKC", s).casefold()
    s = "".join(HK_VARIANTS.get(ch, ch) if _keep_char(ch) else " " for ch in s[:raw_cap])
    s = re.sub(r"\s+", " ", s).strip()
    if not s:
        return ""
    s = norm._cc.convert(s.replace("么", "麼"))  # a Simplified 么 stays 么 (NORMALIZER_VERSION 2)
    s = re.sub(r"第\s*[0-9一二三四五六七八九十百零〇两]+\s*页", " ", s)
    return re.sub(r"\s+", " ", s).strip()[:cap].rstrip()


@settings(max_examples=400, deadline=None)
@given(text=st.text(max_size=60))
def test_normaliser_with_the_translate_table_equals_the_per_character_test(text):
    norm = _NORM
    assert norm.normalize(text) == _reference_normalize(norm, text)


def test_normaliser_translate_table_is_bounded(monkeypatch):
    from bot.search import analysis

    monkeypatch.setattr(analysis, "KEEP_TABLE_MAX", 50)
    norm = Normalizer()
    text = "".join(chr(0x4E00 + i) for i in range(200)) + "，。!? abc"
    assert norm.normalize(text) == _reference_normalize(norm, text)
    assert len(norm._keep) <= 50


def test_a_loaded_matcher_maps_the_tables_beside_its_index(tmp_path):
    folder = tmp_path / "var-lib"
    folder.mkdir()
    Matcher.from_titles([("a", "残差连接为什么有效"), ("b", "怎样才能提高英语口语水平")]).save(folder / "i.bin", "fp")
    m = Matcher.load(folder / "i.bin", "fp")
    assert m is not None and m._an.tables.path == str(folder / f"archive-bot-tables-{source_digest()}.bin")
    assert m.search("怎样才能提升英语口语水平", 1)[0][0] == "b"  # 提升/提高: synonyms from that file


def test_tables_of_an_earlier_digest_are_removed_when_new_ones_are_written(tmp_path):
    stale = tmp_path / "archive-bot-tables-0123456789abcdef.bin"
    stale.write_bytes(b"old")
    other = tmp_path / "unrelated.bin"
    other.write_bytes(b"keep")
    tables = open_tables(tmp_path)
    assert tables.path is not None and not stale.exists() and other.exists()


def test_saving_an_index_readies_the_tables_beside_it(tmp_path):
    pages = tmp_path / "pages"
    write(pages, "p.txt", make_page("残差连接为什么有效"))
    folder = tmp_path / "index-folder"
    folder.mkdir()
    store = Store.open(str(tmp_path / "a.db"))
    try:
        ingest(store, [str(pages)])
        load_matcher(store, str(folder / "index.bin"))
    finally:
        store.close()
    assert (folder / f"archive-bot-tables-{source_digest()}.bin").exists()
