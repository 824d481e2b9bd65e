"""Stable question ids derived from the normalised title.

The id goes into Telegram callback data and deep links, so it is short lowercase ASCII,
identical across re-ingests and machines: the same title (after normalisation) always
gives the same id, whatever the file it came from.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata

from bot.archive.parse import split_title

ID_LENGTH = 12
_ID_RE = re.compile(r"^[a-z0-9_-]{1,32}$")
_DROP = re.compile(r"[\s\W_]+", re.UNICODE)


def title_key(title: str) -> str:
    """The matching key of a title: NFKC, case-folded, no ``第N页``, no spaces or punctuation."""
    text = unicodedata.normalize("NFKC", title)
    text, _ = split_title(text)
    return _DROP.sub("", text.casefold())


def question_id(title: str) -> str:
    """12 base32 characters (60 bits) of a BLAKE2 hash of :func:`title_key`."""
    digest = hashlib.blake2b(title_key(title).encode("utf-8"), digest_size=8).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:ID_LENGTH]


def is_valid_id(value: object) -> bool:
    """Whether ``value`` can serve as a question id (ASCII, short, callback-safe)."""
    return isinstance(value, str) and bool(_ID_RE.match(value))
