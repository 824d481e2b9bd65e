"""The fake Bot API behaves like Telegram towards the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryResultArticle, Update
from telegram import InputTextMessageContent as Content
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from tests.conftest import FAKE_TOKEN
from tests.fakebotapi import FakeBotAPI, FakeBotAPIThread, fake_api_subprocess, parse_html, utf16_len

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(15)]

USER = 1001


@pytest_asyncio.fixture
async def bot(fake_api: FakeBotAPI) -> AsyncIterator[Bot]:
    """A real PTB Bot pointed at the fake, with a known private chat for USER."""
    fake_api.user(USER, "Alice")
    fake_api.private_chat(USER)
    async with Bot(FAKE_TOKEN, base_url=fake_api.base_url) as b:
        yield b


def keyboard(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(list(rows))


async def raw_post(
    api: FakeBotAPI, method: str, token: str = FAKE_TOKEN, **kwargs: object
) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as s, s.post(f"{api.base_url}{token}/{method}", **kwargs) as r:
        return r.status, await r.json()


# ---- basics ----------------------------------------------------------------------------------------


async def test_get_me_returns_the_bot_user(bot: Bot, fake_api: FakeBotAPI) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.username == fake_api.bot_username
    assert me.can_join_groups and me.supports_inline_queries
    assert fake_api.calls("getMe")[0].ok


async def test_server_binds_loopback_and_exposes_base_url(fake_api: FakeBotAPI) -> None:
    assert fake_api.port > 0
    assert fake_api.base_url == f"http://127.0.0.1:{fake_api.port}/bot"


async def test_send_message_round_trip_is_recorded_with_decoded_markup(
    bot: Bot, fake_api: FakeBotAPI
) -> None:
    markup = keyboard([InlineKeyboardButton("More", callback_data="more:1")])
    msg = await bot.send_message(USER, "<b>Hello</b> &amp; welcome", parse_mode="HTML", reply_markup=markup)
    assert msg.text == "Hello & welcome" and msg.from_user.id == fake_api.bot_id and msg.chat.id == USER
    assert [(e.type, e.offset, e.length) for e in msg.entities] == [("bold", 0, 5)]
    assert msg.reply_markup == markup
    call = fake_api.calls("sendMessage")[0]
    assert call.params["chat_id"] == USER
    assert call.params["reply_markup"] == {"inline_keyboard": [[{"text": "More", "callback_data": "more:1"}]]}
    stored = fake_api.last_message(USER)
    assert stored.text == "Hello & welcome" and stored.button("More")["callback_data"] == "more:1"
    assert fake_api.rejections == []


async def test_wrong_token_gets_401_unauthorized(fake_api: FakeBotAPI) -> None:
    other = Bot("999:WRONG", base_url=fake_api.base_url)
    with pytest.raises(InvalidToken, match="rejected by the server"):
        await other.initialize()
    await other.shutdown()
    status, body = await raw_post(fake_api, "getMe", token="999:WRONG")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})


async def test_unknown_method_gets_404_and_json_bodies_are_accepted(fake_api: FakeBotAPI) -> None:
    status, body = await raw_post(fake_api, "sendTelepathy", json={"chat_id": 1})
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    fake_api.private_chat(fake_api.user(5))
    status, body = await raw_post(fake_api, "sendMessage", json={"chat_id": 5, "text": "json body"})
    assert status == 200 and body["ok"] and body["result"]["text"] == "json body"
    assert [r.error_code for r in fake_api.rejections] == [404]


async def test_send_to_unknown_chat_is_chat_not_found(bot: Bot, fake_api: FakeBotAPI) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hi")
    assert fake_api.rejections[0].description == "Bad Request: chat not found"


# ---- getUpdates ------------------------------------------------------------------------------------


async def test_long_poll_returns_early_when_an_update_is_pushed(bot: Bot, fake_api: FakeBotAPI) -> None:
    async def push_later() -> None:
        await asyncio.sleep(0.2)
        fake_api.push_message(USER, USER, "late hello")

    task = asyncio.create_task(push_later())
    start = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    await task
    assert 0.15 < time.monotonic() - start < 2
    assert [u.message.text for u in updates] == ["late hello"]
    assert updates[0].message.from_user.language_code == "zh-hans"


async def test_long_poll_without_updates_returns_empty_after_timeout(bot: Bot) -> None:
    start = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 < time.monotonic() - start < 3


async def test_offset_acknowledges_updates_for_ever(bot: Bot, fake_api: FakeBotAPI) -> None:
    ids = [fake_api.push_message(USER, USER, f"m{i}") for i in range(3)]
    assert [u.update_id for u in await bot.get_updates()] == ids  # not acknowledged yet
    assert [u.update_id for u in await bot.get_updates()] == ids
    assert [u.update_id for u in await bot.get_updates(offset=ids[1])] == ids[1:]
    assert [u.update_id for u in await bot.get_updates(offset=0)] == ids[1:]  # ids[0] is gone
    assert [u.update_id for u in await bot.get_updates(limit=1)] == ids[1:2]
    assert await bot.get_updates(offset=ids[-1] + 1) == ()
    assert fake_api.pending_updates == []


async def test_a_newer_long_poll_terminates_the_older_with_conflict(bot: Bot, fake_api: FakeBotAPI) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await fake_api.wait_for_call("getUpdates")
    await asyncio.sleep(0.05)
    async with Bot(FAKE_TOKEN, base_url=fake_api.base_url) as other_instance:
        second = asyncio.create_task(other_instance.get_updates(timeout=5))
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await asyncio.wait_for(first, 2)
        fake_api.push_message(USER, USER, "x")
        assert len(await asyncio.wait_for(second, 2)) == 1
    assert fake_api.rejections == []  # termination is not the bot's fault


async def test_pushed_update_kinds_parse_as_ptb_objects(bot: Bot, fake_api: FakeBotAPI) -> None:
    group = fake_api.group(-100777, "Study group")
    fake_api.push_mention(group, USER, "what is dropout?")
    fake_api.push_command(group, USER, "search", "resnet")
    fake_api.push_sticker(USER)
    fake_api.push_photo(USER, caption="look")
    fake_api.push_voice(USER)
    fake_api.push_inline_query(USER, "batch norm")
    fake_api.push_chosen_inline_result(USER, "r1", "batch norm")
    mention, command, sticker, photo, voice, inline, chosen = await bot.get_updates()
    assert mention.message.chat.type == "supergroup"
    assert mention.message.parse_entities(["mention"]) == {
        mention.message.entities[0]: f"@{fake_api.bot_username}"
    }
    assert command.message.text == f"/search@{fake_api.bot_username} resnet"
    assert command.message.entities[0].type == "bot_command" and command.message.entities[0].offset == 0
    assert sticker.message.sticker.emoji and photo.message.photo[-1].width == 1280
    assert photo.message.caption == "look" and voice.message.voice.mime_type == "audio/ogg"
    assert inline.inline_query.query == "batch norm" and chosen.chosen_inline_result.result_id == "r1"


# ---- rejections ------------------------------------------------------------------------------------


async def test_text_longer_than_4096_is_rejected_but_4096_is_accepted(bot: Bot, fake_api: FakeBotAPI) -> None:
    await bot.send_message(USER, "a" * 4096)
    await bot.send_message(USER, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")  # tags do not count
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "a" * 4097)
    assert [r.description for r in fake_api.rejections] == ["Bad Request: message is too long"]


async def test_length_is_counted_in_utf16_code_units(bot: Bot, fake_api: FakeBotAPI) -> None:
    assert utf16_len("😀") == 2 and utf16_len("中") == 1
    await bot.send_message(USER, "😀" * 2048)  # 2048 code points, 4096 UTF-16 units
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "😀" * 2048 + "x")  # 2049 code points but 4097 units
    await bot.send_message(USER, "中" * 4096)


async def test_empty_or_blank_text_is_rejected(bot: Bot, fake_api: FakeBotAPI) -> None:
    for text in ["   \n ", "<b></b>"]:
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message(USER, text, parse_mode="HTML")
    assert len(fake_api.rejections) == 2 and fake_api.sent_messages() == []


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<b>unclosed", "Can't find end tag corresponding to start tag b"),
        ("<b><i>misnested</b></i>", 'Unmatched end tag at byte offset 15, expected "</i>", found "</b>"'),
        ("<p>paragraph</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("AT&T", 'Unescaped "&" at byte offset 2'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ('<span class="bold">x</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("<b", "Unclosed start tag at byte offset 0"),
    ],
)
async def test_malformed_html_is_rejected(bot: Bot, fake_api: FakeBotAPI, html: str, reason: str) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(USER, html, parse_mode="HTML")
    assert fake_api.rejections[0].description.startswith("Bad Request: can't parse entities: " + reason)


async def test_valid_html_is_parsed_into_entities(bot: Bot) -> None:
    html = (
        'a &lt;tag&gt; &amp; &quot;q&quot; &#128512; <a href="https://example.org/x?a=1&amp;b=2">link</a> '
        '<span class="tg-spoiler">s</span> <tg-spoiler>t</tg-spoiler> <pre><code class="language-py">'
        "x = 1</code></pre> <blockquote>q</blockquote> <u>u</u><s>s</s><i>i</i><code>c</code>"
    )
    msg = await bot.send_message(USER, html, parse_mode="HTML")
    assert msg.text.startswith('a <tag> & "q" 😀 link s t x = 1 q usic')
    kinds = {e.type: e for e in msg.entities}
    assert kinds["text_link"].url == "https://example.org/x?a=1&b=2"
    assert kinds["pre"].language == "py"
    assert msg.parse_entity(kinds["text_link"]) == "link"  # offsets are UTF-16 (😀 counts 2)
    assert {"spoiler", "blockquote", "underline", "strikethrough", "italic", "code"} <= set(kinds)


async def test_bare_ampersand_is_accepted_when_lenient_like_real_telegram() -> None:
    assert parse_html("AT&T", strict_ampersand=False) == ("AT&T", [])


async def test_only_html_parse_mode_is_accepted(bot: Bot, fake_api: FakeBotAPI) -> None:
    with pytest.raises(BadRequest, match=r"(?i)unsupported parse_mode"):
        await bot.send_message(USER, "*bold*", parse_mode="MarkdownV2")


async def test_callback_data_is_limited_to_64_bytes(bot: Bot, fake_api: FakeBotAPI) -> None:
    await bot.send_message(
        USER, "ok", reply_markup=keyboard([InlineKeyboardButton("b", callback_data="x" * 64)])
    )
    for data in ["x" * 65, "中" * 22]:  # 66 bytes in UTF-8 although 22 characters
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(
                USER, "no", reply_markup=keyboard([InlineKeyboardButton("b", callback_data=data)])
            )
    assert [r.description for r in fake_api.rejections] == ["Bad Request: BUTTON_DATA_INVALID"] * 2


async def test_keyboard_shape_and_button_rules_are_enforced(bot: Bot, fake_api: FakeBotAPI) -> None:
    def btn(i: int) -> InlineKeyboardButton:
        return InlineKeyboardButton(str(i), callback_data=str(i))

    await bot.send_message(USER, "8 ok", reply_markup=keyboard([btn(i) for i in range(8)]))
    await bot.send_message(USER, "100 ok", reply_markup=keyboard(*[[btn(i) for i in range(5)]] * 20))
    bad = [
        {"inline_keyboard": [[btn(i).to_dict() for i in range(9)]]},
        {"inline_keyboard": [[btn(i).to_dict() for i in range(5)]] * 21},
        {"inline_keyboard": [[{"text": "no action"}]]},
        {"inline_keyboard": [[{"text": "two", "callback_data": "a", "url": "https://example.org"}]]},
        {"inline_keyboard": [[{"text": "", "callback_data": "a"}]]},
        {"inline_keyboard": [[{"text": "ftp", "url": "ftp://example.org"}]]},
    ]
    for markup in bad:
        status, body = await raw_post(
            fake_api, "sendMessage", data={"chat_id": USER, "text": "x", "reply_markup": json.dumps(markup)}
        )
        assert status == 400 and not body["ok"], markup
    assert len(fake_api.rejections) == len(bad) and len(fake_api.sent_messages()) == 2


async def test_edit_rejects_unchanged_content_and_unknown_messages(bot: Bot, fake_api: FakeBotAPI) -> None:
    markup = keyboard([InlineKeyboardButton("A", callback_data="a")])
    msg = await bot.send_message(USER, "same", reply_markup=markup)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("same", USER, msg.message_id, reply_markup=markup)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(USER, msg.message_id, reply_markup=markup)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("other", USER, 9999)
    edited = await bot.edit_message_text("changed", USER, msg.message_id)
    assert edited.text == "changed" and edited.reply_markup is None and edited.edit_date is not None
    assert fake_api.message(USER, msg.message_id).text == "changed"
    assert fake_api.message(USER, msg.message_id).history == [("same", markup.to_dict())]


async def test_callback_answers_must_be_fresh_and_single(bot: Bot, fake_api: FakeBotAPI) -> None:
    msg = await bot.send_message(
        USER, "pick", reply_markup=keyboard([InlineKeyboardButton("Go", callback_data="go")])
    )
    uid = fake_api.press_button(fake_api.message(USER, msg.message_id), "Go")
    (update,) = await bot.get_updates()
    assert update.callback_query.data == "go" and update.callback_query.message.message_id == msg.message_id
    with pytest.raises(BadRequest, match="Message_too_long"):
        await bot.answer_callback_query(update.callback_query.id, text="x" * 201)
    assert await bot.answer_callback_query(fake_api.query_id_of(uid), text="ok")
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(update.callback_query.id)  # answered twice
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("no-such-query")
    fake_api.callback_query_timeout = 0.05
    stale = fake_api.push_callback((USER, msg.message_id), "go")
    await asyncio.sleep(0.1)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(fake_api.query_id_of(stale))


async def test_inline_answers_are_validated(bot: Bot, fake_api: FakeBotAPI) -> None:
    def art(i: int | str) -> InlineQueryResultArticle:
        return InlineQueryResultArticle(str(i), f"t{i}", Content(f"text {i}"))

    qid = fake_api.query_id_of(fake_api.push_inline_query(USER, "q"))
    with pytest.raises(BadRequest, match="Results_too_much"):
        await bot.answer_inline_query(qid, [art(i) for i in range(51)])
    with pytest.raises(BadRequest, match="Result_id_duplicate"):
        await bot.answer_inline_query(qid, [art(1), art(1)])
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.answer_inline_query(
            qid, [InlineQueryResultArticle("1", "t", Content("<x>", parse_mode="HTML"))]
        )
    assert await bot.answer_inline_query(qid, [art(i) for i in range(50)])
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_inline_query(qid, [art(1)])


async def test_commands_round_trip_and_invalid_commands_are_rejected(bot: Bot, fake_api: FakeBotAPI) -> None:
    assert await bot.set_my_commands([("start", "Start"), ("search", "Search the archive")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "search"]
    assert await bot.get_my_commands(language_code="en") == ()
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([("Bad-Command", "x")])
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    assert await bot.send_chat_action(USER, "typing")
    chat = await bot.get_chat(USER)
    assert chat.id == USER and chat.type == "private"
    assert await bot.close() and await bot.log_out()


# ---- faults ----------------------------------------------------------------------------------------


async def test_500_fails_once_then_the_retry_succeeds(bot: Bot, fake_api: FakeBotAPI) -> None:
    fake_api.fail_next("sendMessage", 1, "500")
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(USER, "first")
    assert (await bot.send_message(USER, "second")).text == "second"
    assert [m.text for m in fake_api.sent_messages()] == ["second"]
    assert [(f.method, f.kind) for f in fake_api.injected_faults] == [("sendMessage", "500")]


async def test_429_is_seen_by_ptb_as_retry_after(bot: Bot, fake_api: FakeBotAPI) -> None:
    fake_api.fail_next("sendMessage", 1, "429", retry_after=7)
    with pytest.raises(RetryAfter, match="Retry in 7 seconds"):
        await bot.send_message(USER, "flood")
    assert fake_api.sent_messages() == []


async def test_dropped_connection_is_a_network_error_and_nothing_is_sent(
    bot: Bot, fake_api: FakeBotAPI
) -> None:
    fake_api.fail_next("sendMessage", 1, "drop")
    with pytest.raises(NetworkError, match="disconnected"):
        await bot.send_message(USER, "dropped")
    assert fake_api.sent_messages() == [] and fake_api.calls("sendMessage")[0].fault == "drop"


async def test_lost_response_delivers_the_message_but_the_bot_sees_an_error(
    bot: Bot, fake_api: FakeBotAPI
) -> None:
    fake_api.push_message(USER, USER, "question")
    fake_api.fail_next("sendMessage", 1, "lost")
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "answer")
    await bot.send_message(USER, "answer")  # a naive retry duplicates
    assert [m.fault for m in fake_api.sent_messages()] == ["lost", None]
    assert len(fake_api.lost_responses) == 1
    assert list(fake_api.reply_counts(USER).values()) == [2]


async def test_slow_response_times_out_in_ptb(fake_api: FakeBotAPI) -> None:
    request = HTTPXRequest(read_timeout=0.2)
    async with Bot(FAKE_TOKEN, base_url=fake_api.base_url, request=request) as slow:
        fake_api.fail_next("getMe", 1, "delay", delay=1.0)
        start = time.monotonic()
        with pytest.raises(TimedOut):
            await slow.get_me()
        assert time.monotonic() - start < 0.9


async def test_probabilistic_faults_are_deterministic_per_seed(fake_api: FakeBotAPI) -> None:
    async def run(seed: int) -> list[bool]:
        fake_api.faults(0.5, ["500", "502"], seed=seed, methods=["getMe"])
        out = []
        async with aiohttp.ClientSession() as s:
            for _ in range(20):
                async with s.post(f"{fake_api.base_url}{FAKE_TOKEN}/getMe") as r:
                    out.append(r.status == 200)
        return out

    first, again, other = await run(1), await run(1), await run(2)
    assert first == again and first != other and 0 < sum(first) < 20
    fake_api.clear_faults()
    assert (await raw_post(fake_api, "getMe"))[0] == 200


# ---- webhook -----------------------------------------------------------------------------------------


async def test_webhook_delivers_with_secret_header_and_retries(bot: Bot, fake_api: FakeBotAPI) -> None:
    received: list[tuple[str | None, dict]] = []
    statuses = iter([500, 200, 200])

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(status=next(statuses))

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        assert await bot.set_webhook(
            f"http://127.0.0.1:{port}/hook", secret_token="s3cret", max_connections=1
        )
        first = fake_api.push_message(USER, USER, "via webhook")
        second = fake_api.push_message(USER, USER, "second")
        await fake_api.wait_for(lambda: len(received) == 3, timeout=5)
        assert [(s, u["update_id"]) for s, u in received] == [
            ("s3cret", first),
            ("s3cret", first),
            ("s3cret", second),
        ]
        assert received[0][1]["message"]["text"] == "via webhook"
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        assert info.last_error_message
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        assert await bot.delete_webhook()
        fake_api.push_message(USER, USER, "polling again")
        assert [u.message.text for u in await bot.get_updates()] == ["polling again"]
    finally:
        await runner.cleanup()


# ---- real Application ----------------------------------------------------------------------------------


async def start_app(api: FakeBotAPI, app: Application) -> None:
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=1)  # type: ignore[union-attr]


async def stop_app(app: Application) -> None:
    await app.updater.stop()  # type: ignore[union-attr]
    await app.stop()
    await app.shutdown()


async def test_application_polls_answers_and_presses_buttons(fake_api: FakeBotAPI) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        markup = keyboard([InlineKeyboardButton("Again", callback_data=f"again:{update.message.text}")])
        await update.message.reply_text(f"echo: {update.message.text}", reply_markup=markup)

    async def again(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text(f"again {update.callback_query.data}")

    app = ApplicationBuilder().token(FAKE_TOKEN).base_url(fake_api.base_url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(again))
    await start_app(fake_api, app)
    try:
        for user in (1, 2, 3):
            fake_api.push_message(user, user, f"hi {user}")
        await fake_api.wait_for_messages(3, timeout=5)
        assert sorted(m.text for m in fake_api.sent_messages()) == ["echo: hi 1", "echo: hi 2", "echo: hi 3"]
        fake_api.press_button(fake_api.last_message(2), "Again")
        await fake_api.wait_for(lambda: fake_api.last_message(2).text == "again again:hi 2", timeout=5)
        await fake_api.wait_for_call("answerCallbackQuery")
    finally:
        await stop_app(app)
    assert fake_api.rejections == []
    assert set(fake_api.reply_counts().values()) == {1}
    report = fake_api.latency_report()
    assert report["pushed"] == report["answered"] == 3 and 0 < report["max"] < 5
    assert fake_api.pending_updates == []  # the updater acknowledged everything on stop


async def test_subprocess_server_serves_ptb_and_control_endpoints() -> None:
    with fake_api_subprocess(0, FAKE_TOKEN) as info:
        async with aiohttp.ClientSession() as s:
            async with s.post(f"{info['control_url']}/push", json={"chat": 9, "user": 9, "text": "hi"}) as r:
                assert (await r.json())["update_id"] == 1
            async with Bot(FAKE_TOKEN, base_url=info["base_url"]) as b:
                (update,) = await b.get_updates()
                await b.send_message(update.message.chat.id, "pong")
            async with s.get(f"{info['control_url']}/stats") as r:
                stats = await r.json()
    assert stats["bot_messages"] == 1 and stats["rejections"] == []


@pytest.mark.filterwarnings("ignore::pytest.PytestWarning")
def test_thread_runner_serves_from_another_loop() -> None:
    with FakeBotAPIThread(token=FAKE_TOKEN) as runner:
        runner.call(lambda api: api.push_message(3, 3, "hello"))

        async def poll() -> tuple[Update, ...]:
            async with Bot(FAKE_TOKEN, base_url=runner.api.base_url) as b:  # type: ignore[union-attr]
                return await b.get_updates()

        (update,) = asyncio.run(poll())
        assert update.message.text == "hello"
