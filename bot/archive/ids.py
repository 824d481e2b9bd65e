"""Stable question ids derived from the title: the one id rule, used by the importer and the callback codec.

The id goes into Telegram callback data and deep links, so it is short lowercase ASCII,
identical across re-ingests and machines: the same title (after folding) always gives the same id,
whatever the file it came from.

Folding keeps what tells questions apart. It folds only case, width (NFKC), spaces, a trailing
``第N页`` and *sentence* punctuation (``? ! . , ; : 。 、`` and quotes, unless it sits inside a word
such as ``3.5`` or ``Node.js``); symbols that carry meaning stay: ``C++``, ``C`` and ``C#`` are
three questions, as are ``？？？`` and ``！！！`` (a title of nothing but punctuation keeps it all).

Ids made by the first rule (every non-word character dropped) are :func:`legacy_question_id`; the
store keeps an alias table so buttons and deep links already sent keep working.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple

from bot.archive.parse import split_title

ID_LENGTH = 12
ID_PATTERN = r"[a-z0-9_-]{1,32}"
"""Every question id, computed (12 base32 characters) or given by a JSON Lines record."""
_ID_RE = re.compile(ID_PATTERN, re.ASCII)
_SENTENCE_PUNCT = re.compile(r"[?!.,;:。、…~\"'`“”‘’「」『』《》〈〉]+")
_ASCII_ALNUM = re.compile(r"[A-Za-z0-9]", re.ASCII)
_SPACE = re.compile(r"\s+", re.UNICODE)
_LEGACY_DROP = re.compile(r"[\s\W_]+", re.UNICODE)
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648's alphabet, lower case
#: every pair of base32 characters, indexed by its 10 bits: an id is 6 lookups (base64.b32encode is pure Python)
_BASE32_PAIRS = tuple(a + b for a in _BASE32 for b in _BASE32)


def _fold_punct(m: re.Match[str]) -> str:
    text, start, end = m.string, m.start(), m.end()
    inside_word = (start > 0 and end < len(text) and _ASCII_ALNUM.match(text[start - 1])
                   and _ASCII_ALNUM.match(text[end]))
    return m.group(0) if inside_word else ""


def title_key(title: str) -> str:
    """The identity of a title: NFKC, case-folded, no ``第N页``, spaces and sentence punctuation folded."""
    text, _ = split_title(unicodedata.normalize("NFKC", title))
    text = _SPACE.sub("", text.casefold())
    key = _SENTENCE_PUNCT.sub(_fold_punct, text)
    return key or text  # "？？？" and "！！！" stay apart


def _hash_id(key: str) -> str:
    """The first 60 bits of the 8-byte BLAKE2 digest in lower-case base32 (what ``b32encode(digest)[:12]`` gives)."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    n, p = int.from_bytes(digest, "big") >> 4, _BASE32_PAIRS
    return (p[n >> 50] + p[(n >> 40) & 1023] + p[(n >> 30) & 1023] + p[(n >> 20) & 1023]
            + p[(n >> 10) & 1023] + p[n & 1023])


def question_id(title: str) -> str:
    """12 base32 characters (60 bits) of a BLAKE2 hash of :func:`title_key`."""
    return _hash_id(title_key(title))


class PageIds(NamedTuple):
    """The ids a page is stored under: its question's, the first id rule's for it, each related title's."""

    question: str
    legacy: str
    related: tuple[str, ...]


def page_ids(title: str, related: Iterable[str]) -> PageIds:
    """The :class:`PageIds` of a page (or a JSON Lines record) with this title and these related titles."""
    return PageIds(question_id(title), legacy_question_id(title), tuple(map(question_id, related)))


def legacy_question_id(title: str) -> str:
    """The id the first rule gave (every space, symbol and punctuation mark dropped): for aliases only."""
    text, _ = split_title(unicodedata.normalize("NFKC", title))
    return _hash_id(_LEGACY_DROP.sub("", text.casefold()))


def is_valid_id(value: object) -> bool:
    """Whether ``value`` can serve as a question id (ASCII, short, callback- and deep-link-safe)."""
    return isinstance(value, str) and _ID_RE.fullmatch(value) is not None
