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
``x``                  "none of these"
=====================  ==============================================================

Links that *are* in the archive get a plain ``q:<target id>`` button. ``decode`` never raises.
Deep links: ``/start q_<id>``. Ids follow the one rule of :mod:`bot.archive.ids` (at most 32 of
``a-z 0-9 _ -``); numbers go up to :data:`MAX_NUMBER`, so the longest data is 48 bytes.
"""

from __future__ import annotations

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
ID_RE = re.compile(_ID, re.ASCII)
_CHK_RE = re.compile(_CHK, re.ASCII)
_PATTERNS = {
    "q": re.compile(rf"q:({_ID})(?::({_NUM}))?", re.ASCII),
    "a": re.compile(rf"a:({_ID}):({_NUM})(?::({_NUM}))?", re.ASCII),
    "r": re.compile(rf"r:({_ID}):({_NUM}):({_CHK})", re.ASCII),
    "p": re.compile(rf"p:({_ID}):({_CHK})", re.ASCII),
    "n": re.compile(rf"n:({_ID}):({_CHK})", re.ASCII),
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
class NoneOfThese:
    """The user rejected every "did you mean" candidate."""


Action = Open | FullAnswer | Related | Neighbour | NoneOfThese


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
    elif isinstance(action, NoneOfThese):
        data = "x"
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
    return Neighbour(m.group(1), "prev" if kind == "p" else "next", m.group(2))


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
