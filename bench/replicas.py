"""Several webhook replicas on one PostgreSQL, behind nginx: throughput, p95, a replica killed, a reload.

    python bench/replicas.py                      # starts a throwaway PostgreSQL (as user postgres) and nginx
    python bench/replicas.py --pg postgresql://postgres@127.0.0.1:5432/postgres   # use a running server
    python bench/replicas.py --users 20 --questions 5                           # quick run

What runs: a fake Bot API (tests/fakebotapi.py, in this process) stands in for Telegram's replies;
``archive-bot run --port N`` replicas (subprocesses, one shared config: archive and state in
PostgreSQL, webhook mode); nginx on 127.0.0.1 in front of them with the proxy directives of
``config/nginx-replicas.conf`` (without nginx the client round-robins over the replicas itself and
the report says so). Updates are delivered as Telegram delivers webhooks: each chat's updates one at
a time, the next only after a 2xx, chats in parallel (``max_connections`` 40), a failed POST
retried. All of a user's questions are queued at once (open loop per chat), so the replicas see
several updates of one chat waiting and must keep them in order.

Phases (each with its own users; the archive is shared and ingested once):
1. one replica;  2. three replicas;  3. three replicas, one SIGKILLed when 40 % of the replies are in
and restarted 1 s later, and a re-ingest (one new question) committed at 60 %: every replica must
reload it in the background while serving, and the new question is then asked and answered.

Checks (exit status 1 if one fails): every question answered; per chat the replies come in the order
asked; duplicates only of updates in flight at the kill (claimed by the killed replica), at most one
each. Latency: first delivery attempt → the reply reaching the fake Bot API (same clock).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import psycopg  # noqa: E402

from bot.archive.ids import question_id  # noqa: E402
from bot.archive.jsonl import to_json  # noqa: E402
from bot.models import Answer, Question  # noqa: E402
from bot.storage.backends import open_store  # noqa: E402
from bot.storage.ingest import ingest  # noqa: E402
from tests.fakebotapi import FakeBotAPI  # noqa: E402
from tests.webhooks import DeliveryLog, deliver, message_update  # noqa: E402

TOKEN = "123456:BENCH-REPLICAS"
SECRET = "bench_replicas_secret"
SAMPLE = REPO / "sample-archive"
NEW_TITLE = "副本重新加载后能回答这个新问题吗?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- PostgreSQL and nginx ------------------------------------------------------------------------------


def pg_bin() -> Path | None:
    found = shutil.which("initdb")
    for folder in [Path(found).parent] if found else []:
        if (folder / "pg_ctl").exists():
            return folder
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin")):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


@contextlib.contextmanager
def throwaway_postgres(work: Path) -> Iterator[str]:
    """A PostgreSQL cluster in ``work`` on 127.0.0.1 (run as user postgres when we are root)."""
    binaries = pg_bin()
    if binaries is None:
        raise SystemExit("no initdb/pg_ctl: apt-get install postgresql, or pass --pg URL")
    data, port = work / "pgdata", free_port()
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    work.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(work, "postgres")
    subprocess.run([*as_pg, str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*as_pg, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(work / "pg.log"), "-w", "-o",
                    f"-p {port} -k {work} -c listen_addresses=127.0.0.1 -c max_connections=200", "start"],
                   check=True, stdout=subprocess.DEVNULL)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_pg, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextlib.contextmanager
def fresh_database(url: str) -> Iterator[str]:
    name = "bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield urlunsplit(urlsplit(url)._replace(path="/" + name))
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


NGINX_CONF = """
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    upstream archive_bot {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location = /telegram {{
            proxy_pass http://archive_bot;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
            client_max_body_size 1m;
        }}
    }}
}}
"""


@contextlib.contextmanager
def nginx(work: Path, ports: list[int]) -> Iterator[str | None]:
    """nginx on 127.0.0.1 proxying to ``ports`` (the directives of config/nginx-replicas.conf); None without it."""
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if binary is None:
        yield None
        return
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in ports)
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(work=work, servers=servers, port=port), encoding="utf-8")
    proc = subprocess.Popen([binary, "-p", str(work), "-c", str(conf), "-g", "daemon off;"])
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/telegram" if proc.poll() is None else None
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- replicas ----------------------------------------------------------------------------------------------


def write_config(work: Path, api: FakeBotAPI, db: str, public_url: str) -> Path:
    path = work / "replica.yaml"
    path.write_text(
        "telegram:\n"
        f"  token: {TOKEN}\n  base_url: {api.base_url}\n  mode: webhook\n"
        "  request_timeout: 5\n  max_retries: 3\n  concurrent_updates: 8\n  overall_max_rate: 0\n  group_max_rate: 0\n"
        f"  webhook:\n    listen: 127.0.0.1\n    port: 8443\n    url_path: telegram\n    public_url: {public_url}\n"
        f"    secret_token: {SECRET}\n    claim_lease: 3\n"
        f"archive:\n  db: {db}\n  index: {work / 'archive.index'}\n  reload_interval: 1\n"
        "rate_limit:\n  per_minute: 100000\nlogging:\n  level: WARNING\n",
        encoding="utf-8",
    )
    return path


@dataclass
class Replica:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def name_suffix(self) -> str:
        return f":{self.port}:{self.proc.pid}"


def start_replica(config: Path, port: int, log: Path) -> Replica:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--config", str(config), "--port", str(port)],
                                cwd=str(REPO), env=env, stdout=out, stderr=subprocess.STDOUT)
    return Replica(port, proc)


async def healthz(http: aiohttp.ClientSession, port: int) -> dict | None:
    try:
        async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
            return json.loads(await resp.text()) if resp.status == 200 else None
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None


async def wait_healthy(http: aiohttp.ClientSession, replicas: list[Replica], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    for r in replicas:
        while await healthz(http, r.port) is None:
            if r.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"replica on port {r.port} did not start (exit {r.proc.poll()})")
            await asyncio.sleep(0.2)


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux), MB."""
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def stop_replicas(replicas: list[Replica]) -> None:
    for r in replicas:
        if r.proc.poll() is None:
            r.proc.send_signal(signal.SIGTERM)
    for r in replicas:
        try:
            r.proc.wait(20)
        except subprocess.TimeoutExpired:
            r.proc.kill()
            r.proc.wait()


