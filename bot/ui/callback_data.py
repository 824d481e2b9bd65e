"""Callback-data and deep-link codec: stateless, short ASCII, at most 64 bytes.

Buttons carry only question ids and small numbers, so any process, before or after a restart, can
serve any button. Formats (the leading letter is the format's version: a changed layout gets a new
letter, and old letters keep decoding):

=====================  ==============================================================
``q:<id>``             open question ``id`` (answers from the first)
``q:<id>:<offset>``    open question ``id`` showing answers from ``offset`` (0-based)
``a:<id>:<index>``     whole answer ``index`` (0-based) of question ``id``
``a:<id>:<index>:<p>`` the same, from part ``p`` on (the "continue" button of a very long answer)
``r:<id>:<i>:<chk>``   related link ``i`` of question ``id`` that is *not* in the archive:
                       search its title; ``chk`` = ``title_check(title)`` detects a changed list
``p:<id>:<chk>``       previous discussion of ``id``, not in the archive: search its title
``n:<id>:<chk>``       next discussion of ``id``, not in the archive: search its title
``m:<id>:<shown>``     the related topics of ``id`` not on its first page (whose first ``shown``
                       archived related questions were buttons there)
``x``                  "none of these"
``c:<id>:<qchk>``      a "did you mean" candidate chosen: open ``id`` and record the choice for the
                       query whose ``query_check`` is ``qchk``
``x:<qchk>``           "none of these" for that query (recorded too)
``t:<off>:<n>:<b64>``  topic page from ``off`` of a topic with ``n`` questions; ``b64`` is the topic
                       word's UTF-8 in unpadded URL-safe base64 (a word too long to fit gets no button)
=====================  ==============================================================

Links that *are* in the archive get a plain ``q:<target id>`` button. ``decode`` never raises.
Deep links: ``/start q_<id>``. Ids follow the one rule of :mod:`bot.archive.ids` (at most 32 of
``a-z 0-9 _ -``); numbers go up to :data:`MAX_NUMBER`, so the longest data is 48 bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Literal

from bot.archive.ids import ID_PATTERN
from bot.archive.ids import is_valid_id as _is_valid_id
from bot.models import Link, Question

MAX_BYTES = 64
MAX_NUMBER = 999_999
"""Largest offset/index/part a button carries."""

_ID = ID_PATTERN
_NUM = r"0|[1-9][0-9]{0,5}"
_CHK = r"[0-9a-z]{4}"
_QCHK = r"[0-9a-z]{8}"
_TOTAL = r"0|[1-9][0-9]{0,6}"
MAX_TOTAL = 9_999_999
ID_RE = re.compile(_ID, re.ASCII)
_CHK_RE = re.compile(_CHK, re.ASCII)
_PATTERNS = {
    "q": re.compile(rf"q:({_ID})(?::({_NUM}))?", re.ASCII),
    "a": re.compile(rf"a:({_ID}):({_NUM})(?::({_NUM}))?", re.ASCII),
    "r": re.compile(rf"r:({_ID}):({_NUM}):({_CHK})", re.ASCII),
    "p": re.compile(rf"p:({_ID}):({_CHK})", re.ASCII),
    "n": re.compile(rf"n:({_ID}):({_CHK})", re.ASCII),
    "c": re.compile(rf"c:({_ID}):({_QCHK})", re.ASCII),
    "x": re.compile(rf"x:({_QCHK})", re.ASCII),
    "t": re.compile(rf"t:({_NUM}):({_TOTAL}):([A-Za-z0-9_-]+)", re.ASCII),
    "m": re.compile(rf"m:({_ID}):({_NUM})", re.ASCII),
}
_START_RE = re.compile(rf"q_({_ID})", re.ASCII)
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def is_valid_id(value: object) -> bool:
    """True for a question id this codec can carry: the one id rule of :mod:`bot.archive.ids`."""
    return _is_valid_id(value)


def _check_id(value: str) -> None:
    if not is_valid_id(value):
        raise ValueError(f"not a valid question id: {value!r}")


def _check_number(value: int, what: str) -> None:
    if not (isinstance(value, int) and 0 <= value <= MAX_NUMBER):
        raise ValueError(f"{what} out of range 0..{MAX_NUMBER}: {value!r}")


def title_check(title: str) -> str:
    """A 4-character fingerprint of a title, to tell whether an indexed link still means the same."""
    value = zlib.crc32(unicodedata.normalize("NFC", title.strip()).encode("utf-8", "surrogatepass")) % 36**4
    chars = []
    for _ in range(4):
        value, digit = divmod(value, 36)
        chars.append(_BASE36[digit])
    return "".join(reversed(chars))


def query_check(query: str) -> str:
    """An 8-character key of a normalised query, carried by its "did you mean" buttons."""
    value = int.from_bytes(hashlib.blake2b(query.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")
    value %= 36**8
    chars = []
    for _ in range(8):
        value, digit = divmod(value, 36)
        chars.append(_BASE36[digit])
    return "".join(reversed(chars))


def _check_qcheck(value: object) -> None:
    if not (isinstance(value, str) and re.fullmatch(_QCHK, value, re.ASCII)):
        raise ValueError(f"bad query check: {value!r}")


def _b64(word: str) -> str:
    return base64.urlsafe_b64encode(word.encode("utf-8")).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class Open:
    """Show question ``id`` with answers from ``offset`` (0-based)."""

    id: str
    offset: int = 0

    def __post_init__(self) -> None:
        _check_id(self.id)
        _check_number(self.offset, "offset")


@dataclass(frozen=True)
class FullAnswer:
    """Show the whole answer ``index`` (0-based) of question ``id``, from part ``part`` (0-based) on."""

    id: str
    index: int
    part: int = 0

    def __post_init__(self) -> None:
        _check_id(self.id)
        _check_number(self.index, "index")
        _check_number(self.part, "part")


@dataclass(frozen=True)
class Related:
    """Search for the title of ``related[index]`` of question ``id`` (a link not in the archive)."""

    id: str
    index: int
    check: str

    def __post_init__(self) -> None:
        _check_id(self.id)
        _check_number(self.index, "index")
        if not (isinstance(self.check, str) and _CHK_RE.fullmatch(self.check)):
            raise ValueError(f"bad check: {self.check!r}")


@dataclass(frozen=True)
class Neighbour:
    """Search for the title of the previous or next discussion of question ``id`` (not in the archive)."""

    id: str
    direction: Literal["prev", "next"]
    check: str

    def __post_init__(self) -> None:
        _check_id(self.id)
        if self.direction not in ("prev", "next"):
            raise ValueError(f"bad direction: {self.direction!r}")
        if not (isinstance(self.check, str) and _CHK_RE.fullmatch(self.check)):
            raise ValueError(f"bad check: {self.check!r}")


@dataclass(frozen=True)
class MoreRelated:
    """Show the related topics of question ``id`` beyond its first ``shown`` archived ones."""

    id: str
    shown: int = 0

    def __post_init__(self) -> None:
        _check_id(self.id)
        _check_number(self.shown, "shown")


@dataclass(frozen=True)
class NoneOfThese:
    """The user rejected every "did you mean" candidate (of the query with ``check``, when given)."""

    check: str | None = None

    def __post_init__(self) -> None:
        if self.check is not None:
            _check_qcheck(self.check)


@dataclass(frozen=True)
class Choose:
    """A "did you mean" candidate chosen: open ``id``; ``check`` names the query it was offered for."""

    id: str
    check: str

    def __post_init__(self) -> None:
        _check_id(self.id)
        _check_qcheck(self.check)


@dataclass(frozen=True)
class Topic:
    """A page of the questions about topic ``word``, from ``offset``; ``total`` is shown in the heading."""

    word: str
    offset: int
    total: int

    def __post_init__(self) -> None:
        _check_number(self.offset, "offset")
        if not (isinstance(self.total, int) and 0 <= self.total <= MAX_TOTAL):
            raise ValueError(f"total out of range 0..{MAX_TOTAL}: {self.total!r}")
        if not isinstance(self.word, str) or not self.word.strip() or not topic_fits(self.word):
            raise ValueError(f"topic word empty or too long for a button: {self.word!r}")


def topic_fits(word: str) -> bool:
    """True when a topic button for ``word`` fits 64 bytes at any offset and total."""
    try:
        return len(f"t:{MAX_NUMBER}:{MAX_TOTAL}:{_b64(word)}") <= MAX_BYTES
    except UnicodeEncodeError:  # a lone surrogate
        return False


Action = Open | FullAnswer | Related | Neighbour | MoreRelated | NoneOfThese | Choose | Topic


def encode(action: Action) -> str:
    """Callback data for ``action`` (ASCII, at most 64 bytes)."""
    if isinstance(action, Open):
        data = f"q:{action.id}" if action.offset == 0 else f"q:{action.id}:{action.offset}"
    elif isinstance(action, FullAnswer):
        data = f"a:{action.id}:{action.index}" + (f":{action.part}" if action.part else "")
    elif isinstance(action, Related):
        data = f"r:{action.id}:{action.index}:{action.check}"
    elif isinstance(action, Neighbour):
        data = f"{action.direction[0]}:{action.id}:{action.check}"
    elif isinstance(action, MoreRelated):
        data = f"m:{action.id}:{action.shown}"
    elif isinstance(action, NoneOfThese):
        data = "x" if action.check is None else f"x:{action.check}"
    elif isinstance(action, Choose):
        data = f"c:{action.id}:{action.check}"
    elif isinstance(action, Topic):
        data = f"t:{action.offset}:{action.total}:{_b64(action.word)}"
    else:
        raise TypeError(f"not an action: {action!r}")
    assert len(data.encode("ascii")) <= MAX_BYTES, data
    return data


def decode(data: object) -> Action | None:
    """The action in callback ``data``, or None for anything forged, truncated, unknown or oversize."""
    if not isinstance(data, str) or not data or len(data) > MAX_BYTES or not data.isascii():
        return None
    if data == "x":
        return NoneOfThese()
    pattern = _PATTERNS.get(data[0])
    m = pattern.fullmatch(data) if pattern else None
    if m is None:
        return None
    kind = data[0]
    if kind == "q":
        return Open(m.group(1), int(m.group(2) or 0))
    if kind == "a":
        return FullAnswer(m.group(1), int(m.group(2)), int(m.group(3) or 0))
    if kind == "r":
        return Related(m.group(1), int(m.group(2)), m.group(3))
    if kind == "c":
        return Choose(m.group(1), m.group(2))
    if kind == "x":
        return NoneOfThese(m.group(1))
    if kind == "t":
        return _decode_topic(data, m)
    if kind == "m":
        return MoreRelated(m.group(1), int(m.group(2)))
    return Neighbour(m.group(1), "prev" if kind == "p" else "next", m.group(2))


def _decode_topic(data: str, m: re.Match[str]) -> Topic | None:
    b64 = m.group(3)
    try:
        word = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).decode("utf-8")
        action = Topic(word, int(m.group(1)), int(m.group(2)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return action if encode(action) == data else None  # only the canonical form


def resolve(question: Question, action: Related | Neighbour) -> Link | None:
    """The link ``action`` points at in ``question``, or None if the list changed since (stale button)."""
    if action.id != question.id:
        return None
    link: Link | None
    if isinstance(action, Related):
        link = question.related[action.index] if action.index < len(question.related) else None
    else:
        link = question.prev if action.direction == "prev" else question.next
    if link is None or title_check(link.title) != action.check:
        return None
    return link


def encode_start_payload(question_id: str) -> str:
    """The ``/start`` deep-link payload for a question: ``q_<id>`` (≤ 64 chars, ``[A-Za-z0-9_-]``)."""
    _check_id(question_id)
    return f"q_{question_id}"


def decode_start_payload(payload: object) -> str | None:
    """The question id in a ``/start`` payload, or None if it is not one of ours."""
    if not isinstance(payload, str) or len(payload) > MAX_BYTES:
        return None
    m = _START_RE.fullmatch(payload)
    return m.group(1) if m else None


def deep_link(bot_username: str, question_id: str) -> str:
    """``https://t.me/<bot>?start=q_<id>``: opens the bot and shows the question."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={encode_start_payload(question_id)}"
