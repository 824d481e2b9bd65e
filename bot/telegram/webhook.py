"""Webhook mode: an aiohttp server that Telegram (or a reverse proxy) posts updates to.

Every request must carry ``X-Telegram-Bot-Api-Secret-Token`` equal to the configured secret
(compared in constant time, as bytes: any header value, ASCII or not, that differs gets 403) and
is not parsed otherwise. An update is answered *before* the 200 goes back, so Telegram
redelivers it if the process dies first; redeliveries already handled are recognised by the
state store. ``GET /healthz`` reports liveness.

With a state shared by replicas (PostgreSQL) the update is instead *recorded* in the shared inbox
before the 200 (503 when it cannot be, so Telegram retries) and handled from there by whichever
replica claims it (:mod:`bot.telegram.replicas`).

What is not an update gets 400: a body that is not a JSON object, or whose ``update_id`` is not an
integer in 0..2**63-1 (Telegram never sends one). An update with a good ``update_id`` that
python-telegram-bot cannot parse (a newer or older Bot API's shape) gets **200** and is skipped,
logged with only its update_id and top-level keys: an error status would make Telegram send it
again and again and hold that chat's queue. A client slower than ``webhook.read_timeout`` with
its headers (the server's keep-alive time-out) or its body is cut off (408).
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

from bot.storage.sqlitedb import StoreError
from bot.telegram.context import Services
from bot.telegram.delivery import ChatSerializer, describe_raw, handle_batch, is_update_id, parse_update
from bot.telegram.replicas import ReplicaWorker, replica_name, shares_inbox

log = logging.getLogger("bot.telegram.webhook")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024


def make_web_app(app: Application, services: Services, worker: ReplicaWorker | None = None) -> web.Application:
    """The aiohttp application: the update endpoint and ``/healthz``. With ``worker``, updates are
    recorded in the shared inbox (and handled by the worker) instead of handled before the 200."""
    wh = services.config.telegram.webhook
    secret = wh.secret_token.encode()
    serializer = ChatSerializer(services.config.telegram.concurrent_updates)
    path = "/" + wh.url_path.strip("/")

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, secret):
            log.warning("webhook request with a missing or wrong secret token refused (from %s)", request.remote)
            return web.Response(status=403, text="forbidden")
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.Response(status=413, text="too large")
        try:
            body = await asyncio.wait_for(request.read(), timeout=wh.read_timeout)
        except TimeoutError:
            log.warning("webhook request body not received within %.0fs; closed (from %s)", wh.read_timeout,
                        request.remote)
            return web.Response(status=408, text="request timeout", headers={"Connection": "close"})
        try:
            data = json.loads(body)
        except ValueError:  # malformed JSON (or not UTF-8): tell the sender, keep serving
            return web.Response(status=400, text="not a Telegram update")
        if not isinstance(data, dict) or not is_update_id(data.get("update_id")):
            log.warning("webhook request without a valid update_id refused: %s", describe_raw(data))
            return web.Response(status=400, text="not a Telegram update")
        update = parse_update(data, app.bot)
        if update is not None and worker is not None:
            try:
                worker.record(data, update)
            except StoreError as exc:
                log.error("update=%d not recorded (answered 503, Telegram retries): %s", update.update_id, exc)
                return web.Response(status=503, text="not recorded")
        elif update is not None:
            await handle_batch(app, services, serializer, [update])
        return web.Response(status=200, text="ok")

    async def healthz(_: web.Request) -> web.Response:
        body = {
            "status": "ok",
            "questions": len(services.answerer.matcher),
            "uptime_s": round(time.time() - services.started, 1),
            "last_reload": round(services.last_reload, 1),
        }
        if worker is not None:
            body["replica"] = worker.name
        return web.json_response(body)

    web_app = web.Application(client_max_size=MAX_BODY)
    web_app.router.add_post(path, receive)
    web_app.router.add_get("/healthz", healthz)
    return web_app


async def run_webhook(app: Application, services: Services, stop: asyncio.Event) -> None:
    """Listen where configured, register the webhook with Telegram, serve until ``stop``."""
    wh = services.config.telegram.webhook
    worker = ReplicaWorker(app, services, replica_name(wh.port)) if shares_inbox(services) else None
    runner = web.AppRunner(make_web_app(app, services, worker), access_log=None,
                           keepalive_timeout=wh.read_timeout, lingering_time=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host=wh.listen, port=wh.port)
    await site.start()
    log.info("webhook listening on %s:%d/%s%s", wh.listen, wh.port, wh.url_path.strip("/"),
             f" (replica {worker.name}, shared inbox)" if worker else "")
    claiming = asyncio.ensure_future(worker.run(stop)) if worker else None
    try:
        await app.bot.set_webhook(
            url=wh.public_url, secret_token=wh.secret_token, allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
        )
        await stop.wait()
    finally:
        await runner.cleanup()
        if claiming is not None:
            stop.set()
            await claiming