# -- one phase ------------------------------------------------------------------------------------------------


@dataclass
class PhaseResult:
    label: str
    updates: int
    answered: int
    out_of_order: int
    duplicates: int
    worst_duplicates: int
    in_flight_at_kill: int
    seconds: float
    p50_ms: float
    p95_ms: float
    failed_posts: int
    reload_s: float | None = None
    new_question_answered: bool | None = None
    rss_mb: float = float("nan")

    @property
    def ok(self) -> bool:
        return (self.answered == self.updates and self.out_of_order == 0 and self.worst_duplicates <= 1
                and self.duplicates <= self.in_flight_at_kill
                and self.new_question_answered is not False)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def collapse(titles: list[str]) -> tuple[list[str], int, int]:
    """Consecutive repeats folded (a duplicate reply); returns (sequence, duplicates, worst run - 1)."""
    out: list[str] = []
    dups = worst = run = 0
    for t in titles:
        if out and out[-1] == t:
            dups += 1
            run += 1
            worst = max(worst, run)
        else:
            out.append(t)
            run = 0
    return out, dups, worst


async def run_phase(label: str, api: FakeBotAPI, args: argparse.Namespace, config: Path, work: Path,
                    db: str, n_replicas: int, first_user: int, titles: list[str], *, kill: bool) -> PhaseResult:
    ports = [free_port() for _ in range(n_replicas)]
    slug = "".join(c if c.isalnum() else "-" for c in label)
    replicas = [start_replica(config, p, work / f"replica-{slug}-{p}.log") for p in ports]
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        try:
            await wait_healthy(http, replicas)
            with nginx(work / f"nginx-{slug}", ports) as proxy:
                print(f"  front: {'nginx ' + proxy if proxy else 'client round-robin (no nginx)'}", flush=True)
                urls = [proxy] if proxy else [f"http://127.0.0.1:{p}/telegram" for p in ports]
                result = await drive(label, api, args, config, work, db, http, replicas, urls, first_user, titles,
                                     kill=kill)
                result.rss_mb = max(rss_mb(r.proc.pid) for r in replicas)
                return result
        finally:
            stop_replicas(replicas)


