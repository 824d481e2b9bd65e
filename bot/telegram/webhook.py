"""Webhook mode: an aiohttp server that Telegram (or a reverse proxy) posts updates to.

Every request must carry ``X-Telegram-Bot-Api-Secret-Token`` equal to the configured secret
(compared in constant time); anything else gets 403 and is not parsed. An update is answered
*before* the 200 goes back, so Telegram redelivers it if the process dies first; redeliveries
already handled are recognised by the state store. ``GET /healthz`` reports liveness.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.telegram.context import Services
from bot.telegram.delivery import ChatSerializer, handle_batch

log = logging.getLogger("bot.telegram.webhook")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024


def make_web_app(app: Application, services: Services) -> web.Application:
    """The aiohttp application: the update endpoint and ``/healthz``."""
    wh = services.config.telegram.webhook
    secret = wh.secret_token.encode()
    serializer = ChatSerializer(services.config.telegram.concurrent_updates)
    path = "/" + wh.url_path.strip("/")

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, secret):
            log.warning("webhook request with a missing or wrong secret token refused (from %s)", request.remote)
            return web.Response(status=403, text="forbidden")
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.Response(status=413, text="too large")
        try:
            data = await request.json(loads=json.loads)
            update = Update.de_json(data, app.bot)
        except Exception:  # malformed JSON or not an Update: tell the sender, keep serving
            return web.Response(status=400, text="not a Telegram update")
        if update is None:
            return web.Response(status=400, text="not a Telegram update")
        await handle_batch(app, services, serializer, [update])
        return web.Response(status=200, text="ok")

    async def healthz(_: web.Request) -> web.Response:
        body = {
            "status": "ok",
            "questions": len(services.answerer.matcher),
            "uptime_s": round(time.time() - services.started, 1),
            "last_reload": round(services.last_reload, 1),
        }
        return web.json_response(body)

    web_app = web.Application(client_max_size=MAX_BODY)
    web_app.router.add_post(path, receive)
    web_app.router.add_get("/healthz", healthz)
    return web_app


async def run_webhook(app: Application, services: Services, stop: asyncio.Event) -> None:
    """Listen where configured, register the webhook with Telegram, serve until ``stop``."""
    wh = services.config.telegram.webhook
    runner = web.AppRunner(make_web_app(app, services), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host=wh.listen, port=wh.port)
    await site.start()
    log.info("webhook listening on %s:%d/%s", wh.listen, wh.port, wh.url_path.strip("/"))
    try:
        await app.bot.set_webhook(
            url=wh.public_url, secret_token=wh.secret_token, allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
        )
        await stop.wait()
    finally:
        await runner.cleanup()
