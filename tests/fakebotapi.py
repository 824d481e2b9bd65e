"""A local fake of the Telegram Bot API for end-to-end tests and benchmarks.

The real python-telegram-bot ``Bot``/``Application`` talks to it through ``base_url``::

    async with FakeBotAPI(token="123:ABC") as api:
        bot = telegram.Bot("123:ABC", base_url=api.base_url)

It speaks Telegram's wire format (``POST {base_url}{token}/{method}`` with a form-encoded,
multipart or JSON body; answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ...,
"description": ...}``), rejects what Telegram rejects, simulates users pushing updates, records every
call and injects faults deterministically.

Run standalone (for benchmarks / subprocess tests)::

    python -m tests.fakebotapi --port 0 --token 123:ABC

prints one JSON line ``{"base_url": ..., "port": ..., "token": ..., "control_url": ...}`` and serves
until SIGINT/SIGTERM.  The ``/_fake/...`` HTTP control endpoints (see ``_control_routes``) let another
process push updates and read records.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

JSON = dict[str, Any]

MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTONS_PER_ROW = 8
MAX_BUTTONS_TOTAL = 100
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_INLINE_RESULTS = 50

FAULT_KINDS = ("500", "502", "429", "delay", "drop", "lost", "hang")
"""Fault kinds: HTTP 500, HTTP 502, HTTP 429 with ``retry_after``, a slow response (processed after
``delay`` seconds), a dropped connection (nothing processed), ``lost`` (processed and recorded,
then the connection is dropped before the response) and ``hang`` (the request stalls ``delay``
seconds, then the connection is dropped: it never reached "Telegram", nothing processed)."""

DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
ALL_UPDATE_TYPES = DEFAULT_ALLOWED_UPDATES | {"chat_member", "message_reaction", "message_reaction_count"}

MESSAGE_CREATING_METHODS = frozenset({"sendmessage", "senddocument", "sendphoto"})

_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "results",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "button",
        "media",
        "options",
        "message_ids",
        "reaction",
        "prices",
        "permissions",
    }
)
_INT_FIELDS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "reply_to_message_id",
        "message_thread_id",
        "max_connections",
        "user_id",
        "from_chat_id",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "is_personal",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "allow_paid_broadcast",
    }
)
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_INLINE_RESULT_TYPES = frozenset(
    {
        "article",
        "photo",
        "gif",
        "mpeg4_gif",
        "video",
        "audio",
        "voice",
        "document",
        "location",
        "venue",
        "contact",
        "game",
        "sticker",
    }
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


# --------------------------------------------------------------------------------------------------
# errors and records


class ApiError(Exception):
    """A Bot API error answered as ``{"ok": false, ...}``."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad_request(description: str) -> ApiError:
    """A 400 error; ``description`` without the ``Bad Request: `` prefix is prefixed."""
    if not description.startswith("Bad Request: "):
        description = "Bad Request: " + description
    return ApiError(400, description)


class EntityParseError(ValueError):
    """Text formatting could not be parsed (becomes ``can't parse entities: ...``)."""


@dataclasses.dataclass
class Call:
    """One request the bot made."""

    method: str
    params: JSON
    time: float
    status: int = 0
    ok: bool = False
    description: str | None = None
    fault: str | None = None
    result: Any = None


@dataclasses.dataclass
class Rejection:
    """A request answered with an error a well-behaved bot should never cause."""

    method: str
    error_code: int
    description: str
    params: JSON
    time: float


@dataclasses.dataclass
class InjectedFault:
    """A fault the server injected."""

    method: str
    kind: str
    time: float
    params: JSON


@dataclasses.dataclass
class FaultSpec:
    """What to do instead of (or around) a normal answer."""

    kind: str
    retry_after: int = 1
    delay: float | None = None


@dataclasses.dataclass
class PushedUpdate:
    """An update a simulated user produced."""

    update_id: int
    kind: str
    chat_id: int | None
    time: float
    update: JSON


@dataclasses.dataclass
class BotMessage:
    """A message the bot sent; ``text``/``reply_markup`` reflect later edits."""

    chat_id: int
    message_id: int
    text: str | None
    entities: list[JSON]
    reply_markup: JSON | None
    date: int
    time: float
    method: str
    raw: JSON
    reply_to_update: int | None = None
    fault: str | None = None
    edits: int = 0
    history: list[tuple[str | None, JSON | None]] = dataclasses.field(default_factory=list)
    deleted: bool = False

    def buttons(self) -> list[JSON]:
        """All inline keyboard buttons, row by row."""
        if not self.reply_markup:
            return []
        return [b for row in self.reply_markup.get("inline_keyboard", []) for b in row]

    def button(self, text: str) -> JSON:
        """The inline button whose text is ``text`` (exact match, else unique substring match)."""
        buttons = self.buttons()
        for b in buttons:
            if b.get("text") == text:
                return b
        partial = [b for b in buttons if text in str(b.get("text", ""))]
        if len(partial) == 1:
            return partial[0]
        raise KeyError(
            f"no button {text!r} on message {self.message_id}; have {[b.get('text') for b in buttons]}"
        )