async def drive(label: str, api: FakeBotAPI, args: argparse.Namespace, config: Path, work: Path, db: str,
                http: aiohttp.ClientSession, replicas: list[Replica], urls: list[str], first_user: int,
                titles: list[str], *, kill: bool) -> PhaseResult:
    users = list(range(first_user, first_user + args.users))
    asked: dict[int, list[str]] = {}
    chats: dict[int, list[dict]] = {}
    update_of: dict[int, list[int]] = {}
    for n, user in enumerate(users):
        mine = [titles[(n + i) % len(titles)] for i in range(args.questions)]
        asked[user] = mine
        chats[user] = [message_update(api, user * 100 + i, user, t) for i, t in enumerate(mine)]
        update_of[user] = [u["update_id"] for u in chats[user]]
    total = args.users * args.questions
    log = DeliveryLog()
    first_at = log.first_at
    started = time.monotonic()
    sending = asyncio.ensure_future(deliver(urls, SECRET, chats, retry_delay=0.2, log=log))
    in_flight = 0
    reload_s: float | None = None
    killed = reingested = False
    deadline = started + args.timeout
    while time.monotonic() < deadline:
        replies = sum(len(api.sent_messages(u)) for u in users)
        if kill and not killed and replies >= 0.4 * total:
            victim = replicas[1]
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait()
            killed = True
            with psycopg.connect(db) as conn:
                row = conn.execute("SELECT count(*) FROM bot_state.inbox WHERE claimed_by LIKE %s",
                                   (f"%{victim.name_suffix}",)).fetchone()
                in_flight = int(row[0]) if row else 0
            print(f"  [{label}] SIGKILL replica :{victim.port} at {replies}/{total} replies; "
                  f"{in_flight} update(s) it had claimed", flush=True)
            await asyncio.sleep(1.0)
            replicas[1] = start_replica(config, victim.port, work / f"replica-{victim.port}-again.log")
        if kill and not reingested and replies >= 0.6 * total:
            reingested = True
            reload_s = await reingest_and_wait(http, db, work, replicas)
        if replies >= total and not sending.done():
            await asyncio.sleep(0.05)
        if replies >= total and sending.done():
            break
        await asyncio.sleep(0.05)
    await asyncio.wait_for(sending, timeout=30)
    await asyncio.sleep(1.0)  # late duplicates would land now
    answered = out_of_order = dups = worst = 0
    latencies: list[float] = []
    last_reply = started
    for user in users:
        msgs = api.sent_messages(user)
        got, d, w = collapse([(m.text or "").split("\n")[0] for m in msgs])
        dups, worst = dups + d, max(worst, w)
        answered += sum(1 for a, g in zip(asked[user], got, strict=False) if a == g)
        out_of_order += 0 if got == asked[user] else 1
        firsts = []
        for m in msgs:
            title = (m.text or "").split("\n")[0]
            if not firsts or firsts[-1][0] != title:
                firsts.append((title, m.time))
        for uid, (_, t) in zip(update_of[user], firsts, strict=False):
            latencies.append(t - first_at.get(uid, started))
            last_reply = max(last_reply, t)
    new_ok: bool | None = None
    if kill:
        new_ok = await ask_new_question(api, urls, first_user + args.users + 1)
    return PhaseResult(
        label=label, updates=total, answered=answered, out_of_order=out_of_order, duplicates=dups,
        worst_duplicates=worst, in_flight_at_kill=in_flight, seconds=last_reply - started,
        p50_ms=1000 * percentile(latencies, 0.5), p95_ms=1000 * percentile(latencies, 0.95),
        failed_posts=log.failures, reload_s=reload_s, new_question_answered=new_ok,
    )


async def reingest_and_wait(http: aiohttp.ClientSession, db: str, work: Path, replicas: list[Replica]) -> float:
    """Ingest one new question from 'another machine'; seconds until every replica serves it."""
    before = {r.port: (await healthz(http, r.port) or {}).get("questions", -1) for r in replicas}
    new = Question(id=question_id(NEW_TITLE), title=NEW_TITLE, answers=(Answer("bench", "能,后台重新加载。"),))
    path = work / "new.jsonl"
    path.write_text(to_json(new) + "\n", encoding="utf-8")
    store = open_store(db)
    await asyncio.to_thread(ingest, store, [str(path)])
    store.close()
    committed = time.monotonic()
    print(f"  re-ingest committed (replicas had {sorted(before.values())} questions)", flush=True)
    while time.monotonic() - committed < 30:
        counts = [(await healthz(http, r.port) or {}).get("questions", -1) for r in replicas]
        if all(c == max(before.values()) + 1 for c in counts):
            return time.monotonic() - committed
        await asyncio.sleep(0.1)
    return float("inf")


async def ask_new_question(api: FakeBotAPI, urls: list[str], user: int) -> bool:
    update = message_update(api, user * 100, user, NEW_TITLE)
    await deliver(urls, SECRET, {user: [update]})
    try:
        [reply] = await api.wait_for_messages(1, user, timeout=15)
    except Exception:
        return False
    return (reply.text or "").startswith(NEW_TITLE)


# -- main -----------------------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, server: str, work: Path) -> list[PhaseResult]:
    api = FakeBotAPI(token=TOKEN)
    await api.start()
    try:
        with fresh_database(server) as db:
            store = open_store(db)
            report = await asyncio.to_thread(ingest, store, [str(SAMPLE)])
            titles = [q.title for q in store.iter_questions() if q.answers]
            store.close()
            has_nginx = shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")
            ports_note = "nginx" if has_nginx else "client round-robin"
            print(f"archive: {report.total_questions} questions in {urlsplit(db).path[1:]}; front: {ports_note}")
            config = write_config(work, api, db, "http://127.0.0.1:9/telegram")
            results = []
            for n, (label, replicas, kill) in enumerate(
                [("1 replica", 1, False), ("3 replicas", 3, False), ("3 replicas, kill + reload", 3, True)]
            ):
                print(f"phase: {label}", flush=True)
                results.append(await run_phase(label, api, args, config, work, db, replicas,
                                               10_000 * (n + 1), titles, kill=kill))
            return results
    finally:
        await api.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="PostgreSQL URL of a database whose user may create databases "
                                     "(default: a throwaway cluster)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        with contextlib.ExitStack() as stack:
            server = args.pg or stack.enter_context(throwaway_postgres(work / "pg"))
            results = asyncio.run(bench(args, server, work))
    print()
    print("| phase | answered | out of order | duplicates (in flight at kill) | failed POSTs | time s | "
          "updates/s | p50 ms | p95 ms | reload s | replica RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        reload = "" if r.reload_s is None else f"{r.reload_s:.1f}"
        print(f"| {r.label} | {r.answered}/{r.updates} | {r.out_of_order} | {r.duplicates} ({r.in_flight_at_kill}) | "
              f"{r.failed_posts} | {r.seconds:.1f} | {r.updates / max(r.seconds, 1e-9):.0f} | {r.p50_ms:.0f} | "
              f"{r.p95_ms:.0f} | {reload} | {r.rss_mb:.0f} |")
    for r in results:
        if r.new_question_answered is not None:
            print(f"new question after the reload answered: {r.new_question_answered}")
    ok = all(r.ok for r in results)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