# --------------------------------------------------------------------------------------------------
# text helpers


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_HTML_SIMPLE = {
    "i": "italic",
    "em": "italic",
    "b": "bold",
    "strong": "bold",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_SPACES = frozenset(" \t\r\n\v\0")
_HEX = frozenset("0123456789abcdefABCDEF")
_DEC = frozenset("0123456789")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_html_entity(text: str, pos: int) -> tuple[int, int]:
    """Port of tdlib's decode_html_entity: (code point or 0, position after the entity)."""
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    end = pos + 1
    if at(pos + 1) == "#":
        end += 1
        res = 0
        if at(pos + 2) == "x":
            end += 1
            while at(end) in _HEX:
                res = res * 16 + int(at(end), 16)
                end += 1
        else:
            while at(end) in _DEC:
                res = res * 10 + int(at(end))
                end += 1
        if res == 0 or res >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while at(end).isascii() and at(end).isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(text[pos + 1 : end])
        if named is None:
            return 0, pos
        res = ord(named)
    if at(end) == ";":
        end += 1
    return res, end


def _checked_link(url: str) -> str | None:
    url = url.strip()
    if re.match(r"^(https?|tg|ton)://\S+$", url, re.I):
        return url
    if re.match(r"^[\w-]+(\.[\w-]+)+(/\S*)?$", url):
        return "http://" + url
    return None


def parse_html(
    text: str, *, strict_ampersand: bool = True, users: dict[int, JSON] | None = None
) -> tuple[str, list[JSON]]:
    """Parse Telegram HTML like tdlib's parse_html; returns (plain text, entities) or raises.

    With ``strict_ampersand`` an ``&`` that starts no valid entity is an error (real Telegram keeps it
    literally; the Bot API docs require escaping it).
    """
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    out: list[str] = []
    entities: list[JSON] = []
    utf16 = 0
    nested: list[tuple[str, str, int, int]] = []  # tag, argument, utf16 offset, out index
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            code, end = _decode_html_entity(text, i)
            if code:
                if 0xD800 <= code <= 0xDFFF:
                    raise EntityParseError(
                        "Text contains invalid Unicode characters after decoding HTML entities, check for "
                        "unmatched surrogate code units"
                    )
                out.append(chr(code))
                utf16 += 2 if code > 0xFFFF else 1
                i = end
                continue
            if strict_ampersand:
                raise EntityParseError(f'Unescaped "&" at byte offset {_byte_offset(text, i)}')
        if c != "<":
            out.append(c)
            utf16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue
        begin = i
        i += 1
        if at(i) != "/":
            while at(i) not in _SPACES and at(i) != ">":
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise EntityParseError(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                )
            argument = ""
            while at(i) != ">":
                while i < n and at(i) in _SPACES:
                    i += 1
                if at(i) == ">":
                    break
                attr_begin = i
                while at(i) not in _SPACES and at(i) not in "=>":
                    i += 1
                attr = text[attr_begin:i]
                if tag == "blockquote" and attr.lower() == "expandable" and at(i) != "=":
                    argument = "expandable"
                    continue
                if not attr:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                    )
                while i < n and at(i) in _SPACES:
                    i += 1
                if at(i) != "=":
                    raise EntityParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {_byte_offset(text, begin)}'
                    )
                i += 1
                while i < n and at(i) in _SPACES:
                    i += 1
                if i >= n:
                    raise EntityParseError(
                        f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                    )
                if at(i) not in "'\"":
                    tok_begin = i
                    while at(i).isascii() and (at(i).isalnum() or at(i) in ".-"):
                        i += 1
                    value = text[tok_begin:i].lower()
                    if at(i) not in _SPACES and at(i) != ">":
                        raise EntityParseError(
                            f"Unexpected end of name token at byte offset {_byte_offset(text, tok_begin)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    chars: list[str] = []
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            code, end = _decode_html_entity(text, i)
                            if code:
                                chars.append(chr(code))
                                i = end
                                continue
                        chars.append(text[i])
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = "".join(chars)
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
                if tag == "a" and attr == "href":
                    argument = value
                elif tag == "code" and attr == "class" and value.startswith("language-"):
                    argument = value[9:]
                elif tag == "span" and attr == "class" and value.startswith("tg-"):
                    argument = value[3:]
                elif tag == "tg-emoji" and attr == "emoji-id":
                    argument = value
            if tag == "span" and argument != "spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}'
                )
            nested.append((tag, argument, utf16, len(out)))
            i += 1
            continue
        # end tag
        if not nested:
            raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
        while at(i) not in _SPACES and at(i) != ">":
            i += 1
        end_tag = text[begin + 2 : i].lower()
        while i < n and at(i) in _SPACES:
            i += 1
        if at(i) != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
        i += 1
        tag, argument, start16, start_idx = nested.pop()
        if end_tag and end_tag != tag:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {_byte_offset(text, begin)}, expected "</{tag}>", '
                f'found "</{end_tag}>"'
            )
        length = utf16 - start16
        if length <= 0:
            continue
        entity: JSON = {"offset": start16, "length": length}
        if tag in _HTML_SIMPLE:
            entity["type"] = _HTML_SIMPLE[tag]
        elif tag == "tg-emoji":
            if not argument.isdigit() or int(argument) == 0:
                raise EntityParseError("Invalid custom emoji identifier specified")
            entity.update(type="custom_emoji", custom_emoji_id=argument)
        elif tag == "a":
            url = argument or "".join(out[start_idx:])
            m = re.match(r"^tg://user\?id=(\d+)$", url)
            if m:
                uid = int(m.group(1))
                user = (users or {}).get(uid) or {"id": uid, "is_bot": False, "first_name": str(uid)}
                entity.update(type="text_mention", user=user)
            else:
                checked = _checked_link(url)
                if checked is None:
                    continue
                entity.update(type="text_link", url=checked)
        elif tag == "pre":
            last = entities[-1] if entities else None
            if (
                last
                and last["type"] == "code"
                and last["offset"] == start16
                and last["length"] == length
                and last.get("language")
            ):
                last["type"] = "pre"
                continue
            entity["type"] = "pre"
        elif tag == "code":
            last = entities[-1] if entities else None
            if last and last["type"] == "pre" and last["offset"] == start16 and last["length"] == length:
                if argument:
                    last["language"] = argument
                continue
            entity["type"] = "code"
            if argument:
                entity["language"] = argument  # dropped below unless merged into a pre
        elif tag == "blockquote":
            entity["type"] = "expandable_blockquote" if argument == "expandable" else "blockquote"
        entities.append(entity)
    if nested:
        raise EntityParseError(f"Can't find end tag corresponding to start tag {nested[-1][0]}")
    for e in entities:
        if e["type"] == "code":
            e.pop("language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _detect_entities(text: str) -> list[JSON]:
    """Entities Telegram adds to user messages: bot commands, mentions, hashtags and URLs."""
    found: list[tuple[int, int, str]] = []
    for m in re.finditer(r"(?<![\w/<>])/[a-zA-Z0-9_]{1,64}(?:@[a-zA-Z0-9_]{3,32})?(?![\w/<>])", text):
        found.append((m.start(), m.end(), "bot_command"))
    for m in re.finditer(r"(?<!\w)@[a-zA-Z0-9_]{2,32}(?!\w)", text):
        if not any(s <= m.start() < e for s, e, _ in found):
            found.append((m.start(), m.end(), "mention"))
    for m in re.finditer(r"(?<!\w)#\w*[^\W\d_]\w*", text):
        found.append((m.start(), m.end(), "hashtag"))
    for m in re.finditer(r"https?://[^\s<>\"]+", text):
        found.append((m.start(), m.end(), "url"))
    found.sort()
    return [{"type": t, "offset": utf16_len(text[:s]), "length": utf16_len(text[s:e])} for s, e, t in found]


def _strip_text(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Trim surrounding whitespace like Telegram, shifting and clipping entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    left = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    fixed = []
    for e in entities:
        start = max(0, e["offset"] - left)
        end = min(total, e["offset"] - left + e["length"])
        if end > start:
            fixed.append({**e, "offset": start, "length": end - start})
    return stripped, fixed


# --------------------------------------------------------------------------------------------------
# parameter decoding


def _coerce(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError as exc:
            if key == "reply_markup":
                raise bad_request("can't parse reply keyboard markup JSON object") from exc
            raise bad_request(f"can't parse {key} JSON object") from exc
    if key in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if key in _BOOL_FIELDS and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return value


async def _read_params(request: web.Request) -> JSON:
    params: JSON = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return {k: _coerce(k, v) for k, v in params.items()}
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    else:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, (str, bytes)):
                params[key] = value.decode() if isinstance(value, bytes) else value
            else:  # FileField
                data = value.file.read()
                params[key] = {
                    "filename": value.filename,
                    "content_type": value.content_type,
                    "size": len(data),
                }
    return {k: _coerce(k, v) for k, v in params.items()}


# --------------------------------------------------------------------------------------------------
# the server


class FakeBotAPI:
    """An aiohttp server on 127.0.0.1 that behaves like the Telegram Bot API for one bot token.

    All helpers must be called from the event loop the server runs on (see ``FakeBotAPIThread`` for
    use from other threads, or the ``/_fake`` control endpoints from other processes).
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        port: int = 0,
        bot_username: str = "archive_test_bot",
        bot_first_name: str = "Archive Bot",
        callback_query_timeout: float = 15.0,
        inline_query_timeout: float = 15.0,
        fault_delay: float = 6.0,
        webhook_retry_delay: float = 0.05,
        webhook_timeout: float = 10.0,
        strict_html_ampersand: bool = True,
        first_update_id: int = 1,
    ) -> None:
        self.token = token
        self.port = port
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_username = bot_username
        self.bot_user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.callback_query_timeout = callback_query_timeout
        self.inline_query_timeout = inline_query_timeout
        self.fault_delay = fault_delay
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self.strict_html_ampersand = strict_html_ampersand

        self._methods: dict[str, Callable[[JSON], Any]] = {
            name.lower(): getattr(self, "_m_" + name)
            for name in (
                "getMe",
                "getUpdates",
                "deleteWebhook",
                "setWebhook",
                "getWebhookInfo",
                "sendMessage",
                "editMessageText",
                "editMessageReplyMarkup",
                "answerCallbackQuery",
                "answerInlineQuery",
                "setMyCommands",
                "getMyCommands",
                "deleteMyCommands",
                "sendChatAction",
                "getChat",
                "close",
                "logOut",
                "deleteMessage",
                "sendDocument",
                "sendPhoto",
            )
        }
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._closing = asyncio.Event()
        self._update_ids = itertools.count(first_update_id)
        self._query_ids = itertools.count(1)
        self._message_ids: dict[int, Iterator[int]] = {}
        self.users: dict[int, JSON] = {}
        self.chats: dict[int, JSON] = {}
        self._pending: deque[JSON] = deque()
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._update_waiters: list[asyncio.Future[None]] = []
        self._poller: asyncio.Future[None] | None = None
        self._waiters: list[asyncio.Future[None]] = []
        self._queries: dict[str, tuple[float, bool, str]] = {}  # id -> (time, answered, kind)
        self._messages: dict[tuple[int, int], JSON] = {}  # all messages (user and bot), current version
        self._msg_update: dict[tuple[int, int], int] = {}
        self._bot_messages: dict[tuple[int, int], BotMessage] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.webhook: JSON | None = None
        self._webhook_tasks: list[asyncio.Task[None]] = []
        self._webhook_last_error: tuple[int, str] | None = None
        self._fault_queues: dict[str, deque[FaultSpec]] = defaultdict(deque)
        self._fault_rule: (
            tuple[float, tuple[str, ...], random.Random, frozenset[str] | None, int, float | None, float | None] | None
        ) = None
        self._handler_sleeps: set[asyncio.Task[Any]] = set()
        self._reset_records()

    def _reset_records(self) -> None:
        self.call_log: list[Call] = []
        self._calls_by_method: dict[str, list[Call]] = defaultdict(list)
        self.rejections: list[Rejection] = []
        self.injected_faults: list[InjectedFault] = []
        self.pushed: list[PushedUpdate] = []
        self.dropped_updates: list[JSON] = []
        self.webhook_deliveries: list[JSON] = []
        self.bot_messages: list[BotMessage] = []
        self._bot_messages_by_chat: dict[int, list[BotMessage]] = defaultdict(list)
        self._awaiting_reply: dict[int, deque[int]] = defaultdict(deque)
        self._latency_pending: dict[int, list[tuple[int, float]]] = defaultdict(list)
        self._last_update_in_chat: dict[int, int] = {}
        self._reply_counts: dict[int, int] = {}
        self._latencies: dict[int, float] = {}
        self._update_kind: dict[int, str] = {}
        self._update_chat: dict[int, int] = {}

    def reset_records(self) -> None:
        """Forget calls, rejections, faults, pushes and bot messages (users, chats, queues stay)."""
        self._reset_records()

    # ---- lifecycle ---------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The value for PTB's ``base_url`` (``http://127.0.0.1:PORT/bot``)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def control_url(self) -> str:
        """Prefix of the ``/_fake`` control endpoints."""
        return f"http://127.0.0.1:{self.port}/_fake"

    def make_app(self) -> web.Application:
        """The aiohttp application (Bot API routes plus ``/_fake`` control routes)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_routes(_control_routes(self))
        return app

    async def start(self) -> None:
        """Bind to 127.0.0.1 and start serving."""
        self._closing.clear()
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        server = site._server
        assert server is not None and getattr(server, "sockets", None)
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._session = ClientSession(timeout=ClientTimeout(total=self.webhook_timeout))

    async def stop(self) -> None:
        """Wake every waiting request, stop webhook delivery and shut the server down."""
        self._closing.set()
        self._wake(self._update_waiters)
        self._wake(self._waiters)
        await self._stop_webhook_workers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- waiting -----------------------------------------------------------------------------------

    @staticmethod
    def _wake(waiters: list[asyncio.Future[None]]) -> None:
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)
        waiters.clear()

    def _notify(self) -> None:
        if self._waiters:
            self._wake(self._waiters)

    async def _wait_on(self, waiters: list[asyncio.Future[None]], timeout: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters.append(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            pass
        finally:
            if fut in waiters and not fut.done():
                waiters.remove(fut)

    async def _sleep(self, seconds: float) -> None:
        """Sleep that ends early when the server stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition"
    ) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every recorded event); return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0 or self._closing.is_set():
                raise TimeoutError(
                    f"timed out after {timeout}s waiting for {what}; {len(self.bot_messages)} bot messages, "
                    f"rejections={[r.description for r in self.rejections[-5:]]}"
                )
            await self._wait_on(self._waiters, left)

    async def wait_for_messages(
        self, n: int, chat_id: int | None = None, timeout: float = 5.0
    ) -> list[BotMessage]:
        """Wait until at least ``n`` bot messages (in ``chat_id`` if given) exist; return them all."""
        await self.wait_for(
            lambda: len(self.sent_messages(chat_id)) >= n,
            timeout,
            f"{n} bot messages" + (f" in chat {chat_id}" if chat_id is not None else ""),
        )
        return self.sent_messages(chat_id)

    async def wait_for_call(self, method: str, n: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until ``method`` was called at least ``n`` times; return those calls."""
        await self.wait_for(lambda: len(self.calls(method)) >= n, timeout, f"{n} {method} calls")
        return self.calls(method)

    # ---- queries -----------------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Calls in arrival order, optionally only of ``method`` (case-insensitive)."""
        if method is None:
            return list(self.call_log)
        return list(self._calls_by_method.get(method.lower(), ()))

    def sent_messages(self, chat_id: int | None = None) -> list[BotMessage]:
        """Messages the bot sent (current text/markup), in order, optionally in one chat."""
        if chat_id is None:
            return list(self.bot_messages)
        return list(self._bot_messages_by_chat.get(chat_id, ()))

    def last_message(self, chat_id: int | None = None) -> BotMessage:
        """The last message the bot sent (in ``chat_id`` if given)."""
        msgs = self.sent_messages(chat_id)
        if not msgs:
            raise LookupError(f"the bot sent no message{'' if chat_id is None else f' to chat {chat_id}'}")
        return msgs[-1]

    def message(self, chat_id: int, message_id: int) -> BotMessage:
        """The bot message ``message_id`` in ``chat_id``."""
        return self._bot_messages[(chat_id, message_id)]

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet acknowledged by getUpdates (or delivered by webhook)."""
        return list(self._pending)

    @property
    def lost_responses(self) -> list[BotMessage]:
        """Messages delivered although the bot never saw the response (``lost`` faults)."""
        return [m for m in self.bot_messages if m.fault == "lost"]

    def reply_counts(self, chat_id: int | None = None, kinds: Sequence[str] = ("message",)) -> dict[int, int]:
        """Bot messages received per pushed update (update_id -> count), for exactly-once checks.

        A bot message is attributed to the user message it replies to (``reply_parameters``), else to
        the oldest message update in its chat with no reply yet, else to the chat's latest update.
        """
        return {
            uid: count
            for uid, count in self._reply_counts.items()
            if self._update_kind[uid] in kinds and (chat_id is None or self._update_chat[uid] == chat_id)
        }

    def latency_report(self) -> JSON:
        """Push-to-first-reply latency (seconds) of pushed message updates."""
        lat = [
            self._latencies[p.update_id]
            for p in self.pushed
            if p.kind == "message" and p.update_id in self._latencies
        ]
        total = sum(1 for p in self.pushed if p.kind == "message" and p.chat_id is not None)
        report: JSON = {"pushed": total, "answered": len(lat), "unanswered": total - len(lat)}
        if lat:
            ordered = sorted(lat)

            def pct(q: float) -> float:
                return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

            report.update(
                min=ordered[0],
                mean=statistics.fmean(ordered),
                p50=pct(0.5),
                p90=pct(0.9),
                p99=pct(0.99),
                max=ordered[-1],
            )
        first = min((p.time for p in self.pushed), default=None)
        last_reply = max((m.time for m in self.bot_messages), default=None)
        if first is not None and last_reply is not None and last_reply > first:
            report["span"] = last_reply - first
            report["answered_per_second"] = len(lat) / (last_reply - first)
        return report

    def latencies(self) -> dict[int, float]:
        """update_id -> seconds from push to the first bot reply in that chat after it."""
        return dict(self._latencies)

    def stats(self) -> JSON:
        """A JSON-friendly summary of what happened."""
        return {
            "calls": {m: len(c) for m, c in self._calls_by_method.items()},
            "bot_messages": len(self.bot_messages),
            "pushed": len(self.pushed),
            "pending_updates": len(self._pending),
            "rejections": [dataclasses.asdict(r) for r in self.rejections],
            "faults": [[f.method, f.kind] for f in self.injected_faults],
            "lost_responses": len(self.lost_responses),
            "duplicates": {uid: c for uid, c in self._reply_counts.items() if c > 1},
        }

    # ---- users, chats, updates ---------------------------------------------------------------------

    def user(
        self,
        id: int,
        first_name: str | None = None,
        language_code: str | None = "zh-hans",
        *,
        username: str | None = None,
        last_name: str | None = None,
    ) -> JSON:
        """Create (or update) a user and return its User object."""
        u = self.users.get(id) or {"id": id, "is_bot": False, "first_name": first_name or f"User{id}"}
        if first_name:
            u["first_name"] = first_name
        if language_code:
            u["language_code"] = language_code
        if username:
            u["username"] = username
        if last_name:
            u["last_name"] = last_name
        self.users[id] = u
        return u

    def private_chat(self, user: int | JSON) -> JSON:
        """The private chat with ``user`` (created on demand)."""
        u = self._user(user)
        chat = self.chats.get(u["id"])
        if chat is None:
            chat = {"id": u["id"], "type": "private", "first_name": u["first_name"]}
            for key in ("last_name", "username"):
                if key in u:
                    chat[key] = u[key]
            self.chats[u["id"]] = chat
        return chat

    def group(
        self, id: int, title: str = "Test group", type: str = "supergroup", *, username: str | None = None
    ) -> JSON:
        """Create (or return) a group/supergroup/channel chat the bot is a member of."""
        if type not in ("group", "supergroup", "channel"):
            raise ValueError(type)
        chat = self.chats.get(id)
        if chat is None:
            chat = {"id": id, "type": type, "title": title}
            if username:
                chat["username"] = username
            self.chats[id] = chat
        return chat

    def _user(self, user: int | JSON, language_code: str | None = "zh-hans") -> JSON:
        if isinstance(user, dict):
            return self.users.get(user["id"]) or self.user(
                user["id"], user.get("first_name"), user.get("language_code")
            )
        return self.users.get(user) or self.user(user, language_code=language_code)

    def _chat(self, chat: int | JSON, chat_type: str, user: JSON) -> JSON:
        if isinstance(chat, dict):
            chat = chat["id"]
        if chat in self.chats:
            return self.chats[chat]
        if chat_type == "private":
            if chat != user["id"]:
                raise ValueError("a private chat's id is its user's id")
            return self.private_chat(user)
        return self.group(chat, type=chat_type)

    def _next_message_id(self, chat_id: int) -> int:
        ids = self._message_ids.get(chat_id)
        if ids is None:
            ids = self._message_ids[chat_id] = itertools.count(1)
        return next(ids)

    def _push(self, kind: str, obj: JSON, chat_id: int | None) -> int:
        uid = next(self._update_ids)
        update = {"update_id": uid, kind: obj}
        now = time.monotonic()
        if kind not in self._allowed_updates:
            self.dropped_updates.append(update)
            return uid
        self._pending.append(update)
        self.pushed.append(PushedUpdate(uid, kind, chat_id, now, update))
        self._update_kind[uid] = kind
        if chat_id is not None:
            self._update_chat[uid] = chat_id
            self._reply_counts[uid] = 0
            self._last_update_in_chat[chat_id] = uid
            if kind == "message":
                self._awaiting_reply[chat_id].append(uid)
                self._latency_pending[chat_id].append((uid, now))
                self._msg_update[(chat_id, obj["message_id"])] = uid
        self._wake(self._update_waiters)
        self._notify()
        return uid

    def _user_message(
        self,
        chat: int | JSON,
        user: int | JSON | None,
        chat_type: str,
        language_code: str | None,
        reply_to_message: int | JSON | BotMessage | None,
        extra: JSON,
    ) -> tuple[JSON, int]:
        if user is None:
            if isinstance(chat, dict) and chat.get("type") == "private":
                user = chat["id"]
            elif isinstance(chat, int) and chat > 0:
                user = chat
            else:
                raise ValueError("user is required for group messages")
        u = self._user(user, language_code)
        c = self._chat(chat, chat_type, u)
        msg: JSON = {
            "message_id": self._next_message_id(c["id"]),
            "from": u,
            "chat": c,
            "date": int(time.time()),
        }
        if reply_to_message is not None:
            if isinstance(reply_to_message, BotMessage):
                reply_to_message = reply_to_message.message_id
            if isinstance(reply_to_message, int):
                found = self._messages.get((c["id"], reply_to_message))
                if found is None:
                    raise KeyError(f"no message {reply_to_message} in chat {c['id']}")
                reply_to_message = found
            msg["reply_to_message"] = {k: v for k, v in reply_to_message.items() if k != "reply_to_message"}
        msg.update(extra)
        self._messages[(c["id"], msg["message_id"])] = msg
        return msg, c["id"]

    def push_message(
        self,
        chat: int | JSON,
        user: int | JSON | None,
        text: str,
        *,
        chat_type: str = "private",
        entities: list[JSON] | None = None,
        reply_to_message: int | JSON | BotMessage | None = None,
        language_code: str | None = "zh-hans",
    ) -> int:
        """A user sends ``text`` (entities auto-detected like Telegram unless given); returns update_id.

        ``chat``/``user`` may be ids (created on demand: private chat id == user id; otherwise
        ``chat_type`` decides) or objects from ``user()``/``private_chat()``/``group()``.
        """
        extra: JSON = {"text": text}
        ents = _detect_entities(text) if entities is None else entities
        if ents:
            extra["entities"] = ents
        msg, chat_id = self._user_message(chat, user, chat_type, language_code, reply_to_message, extra)
        return self._push("message", msg, chat_id)

    def push_command(
        self,
        chat: int | JSON,
        user: int | JSON | None,
        command: str,
        args: str = "",
        *,
        chat_type: str = "private",
        mention_bot: bool | None = None,
        language_code: str | None = "zh-hans",
    ) -> int:
        """A user sends ``/command args`` (``/command@botname`` in groups unless ``mention_bot=False``)."""
        command = command.lstrip("/")
        is_group = (isinstance(chat, dict) and chat.get("type") != "private") or (
            not isinstance(chat, dict)
            and (
                (chat in self.chats
                and self.chats[chat]["type"] != "private")
                or (chat not in self.chats
                and chat_type != "private")
            )
        )
        head = (
            f"/{command}@{self.bot_username}"
            if (mention_bot if mention_bot is not None else is_group)
            else f"/{command}"
        )
        text = f"{head} {args}" if args else head
        entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(head)}]
        return self.push_message(
            chat, user, text, chat_type=chat_type, entities=entities, language_code=language_code
        )

    def push_mention(
        self, chat: int | JSON, user: int | JSON, text: str, *, chat_type: str = "supergroup"
    ) -> int:
        """A group message ``@botusername text`` (mention entity auto-detected)."""
        return self.push_message(chat, user, f"@{self.bot_username} {text}", chat_type=chat_type)

    def push_sticker(
        self,
        chat: int | JSON,
        user: int | JSON | None = None,
        emoji: str = "👍",
        *,
        chat_type: str = "private",
    ) -> int:
        """A user sends a sticker."""
        uid = next(self._query_ids)
        sticker = {
            "file_id": f"sticker{uid}",
            "file_unique_id": f"us{uid}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "fake",
        }
        msg, chat_id = self._user_message(chat, user, chat_type, "zh-hans", None, {"sticker": sticker})
        return self._push("message", msg, chat_id)

    def push_photo(
        self,
        chat: int | JSON,
        user: int | JSON | None = None,
        caption: str | None = None,
        *,
        chat_type: str = "private",
    ) -> int:
        """A user sends a photo (three sizes), optionally with a caption."""
        n = next(self._query_ids)
        sizes = [
            {
                "file_id": f"photo{n}_{w}",
                "file_unique_id": f"up{n}_{w}",
                "width": w,
                "height": w * 3 // 4,
                "file_size": w * 100,
            }
            for w in (90, 320, 1280)
        ]
        extra: JSON = {"photo": sizes}
        if caption:
            extra["caption"] = caption
            ents = _detect_entities(caption)
            if ents:
                extra["caption_entities"] = ents
        msg, chat_id = self._user_message(chat, user, chat_type, "zh-hans", None, extra)
        return self._push("message", msg, chat_id)

    def push_voice(
        self,
        chat: int | JSON,
        user: int | JSON | None = None,
        duration: int = 3,
        *,
        chat_type: str = "private",
    ) -> int:
        """A user sends a voice message."""
        n = next(self._query_ids)
        voice = {
            "file_id": f"voice{n}",
            "file_unique_id": f"uv{n}",
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": duration * 2000,
        }
        msg, chat_id = self._user_message(chat, user, chat_type, "zh-hans", None, {"voice": voice})
        return self._push("message", msg, chat_id)

    def push_callback(
        self, message: BotMessage | tuple[int, int], data: str, *, user: int | JSON | None = None
    ) -> int:
        """A user presses an inline button carrying ``data`` on a message the bot sent."""
        if not isinstance(message, BotMessage):
            message = self._bot_messages[message]
        chat = self.chats[message.chat_id]
        if user is None:
            if chat["type"] != "private":
                raise ValueError("user is required for callbacks in groups")
            user = chat["id"]
        u = self._user(user)
        qid = f"{self.bot_id}{next(self._query_ids):08d}"
        self._queries[qid] = (time.monotonic(), False, "callback")
        query = {
            "id": qid,
            "from": u,
            "message": dict(message.raw),
            "chat_instance": str(-abs(chat["id"])),
            "data": data,
        }
        return self._push("callback_query", query, message.chat_id)

    def press_button(
        self, message: BotMessage | tuple[int, int], text: str, *, user: int | JSON | None = None
    ) -> int:
        """Press the callback button labelled ``text`` on the bot message's current keyboard."""
        if not isinstance(message, BotMessage):
            message = self._bot_messages[message]
        button = message.button(text)
        if "callback_data" not in button:
            raise ValueError(f"button {text!r} is not a callback button: {button}")
        return self.push_callback(message, button["callback_data"], user=user)

    def push_inline_query(
        self, user: int | JSON, query: str, *, offset: str = "", chat_type: str = "private"
    ) -> int:
        """A user types ``@botusername query`` somewhere."""
        qid = f"{self.bot_id}{next(self._query_ids):08d}"
        self._queries[qid] = (time.monotonic(), False, "inline")
        obj = {"id": qid, "from": self._user(user), "query": query, "offset": offset, "chat_type": chat_type}
        return self._push("inline_query", obj, None)

    def push_chosen_inline_result(
        self, user: int | JSON, result_id: str, query: str, *, inline_message_id: str | None = None
    ) -> int:
        """A user picks an inline result (reported only if the bot enabled inline feedback)."""
        obj: JSON = {"result_id": result_id, "from": self._user(user), "query": query}
        if inline_message_id:
            obj["inline_message_id"] = inline_message_id
        return self._push("chosen_inline_result", obj, None)

    def push_raw(self, kind: str, obj: JSON, chat_id: int | None = None) -> int:
        """Push any update type verbatim (``{"update_id": ..., kind: obj}``)."""
        return self._push(kind, obj, chat_id)

    def query_id_of(self, update_id: int) -> str:
        """The callback/inline query id carried by a pushed update."""
        for p in reversed(self.pushed):
            if p.update_id == update_id:
                return p.update[p.kind]["id"]
        raise KeyError(update_id)

    # ---- faults ------------------------------------------------------------------------------------

    def fail_next(
        self, method: str, n: int = 1, kind: str = "500", *, retry_after: int = 1, delay: float | None = None
    ) -> None:
        """Make the next ``n`` calls of ``method`` (``"*"`` = any method) fail with ``kind``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {FAULT_KINDS}")
        for _ in range(n):
            self._fault_queues[method.lower()].append(FaultSpec(kind, retry_after, delay))

    def faults(
        self,
        rate: float,
        kinds: Iterable[str] = ("500",),
        seed: int = 0,
        *,
        methods: Iterable[str] | None = None,
        retry_after: int = 1,
        delay: float | None = None,
        hang: float | None = None,
    ) -> None:
        """Fail a seeded-random ``rate`` fraction of calls (of ``methods``, default all) with ``kinds``.

        ``delay`` is how long a ``delay`` fault stalls, ``hang`` how long a ``hang`` fault does (default
        ``delay``): a delay below the client's time-out and a hang past it can be mixed."""
        kinds = tuple(kinds)
        for k in kinds:
            if k not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {k!r}")
        ms = frozenset(m.lower() for m in methods) if methods is not None else None
        self._fault_rule = (rate, kinds, random.Random(seed), ms, retry_after, delay, hang)

    def clear_faults(self) -> None:
        """Remove all queued and probabilistic faults."""
        self._fault_queues.clear()
        self._fault_rule = None

    def _take_fault(self, method: str) -> FaultSpec | None:
        for key in (method, "*"):
            queue = self._fault_queues.get(key)
            if queue:
                return queue.popleft()
        rule = self._fault_rule
        if rule is not None:
            rate, kinds, rng, methods, retry_after, delay, hang = rule
            if (methods is None or method in methods) and rng.random() < rate:
                kind = rng.choice(kinds)
                return FaultSpec(kind, retry_after, hang if kind == "hang" and hang is not None else delay)
        return None

    # ---- HTTP handling -----------------------------------------------------------------------------

    @staticmethod
    def _json_response(status: int, payload: JSON) -> web.Response:
        return web.Response(
            status=status,
            body=json.dumps(payload, ensure_ascii=False).encode(),
            content_type="application/json",
        )

    def _error(self, call: Call, err: ApiError, *, record: bool = True) -> web.Response:
        call.status, call.ok, call.description = err.code, False, err.description
        if record:
            self.rejections.append(
                Rejection(call.method, err.code, err.description, call.params, time.time())
            )
        self._notify()
        payload: JSON = {"ok": False, "error_code": err.code, "description": err.description}
        if err.parameters:
            payload["parameters"] = err.parameters
        return self._json_response(err.code, payload)

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        transport = request.transport
        if transport is not None:
            transport.abort()
        return web.Response(status=500)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        key = method.lower()
        try:
            params = await _read_params(request)
        except ConnectionError:  # the client went away while sending
            return web.Response(status=499)
        except ApiError as err:
            call = Call(method, {}, time.time())
            self._record_call(key, call)
            return self._error(call, err)
        call = Call(method, params, time.time())
        self._record_call(key, call)
        if request.match_info["token"] != self.token:
            return self._error(call, ApiError(401, "Unauthorized"))
        handler = self._methods.get(key)
        if handler is None:
            return self._error(call, ApiError(404, "Not Found"))
        fault = self._take_fault(key)
        if fault is not None:
            call.fault = fault.kind
            self.injected_faults.append(InjectedFault(method, fault.kind, time.time(), params))
            self._notify()
            if fault.kind in ("500", "502"):
                code = int(fault.kind)
                call.status = code
                text = "Internal Server Error" if code == 500 else "Bad Gateway"
                return self._json_response(code, {"ok": False, "error_code": code, "description": text})
            if fault.kind == "429":
                call.status = 429
                return self._json_response(
                    429,
                    {
                        "ok": False,
                        "error_code": 429,
                        "description": f"Too Many Requests: retry after {fault.retry_after}",
                        "parameters": {"retry_after": fault.retry_after},
                    },
                )
            if fault.kind == "drop":
                return self._drop(request)
            if fault.kind == "delay":
                await self._sleep(fault.delay if fault.delay is not None else self.fault_delay)
                if self._closing.is_set():
                    return self._drop(request)
            if fault.kind == "hang":
                await self._sleep(fault.delay if fault.delay is not None else self.fault_delay)
                return self._drop(request)
        try:
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as err:
            return self._error(call, err, record=err.code != 409 or "terminated" not in err.description)
        call.status, call.ok, call.result = 200, True, result
        if fault is not None and isinstance(result, dict) and "message_id" in result and "chat" in result:
            bm = self._bot_messages.get((result["chat"]["id"], result["message_id"]))
            if bm is not None:
                bm.fault = fault.kind
        self._notify()
        if fault is not None and fault.kind == "lost":
            return self._drop(request)
        return self._json_response(200, {"ok": True, "result": result})

    def _record_call(self, key: str, call: Call) -> None:
        self.call_log.append(call)
        self._calls_by_method[key].append(call)
        self._notify()

    # ---- validation helpers ------------------------------------------------------------------------

    def _chat_for(self, params: JSON) -> JSON:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for chat in self.chats.values():
                if chat.get("username", "").lower() == chat_id[1:].lower():
                    return chat
            raise bad_request("chat not found")
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _format(
        self,
        text: Any,
        params: JSON,
        *,
        entities_key: str = "entities",
        empty: str = "message text is empty",
        limit: int = MAX_MESSAGE_LENGTH,
        too_long: str = "message is too long",
    ) -> tuple[str, list[JSON]]:
        if not isinstance(text, str) or text == "":
            raise bad_request(empty)
        mode = params.get("parse_mode")
        entities: list[JSON] = []
        try:
            if mode in (None, ""):
                entities = list(params.get(entities_key) or [])
                self._check_entities(text, entities)
            elif str(mode).lower() == "html":
                text, entities = parse_html(
                    text, strict_ampersand=self.strict_html_ampersand, users=self.users
                )
            else:  # the bot sends HTML only; Markdown modes are not emulated
                raise bad_request("unsupported parse_mode")
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from exc
        text, entities = _strip_text(text, entities)
        if not text:
            raise bad_request(empty)
        if utf16_len(text) > limit:
            raise bad_request(too_long)
        return text, entities

    @staticmethod
    def _check_entities(text: str, entities: list[JSON]) -> None:
        if not isinstance(entities, list):
            raise EntityParseError("entities must be an Array")
        total = utf16_len(text)
        for e in entities:
            if not isinstance(e, dict) or not isinstance(e.get("type"), str):
                raise EntityParseError('Can\'t parse MessageEntity: Field "type" must be of type String')
            off, length = e.get("offset"), e.get("length")
            if (
                not isinstance(off, int)
                or not isinstance(length, int)
                or off < 0
                or length < 0
                or off + length > total
            ):
                raise EntityParseError(f"Entity offset/length out of range: {e}")

    @staticmethod
    def _check_url(url: Any) -> None:
        ok = isinstance(url, str) and (
            re.match(r"^https?://[^\s/?#]+\.[^\s/?#]+", url, re.I)
            or re.match(r"^https?://(localhost|\d+\.\d+\.\d+\.\d+)", url)
            or re.match(r"^tg://\S+$", url, re.I)
        )
        if not ok:
            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")

    def _check_markup(self, markup: Any) -> JSON | None:
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request(
                    'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
                )
            total = 0
            for row in rows:
                if len(row) > MAX_BUTTONS_PER_ROW:
                    raise bad_request("BUTTONS_TOO_MUCH")
                total += len(row)
                for b in row:
                    self._check_button(b)
            if total > MAX_BUTTONS_TOTAL:
                raise bad_request("BUTTONS_TOO_MUCH")
            return markup
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
            for row in rows:
                for b in row:
                    text = b.get("text") if isinstance(b, dict) else b
                    if not isinstance(text, str) or not text.strip():
                        raise bad_request("BUTTON_TEXT_INVALID")
            return markup
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return markup
        raise bad_request("can't parse reply keyboard markup JSON object")

    def _check_button(self, b: Any) -> None:
        if not isinstance(b, dict):
            raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        text = b.get("text")
        if not isinstance(text, str):
            raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
        if not text.strip():
            raise bad_request("BUTTON_TEXT_INVALID")
        actions = [a for a in _BUTTON_ACTIONS if a in b]
        if not actions:
            raise bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
            )
        if len(actions) > 1:
            raise bad_request(
                "can't parse inline keyboard button: exactly one optional field expected, "
                f"got {', '.join(actions)}"
            )
        if "callback_data" in b:
            data = b["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise bad_request("BUTTON_DATA_INVALID")
        if "url" in b:
            self._check_url(b["url"])

    def _reply_target(self, chat_id: int, params: JSON) -> JSON | None:
        rp = params.get("reply_parameters")
        mid = params.get("reply_to_message_id")
        allow = bool(params.get("allow_sending_without_reply"))
        if isinstance(rp, dict):
            mid = rp.get("message_id")
            allow = allow or bool(rp.get("allow_sending_without_reply"))
            if rp.get("chat_id") not in (None, chat_id):
                raise bad_request("message to be replied not found")
        if mid is None:
            return None
        target = self._messages.get((chat_id, mid)) if isinstance(mid, int) else None
        if target is None and not allow:
            raise bad_request("message to be replied not found")
        return target

    # ---- bot methods -------------------------------------------------------------------------------

    def _m_getMe(self, params: JSON) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_getUpdates(self, params: JSON) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
                "to delete the webhook first",
            )
        offset = params.get("offset") or 0
        limit = params.get("limit") or 100
        timeout = params.get("timeout") or 0
        if not isinstance(offset, int) or not isinstance(limit, int) or not isinstance(timeout, int):
            raise bad_request("wrong parameter in getUpdates")
        limit = max(1, min(100, limit))
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = (
                frozenset(allowed) & ALL_UPDATE_TYPES if allowed else DEFAULT_ALLOWED_UPDATES
            )
        self._ack(offset)
        if self._pending or timeout <= 0:
            return list(itertools.islice(self._pending, limit))
        # long poll: a newer getUpdates terminates this one, as on Telegram
        if self._poller is not None and not self._poller.done():
            self._poller.set_result(None)
        me: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._poller = me
        deadline = time.monotonic() + timeout
        try:
            while not self._pending and not self._closing.is_set() and not me.done():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._update_waiters.append(waiter)
                await asyncio.wait([waiter, me], timeout=left, return_when=asyncio.FIRST_COMPLETED)
                if not waiter.done():
                    waiter.cancel()
                    with contextlib.suppress(ValueError):
                        self._update_waiters.remove(waiter)
        finally:
            if self._poller is me:
                self._poller = None
        if me.done():
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot "
                "instance is running",
            )
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
                "to delete the webhook first",
            )
        return list(itertools.islice(self._pending, limit))

    def _ack(self, offset: int) -> None:
        pending = self._pending
        if offset > 0:
            while pending and pending[0]["update_id"] < offset:
                pending.popleft()
        elif offset < 0:
            while len(pending) > -offset:
                pending.popleft()

    def _m_deleteWebhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        if self.webhook is not None:
            self.webhook = None
            for task in self._webhook_tasks:
                task.cancel()
            self._webhook_tasks = []
        return True

    async def _m_setWebhook(self, params: JSON) -> bool:
        url = params.get("url", "")
        if not url:
            return self._m_deleteWebhook(params)
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and (
            not isinstance(secret, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret)
        ):
            raise bad_request("bad webhook: Secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = (
                frozenset(allowed) & ALL_UPDATE_TYPES if allowed else DEFAULT_ALLOWED_UPDATES
            )
        if params.get("drop_pending_updates"):
            self._pending.clear()
        await self._stop_webhook_workers()
        max_conn = params.get("max_connections") or 40
        self.webhook = {"url": url, "secret_token": secret, "max_connections": max_conn}
        if self._poller is not None and not self._poller.done():
            self._wake(self._update_waiters)
        self._webhook_tasks = [
            asyncio.create_task(self._webhook_worker()) for _ in range(max(1, min(max_conn, 100)))
        ]
        return True

    async def _stop_webhook_workers(self) -> None:
        tasks, self._webhook_tasks = self._webhook_tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _webhook_worker(self) -> None:
        while not self._closing.is_set() and self.webhook is not None:
            if not self._pending:
                await self._wait_on(self._update_waiters, 1.0)
                continue
            update = self._pending.popleft()
            hook = self.webhook
            attempt = 0
            try:
                while True:
                    attempt += 1
                    ok = await self._deliver(hook, update, attempt)
                    if ok:
                        break
                    await self._sleep(min(self.webhook_retry_delay * attempt, 1.0))
                    if self._closing.is_set() or self.webhook is not hook:
                        self._pending.appendleft(update)
                        return
            except asyncio.CancelledError:
                self._pending.appendleft(update)
                raise

    async def _deliver(self, hook: JSON, update: JSON, attempt: int) -> bool:
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        record: JSON = {
            "update_id": update["update_id"],
            "attempt": attempt,
            "time": time.time(),
            "url": hook["url"],
        }
        try:
            async with self._session.post(
                hook["url"], data=json.dumps(update).encode(), headers=headers
            ) as resp:
                await resp.read()
                record["status"] = resp.status
                ok = 200 <= resp.status < 300
                if not ok:
                    self._webhook_last_error = (
                        int(time.time()),
                        f"Wrong response from the webhook: {resp.status}",
                    )
        except (TimeoutError, OSError, Exception) as exc:
            record["error"] = repr(exc)
            self._webhook_last_error = (int(time.time()), "Connection refused")
            ok = False
        record["ok"] = ok
        self.webhook_deliveries.append(record)
        self._notify()
        return ok

    def _m_getWebhookInfo(self, params: JSON) -> JSON:
        info: JSON = {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._pending)}
        if self.webhook is not None:
            info.update(
                url=self.webhook["url"],
                max_connections=self.webhook["max_connections"],
                ip_address="127.0.0.1",
                allowed_updates=sorted(self._allowed_updates),
            )
            if self._webhook_last_error:
                info.update(
                    last_error_date=self._webhook_last_error[0],
                    last_error_message=self._webhook_last_error[1],
                )
        return info

    def _new_bot_message(
        self,
        method: str,
        chat: JSON,
        params: JSON,
        content: JSON,
        text: str | None,
        entities: list[JSON],
        markup: JSON | None,
    ) -> JSON:
        chat_id = chat["id"]
        reply_to = self._reply_target(chat_id, params)
        now = time.monotonic()
        msg: JSON = {
            "message_id": self._next_message_id(chat_id),
            "from": self.bot_user,
            "chat": chat,
            "date": int(time.time()),
        }
        if params.get("message_thread_id"):
            msg["message_thread_id"] = params["message_thread_id"]
        if reply_to is not None:
            msg["reply_to_message"] = {k: v for k, v in reply_to.items() if k != "reply_to_message"}
        msg.update(content)
        if markup and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        self._messages[(chat_id, msg["message_id"])] = msg
        # attribution for exactly-once accounting
        target: int | None = None
        if reply_to is not None:
            target = self._msg_update.get((chat_id, reply_to["message_id"]))
            if target is not None:
                with contextlib.suppress(ValueError):
                    self._awaiting_reply[chat_id].remove(target)
        if target is None:
            waiting = self._awaiting_reply.get(chat_id)
            target = waiting.popleft() if waiting else self._last_update_in_chat.get(chat_id)
        if target is not None:
            self._reply_counts[target] = self._reply_counts.get(target, 0) + 1
        pending = self._latency_pending.get(chat_id)
        if pending:
            for uid, t in pending:
                self._latencies[uid] = now - t
            pending.clear()
        bm = BotMessage(
            chat_id,
            msg["message_id"],
            text,
            entities,
            markup if markup and "inline_keyboard" in markup else None,
            msg["date"],
            now,
            method,
            msg,
            target,
        )
        self._bot_messages[(chat_id, bm.message_id)] = bm
        self.bot_messages.append(bm)
        self._bot_messages_by_chat[chat_id].append(bm)
        return msg

    def _m_sendMessage(self, params: JSON) -> JSON:
        chat = self._chat_for(params)
        text, entities = self._format(params.get("text"), params)
        markup = self._check_markup(params.get("reply_markup"))
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        return self._new_bot_message("sendMessage", chat, params, content, text, entities, markup)

    def _send_media(self, method: str, field: str, params: JSON) -> JSON:
        chat = self._chat_for(params)
        media = params.get(field)
        if media in (None, ""):
            raise bad_request(f"there is no {field} in the request")
        content: JSON = {}
        n = next(self._query_ids)
        if field == "photo":
            content["photo"] = [
                {"file_id": f"botphoto{n}", "file_unique_id": f"bp{n}", "width": 800, "height": 600}
            ]
        else:
            name = media.get("filename") if isinstance(media, dict) else "file"
            content["document"] = {"file_id": f"botdoc{n}", "file_unique_id": f"bd{n}", "file_name": name}
        text: str | None = None
        entities: list[JSON] = []
        if params.get("caption"):
            text, entities = self._format(
                params["caption"],
                params,
                entities_key="caption_entities",
                limit=1024,
                too_long="message caption is too long",
            )
            content["caption"] = text
            if entities:
                content["caption_entities"] = entities
        markup = self._check_markup(params.get("reply_markup"))
        return self._new_bot_message(method, chat, params, content, text, entities, markup)

    def _m_sendDocument(self, params: JSON) -> JSON:
        return self._send_media("sendDocument", "document", params)

    def _m_sendPhoto(self, params: JSON) -> JSON:
        return self._send_media("sendPhoto", "photo", params)

    def _edit_target(self, params: JSON) -> BotMessage:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._chat_for(params)
        mid = params.get("message_id")
        if not isinstance(mid, int):
            raise bad_request("message identifier is not specified")
        key = (chat["id"], mid)
        bm = self._bot_messages.get(key)
        if bm is None or bm.deleted:
            if key in self._messages and bm is None:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return bm

    def _apply_edit(
        self, bm: BotMessage, text: str | None, entities: list[JSON], markup: JSON | None
    ) -> JSON:
        bm.history.append((bm.text, bm.reply_markup))
        bm.text, bm.entities, bm.reply_markup = text, entities, markup
        bm.edits += 1
        raw = {k: v for k, v in bm.raw.items() if k not in ("reply_markup", "entities")}
        if text is not None and "text" in raw:
            raw["text"] = text
            if entities:
                raw["entities"] = entities
        if markup:
            raw["reply_markup"] = markup
        raw["edit_date"] = int(time.time())
        bm.raw = raw
        self._messages[(bm.chat_id, bm.message_id)] = raw
        self._notify()
        return raw

    def _m_editMessageText(self, params: JSON) -> JSON:
        bm = self._edit_target(params)
        text, entities = self._format(params.get("text"), params)
        markup = self._check_markup(params.get("reply_markup"))
        markup = markup if markup and "inline_keyboard" in markup else None
        if bm.text is None:
            raise bad_request("there is no text in the message to edit")
        if text == bm.text and entities == bm.entities and markup == bm.reply_markup:
            raise bad_request(_NOT_MODIFIED)
        return self._apply_edit(bm, text, entities, markup)

    def _m_editMessageReplyMarkup(self, params: JSON) -> JSON:
        bm = self._edit_target(params)
        markup = self._check_markup(params.get("reply_markup"))
        markup = markup if markup and "inline_keyboard" in markup else None
        if markup == bm.reply_markup:
            raise bad_request(_NOT_MODIFIED)
        return self._apply_edit(bm, bm.text, bm.entities, markup)

    def _m_deleteMessage(self, params: JSON) -> bool:
        chat = self._chat_for(params)
        key = (chat["id"], params.get("message_id"))
        if key not in self._messages:
            raise bad_request("message to delete not found")
        del self._messages[key]  # type: ignore[arg-type]
        bm = self._bot_messages.get(key)  # type: ignore[arg-type]
        if bm is not None:
            bm.deleted = True
        return True

    def _take_query(self, qid: Any, kind: str, timeout: float) -> None:
        entry = self._queries.get(qid) if isinstance(qid, str) else None
        if entry is None or entry[2] != kind or entry[1] or time.monotonic() - entry[0] > timeout:
            raise bad_request(_QUERY_TOO_OLD)
        self._queries[qid] = (entry[0], True, kind)

    def _m_answerCallbackQuery(self, params: JSON) -> bool:
        text = params.get("text")
        if isinstance(text, str) and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        if params.get("url") is not None:
            raise bad_request("URL_INVALID")
        self._take_query(params.get("callback_query_id"), "callback", self.callback_query_timeout)
        return True

    def _m_answerInlineQuery(self, params: JSON) -> bool:
        results = params.get("results")
        if not isinstance(results, list):
            raise bad_request("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for r in results:
            if not isinstance(r, dict) or r.get("type") not in _INLINE_RESULT_TYPES:
                raise bad_request("RESULT_TYPE_INVALID")
            rid = r.get("id")
            if not isinstance(rid, str) or not 1 <= len(rid.encode()) <= 64:
                raise bad_request("RESULT_ID_INVALID")
            if rid in seen:
                raise bad_request("RESULT_ID_DUPLICATE")
            seen.add(rid)
            if r["type"] == "article":
                if not isinstance(r.get("title"), str) or not r["title"].strip():
                    raise bad_request(
                        'can\'t parse InlineQueryResultArticle: Field "title" must be of type String'
                    )
                content = r.get("input_message_content")
                if not isinstance(content, dict):
                    raise bad_request(
                        "can't parse InlineQueryResultArticle: "
                        'Field "input_message_content" must be of type Object'
                    )
            content = r.get("input_message_content")
            if isinstance(content, dict) and "message_text" in content:
                self._format(content["message_text"], content)
            if "reply_markup" in r:
                self._check_markup(r["reply_markup"])
        self._take_query(params.get("inline_query_id"), "inline", self.inline_query_timeout)
        return True

    @staticmethod
    def _scope_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code") or ""

    def _m_setMyCommands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for c in commands:
            if not isinstance(c, dict) or not _COMMAND_RE.match(str(c.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            desc = c.get("description")
            if not isinstance(desc, str) or not 1 <= len(desc) <= 256:
                raise bad_request(
                    "BOT_COMMAND_DESCRIPTION_INVALID" if desc else "command description is empty"
                )
        self.commands[self._scope_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _m_getMyCommands(self, params: JSON) -> list[JSON]:
        return self.commands.get(self._scope_key(params), [])

    def _m_deleteMyCommands(self, params: JSON) -> bool:
        self.commands.pop(self._scope_key(params), None)
        return True

    def _m_sendChatAction(self, params: JSON) -> bool:
        self._chat_for(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _m_getChat(self, params: JSON) -> JSON:
        chat = self._chat_for(params)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _m_close(self, params: JSON) -> bool:
        return True

    def _m_logOut(self, params: JSON) -> bool:
        return True

    def register_method(self, name: str, handler: Callable[[JSON], Any]) -> None:
        """Serve another Bot API method: ``handler(params)`` returns the result or raises ``ApiError``."""
        self._methods[name.lower()] = handler


# --------------------------------------------------------------------------------------------------
# control endpoints (for subprocess use)


def _control_routes(api: FakeBotAPI) -> list[web.RouteDef]:
    """``/_fake`` endpoints: push updates, inject faults, read records (JSON in and out)."""

    def msg_json(m: BotMessage) -> JSON:
        return {
            "chat_id": m.chat_id,
            "message_id": m.message_id,
            "text": m.text,
            "reply_markup": m.reply_markup,
            "reply_to_update": m.reply_to_update,
            "fault": m.fault,
            "edits": m.edits,
            "time": m.time,
        }

    def push_one(spec: JSON) -> int:
        spec = dict(spec)
        kind = spec.pop("type", "message")
        if kind == "message":
            return api.push_message(spec.pop("chat"), spec.pop("user", None), spec.pop("text"), **spec)
        if kind == "command":
            return api.push_command(spec.pop("chat"), spec.pop("user", None), spec.pop("command"), **spec)
        if kind == "callback":
            return api.push_callback(
                (spec["chat_id"], spec["message_id"]), spec["data"], user=spec.get("user")
            )
        if kind == "press":
            return api.press_button(
                (spec["chat_id"], spec["message_id"]), spec["button"], user=spec.get("user")
            )
        if kind == "inline_query":
            return api.push_inline_query(spec["user"], spec["query"])
        if kind in ("sticker", "photo", "voice"):
            return getattr(api, f"push_{kind}")(spec.pop("chat"), spec.pop("user", None))
        raise ValueError(f"unknown push type {kind!r}")

    async def push(request: web.Request) -> web.Response:
        body = await request.json()
        try:
            if "updates" in body:
                return web.json_response({"update_ids": [push_one(s) for s in body["updates"]]})
            return web.json_response({"update_id": push_one(body)})
        except (KeyError, ValueError, TypeError) as exc:
            return web.json_response({"error": repr(exc)}, status=400)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(api.stats())

    async def latency(request: web.Request) -> web.Response:
        return web.json_response(api.latency_report())

    async def sent(request: web.Request) -> web.Response:
        chat = request.query.get("chat_id")
        return web.json_response([msg_json(m) for m in api.sent_messages(int(chat) if chat else None)])

    async def wait_messages(request: web.Request) -> web.Response:
        chat = request.query.get("chat_id")
        try:
            msgs = await api.wait_for_messages(
                int(request.query.get("n", "1")),
                int(chat) if chat else None,
                float(request.query.get("timeout", "5")),
            )
        except TimeoutError as exc:
            return web.json_response({"error": str(exc), "count": len(api.sent_messages())}, status=408)
        return web.json_response({"count": len(msgs)})

    async def reply_counts(request: web.Request) -> web.Response:
        return web.json_response({str(k): v for k, v in api.reply_counts().items()})

    async def fail_next(request: web.Request) -> web.Response:
        body = await request.json()
        api.fail_next(
            body["method"],
            int(body.get("n", 1)),
            body.get("kind", "500"),
            retry_after=int(body.get("retry_after", 1)),
            delay=body.get("delay"),
        )
        return web.json_response({"ok": True})

    async def faults(request: web.Request) -> web.Response:
        body = await request.json()
        api.faults(
            float(body["rate"]),
            body.get("kinds", ["500"]),
            int(body.get("seed", 0)),
            methods=body.get("methods"),
            retry_after=int(body.get("retry_after", 1)),
            delay=body.get("delay"),
            hang=body.get("hang"),
        )
        return web.json_response({"ok": True})

    async def clear_faults(request: web.Request) -> web.Response:
        api.clear_faults()
        return web.json_response({"ok": True})

    async def reset(request: web.Request) -> web.Response:
        api.reset_records()
        return web.json_response({"ok": True})

    return [
        web.post("/_fake/push", push),
        web.get("/_fake/stats", stats),
        web.get("/_fake/latency", latency),
        web.get("/_fake/sent", sent),
        web.get("/_fake/wait_messages", wait_messages),
        web.get("/_fake/reply_counts", reply_counts),
        web.post("/_fake/fail_next", fail_next),
        web.post("/_fake/faults", faults),
        web.post("/_fake/clear_faults", clear_faults),
        web.post("/_fake/reset", reset),
    ]


# --------------------------------------------------------------------------------------------------
# running outside the test's event loop


class FakeBotAPIThread:
    """Runs a ``FakeBotAPI`` on its own event loop in a daemon thread (for sync code and benchmarks).

    ``with FakeBotAPIThread(token=...) as t: t.call(lambda api: api.push_message(1, 1, "hi"))``
    """

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fakebotapi", daemon=True)
        self.api: FakeBotAPI | None = None

    def start(self) -> FakeBotAPI:
        """Start the loop thread and the server; return the server."""
        self._thread.start()

        async def boot() -> FakeBotAPI:
            api = FakeBotAPI(**self._kwargs)
            await api.start()
            return api

        self.api = asyncio.run_coroutine_threadsafe(boot(), self.loop).result(10)
        return self.api

    def call(self, fn: Callable[[FakeBotAPI], Any], timeout: float = 30.0) -> Any:
        """Run ``fn(api)`` on the server's loop (awaiting it if it returns a coroutine)."""
        assert self.api is not None

        async def run() -> Any:
            result = fn(self.api)  # type: ignore[arg-type]
            return await result if asyncio.iscoroutine(result) else result

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def stop(self) -> None:
        """Stop the server and the loop thread."""
        if self.api is not None:
            asyncio.run_coroutine_threadsafe(self.api.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def __enter__(self) -> FakeBotAPIThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def fake_api_subprocess(
    port: int = 0,
    token: str = "123456:TEST-TOKEN",
    *extra_args: str,
    python: str = sys.executable,
    cwd: str | None = None,
) -> Iterator[JSON]:
    """Start ``python -m tests.fakebotapi`` and yield its ready line (base_url, port, token, control_url)."""
    cmd = [python, "-m", "tests.fakebotapi", "--port", str(port), "--token", token, *extra_args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=cwd)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"fake Bot API exited with {proc.wait()}")
        info = json.loads(line)
        info["pid"] = proc.pid
        yield info
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _serve(args: argparse.Namespace) -> None:
    api = FakeBotAPI(
        token=args.token,
        port=args.port,
        bot_username=args.bot_username,
        callback_query_timeout=args.callback_timeout,
        fault_delay=args.fault_delay,
        strict_html_ampersand=not args.lenient_ampersand,
    )
    await api.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(
        json.dumps(
            {
                "base_url": api.base_url,
                "port": api.port,
                "token": api.token,
                "control_url": api.control_url,
                "bot_username": api.bot_username,
            }
        ),
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await api.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API server on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="port (0 = pick a free one)")
    parser.add_argument("--token", default="123456:TEST-TOKEN")
    parser.add_argument("--bot-username", default="archive_test_bot")
    parser.add_argument("--callback-timeout", type=float, default=15.0)
    parser.add_argument("--fault-delay", type=float, default=6.0)
    parser.add_argument(
        "--lenient-ampersand", action="store_true", help="accept a bare & in HTML like Telegram"
    )
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()


__all__ = [
    "FAULT_KINDS",
    "ApiError",
    "BotMessage",
    "Call",
    "FakeBotAPI",
    "FakeBotAPIThread",
    "InjectedFault",
    "PushedUpdate",
    "Rejection",
    "fake_api_subprocess",
    "parse_html",
    "utf16_len",
]
