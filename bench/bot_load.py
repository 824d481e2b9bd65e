"""End-to-end load benchmark: simulated users → fake Bot API → the real bot (polling) → replies.

    python bench/bot_load.py                          # sample archive, 50 users, 2,000 questions
    python bench/bot_load.py --questions 300          # quick run
    python bench/bot_load.py --archive-size 180416    # realistic archive and queries (../shared/data)
    python bench/bot_load.py --faults 0.05            # 5% of getUpdates/sendMessage calls fail or stall
    python bench/bot_load.py --compare                # fault-free and faulty run, one table

Three processes: the bot (this process: real ``open_services``/``build_application``/``serve``
poll loop, handlers, matcher and store) pinned to one core; the fake Bot API
(``python -m tests.fakebotapi``) and the load driver (50 closed-loop users) pinned to the other.
Each user sends its next question only after the reply to the previous one arrived (think time 0);
sends of all users together are paced to at most ``--rate`` per second. Latency is push → first
reply, timed by the fake's clock for the reply (``/_fake/sent``) and the driver's clock just before
the push (the same CLOCK_MONOTONIC); the fake's own p50/p99 are printed as a cross-check.

Fault mode injects 500, 502, 429 (retry_after 1), dropped connections, delayed responses (``--fault-delay``,
below the bot's request timeout by default), hangs past the request timeout that never reach the fake
(``--hang``, default request timeout + 1 s) and ``lost`` responses (processed, then the connection dropped)
into getUpdates and sendMessage. Delivery is at least once: a send that timed out is repeated, so a lost
response may give one duplicate and no more; the run passes with 0 lost and at most one duplicate per
sendMessage whose response was lost.

The load phase (warm-up, measurement, drain) is bounded by ``--timeout``; the exit status is 1 when
a reply was lost, duplicated more than the lost responses allow, or the run did not finish.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import math
import multiprocessing
import os
import pstats
import random
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample-archive"
DATA = REPO.parent / "shared" / "data"
TOKEN = "123456:BENCH-TOKEN"
FIRST_USER = 10_001
FAULT_KINDS = ("500", "502", "429", "drop", "delay", "hang", "lost")
FAULT_METHODS = ("getUpdates", "sendMessage")
SAMPLE_QUESTIONS = (
    "ResNet 的残差连接为什么有效",
    "殘差連接為什麼有效",
    "残叉连接为什么有效",
    "Dropout 和 BatchNorm 能一起用吗",
    "Transformer 為什麼要用 LayerNorm",
    "学习率应该怎么设置",
    "學習率應該怎麼設置",
    "过拟合了怎么半",
    "注意力机制到底在做什么",
    "深度学习入门先学 PyTorch 还是 TensorFlow",
    "大语言模型的幻觉能解决吗",
    "每天喝咖啡对身体有害吗",
    "晨跑和夜跑哪个更好",
    "熬夜後怎麼補救",
    "Python 的 GIL 限制了什么",
    "git rebase 和 merge 有什么区别",
    "明天北京的天气预报怎么样",
    "红烧肉怎么做才好吃",
    "如何评价这部新电影",
)


# -- plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriveSpec:
    """What the load driver does: questions, pacing, faults, limits."""

    control_url: str
    users: int
    warmup: tuple[str, ...]
    questions: tuple[str, ...]
    rate: float
    faults: float
    fault_delay: float
    hang: float
    seed: int
    timeout: float
    reply_timeout: float
    core: int | None


@dataclass(frozen=True)
class Result:
    """One run's figures."""

    mode: str
    users: int
    questions: int
    rate: float
    pushed: int
    answered: int
    offered: float
    throughput: float
    p50: float
    p95: float
    p99: float
    lost: int
    duplicates: int
    lost_responses: int
    rejections: int
    faults: int
    fake_p50: float
    fake_p99: float
    cpu_ms: dict[str, float]
    warnings: int
    errors: int
    finished: bool

    @property
    def ok(self) -> bool:
        return self.finished and self.lost == 0 and self.duplicates <= self.lost_responses


def pin(pid: int, core: int | None) -> None:
    """Pin ``pid`` (0 = this process) to one core, where supported."""
    if core is not None:
        with contextlib.suppress(AttributeError, OSError):
            os.sched_setaffinity(pid, {core})


def cores() -> tuple[int | None, int | None]:
    """(bot core, other core) of those this process may use, or Nones on a one-core machine."""
    try:
        avail = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return None, None
    return (avail[0], avail[1]) if len(avail) >= 2 else (None, None)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (from /proc; nan where unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cycle(items: Sequence[str], n: int, seed: int) -> list[str]:
    """``n`` items: seeded shuffles of ``items`` one after another."""
    rng, out = random.Random(seed), []
    while len(out) < n:
        batch = list(items)
        rng.shuffle(batch)
        out += batch
    return out[:n]


# -- archive ----------------------------------------------------------------------------------


def read_tsv(path: Path, columns: int) -> Iterator[list[str]]:
    """Rows of ``columns`` tab-separated fields (a header or a short line is skipped)."""
    with path.open(encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == columns and parts[0] not in ("id", "query") and parts[1].strip():
                yield parts


def write_jsonl(titles: Sequence[tuple[str, str]], out: Path) -> None:
    """One question per line with two short filler answers (ingestible by ``bot.storage.ingest``)."""
    with out.open("w", encoding="utf-8") as f:
        for qid, title in titles:
            answers = [{"author": "a", "text": f"关于「{title}」，第{n}个回答：" + "这是一段填充的回答文字。" * 8}
                       for n in (1, 2)]
            f.write(json.dumps({"id": f"q{qid}", "title": title, "answers": answers}, ensure_ascii=False) + "\n")


def prepare_archive(size: int | None, work: Path) -> tuple[str, list[str], str]:
    """(archive path, question pool, description): real titles and queries, else the sample archive."""
    archive, queries = DATA / "archive_dev.tsv", DATA / "queries_dev.tsv"
    if not size or not archive.exists() or not queries.exists():
        if size:
            print(f"note: {DATA} not found; using the sample archive", file=sys.stderr)
        return str(SAMPLE), list(SAMPLE_QUESTIONS), f"sample-archive ({len(SAMPLE_QUESTIONS)} questions)"
    titles = [(row[0], row[1]) for _, row in zip(range(size), read_tsv(archive, 2), strict=False)]
    path = work / "archive.jsonl"
    write_jsonl(titles, path)
    ids = {qid for qid, _ in titles}
    pool = [q for q, target, _kind in read_tsv(queries, 3) if target in ids or target == "-1"]
    return str(path), pool, f"{len(titles):,} titles of archive_dev.tsv, {len(pool):,} queries of queries_dev.tsv"


# -- the load driver (a child process next to the fake) ---------------------------------------


class Fake:
    """The fake's ``/_fake`` control endpoints."""

    def __init__(self, http: Any, control_url: str) -> None:
        self.http = http
        self.url = control_url

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.http.post(f"{self.url}/{path}", json=body or {}) as r:
            return await r.json()

    async def get(self, path: str, **params: Any) -> Any:
        async with self.http.get(f"{self.url}/{path}", params={k: str(v) for k, v in params.items()}) as r:
            return await r.json()

    async def push(self, user: int, text: str) -> int:
        return (await self.post("push", {"chat": user, "user": user, "text": text}))["update_id"]


class Pacer:
    """At most ``rate`` sends a second over all users (0 = unpaced), without bursts after a stall."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next = time.monotonic()

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(now, self.next)
        self.next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


class Replies:
    """Learns which updates were answered: long-polls the total message count, then reads reply counts."""

    def __init__(self, fake: Fake) -> None:
        self.fake = fake
        self.answered: set[int] = set()
        self.waiting: dict[int, asyncio.Future[None]] = {}

    def expect(self, uid: int) -> asyncio.Future[None]:
        fut = asyncio.get_running_loop().create_future()
        if uid in self.answered:
            fut.set_result(None)
        else:
            self.waiting[uid] = fut
        return fut

    async def track(self) -> None:
        seen = 0
        while True:
            count = (await self.fake.get("wait_messages", n=seen + 1, timeout=0.5))["count"]
            if count <= seen:
                continue
            seen = count
            for key, n in (await self.fake.get("reply_counts")).items():
                if n > 0 and int(key) not in self.answered:
                    self.answered.add(int(key))
                    fut = self.waiting.pop(int(key), None)
                    if fut is not None and not fut.done():
                        fut.set_result(None)
            await asyncio.sleep(0.002)  # coalesce: one reply_counts read per burst of replies

    async def drain(self, uids: Sequence[int], deadline: float) -> None:
        while any(u not in self.answered for u in uids) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)


async def user_loop(fake: Fake, replies: Replies, user: int, todo: Iterator[str], pacer: Pacer,
                    pushes: dict[int, float], deadline: float, reply_timeout: float) -> None:
    """One user: ask, wait for the reply (or give up on it), ask the next question."""
    for text in todo:
        if time.monotonic() >= deadline:
            return
        await pacer.wait()
        started = time.monotonic()
        uid = await fake.push(user, text)
        pushes[uid] = started
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(replies.expect(uid), max(0.0, min(reply_timeout, deadline - time.monotonic())))


async def run_phase(fake: Fake, spec: DriveSpec, questions: Sequence[str], rate: float,
                    deadline: float) -> dict[int, float]:
    """All users through ``questions``; returns update_id → push time once all are answered (or time is up)."""
    replies, pushes, todo = Replies(fake), {}, iter(questions)
    tracker = asyncio.ensure_future(replies.track())
    try:
        pacer = Pacer(rate)
        await asyncio.gather(*(user_loop(fake, replies, FIRST_USER + i, todo, pacer, pushes, deadline,
                                         spec.reply_timeout) for i in range(spec.users)))
        await replies.drain(list(pushes), deadline)
    finally:
        tracker.cancel()
        with contextlib.suppress(BaseException):
            await tracker
    return pushes


async def drive(spec: DriveSpec) -> dict[str, Any]:
    """Warm up, reset the fake's records, inject faults, measure; return raw records."""
    import aiohttp

    deadline = time.monotonic() + spec.timeout
    conn = aiohttp.TCPConnector(limit=spec.users + 8)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=30)) as http:
        fake = Fake(http, spec.control_url)
        await run_phase(fake, spec, spec.warmup, 0.0, deadline)
        await fake.post("reset")
        if spec.faults > 0:
            await fake.post("faults", {"rate": spec.faults, "kinds": list(FAULT_KINDS), "seed": spec.seed,
                                       "methods": list(FAULT_METHODS), "retry_after": 1, "delay": spec.fault_delay,
                                       "hang": spec.hang})
        pushes = await run_phase(fake, spec, spec.questions, spec.rate, deadline)
        await fake.post("clear_faults")
        stats = await fake.get("stats")
        sent = [{"t": m["time"], "uid": m["reply_to_update"]} for m in await fake.get("sent")]
        return {"pushes": pushes, "stats": stats, "latency": await fake.get("latency"),
                "counts": {int(k): v for k, v in (await fake.get("reply_counts")).items()}, "sent": sent,
                "finished": time.monotonic() < deadline and len(pushes) == len(spec.questions),
                "driver_cpu": time.process_time()}


def driver_main(spec: DriveSpec, out: Connection) -> None:
    """Child-process entry point: run the driver and send its records (or the error) back."""
    pin(0, spec.core)
    try:
        out.send(asyncio.run(drive(spec)))
    except Exception as exc:
        out.send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        out.close()


# -- the bot (this process) --------------------------------------------------------------------


def bot_config(info: dict[str, Any], archive: str, work: Path, label: str, args: argparse.Namespace) -> Any:
    """The bot's config: the fake's URL, no client-side throttle, a store and a fresh state in ``work``."""
    from bot.config import parse_config

    per_user = math.ceil((args.questions + args.warmup) / args.users)
    data = {
        "telegram": {"token": info["token"], "base_url": info["base_url"],
                     "base_file_url": info["base_url"].replace("/bot", "/file/bot"), "poll_timeout": 1,
                     "request_timeout": args.request_timeout, "max_retries": 5, "overall_max_rate": 0,
                     "group_max_rate": 0, "concurrent_updates": args.concurrency},
        "archive": {"db": str(work / "archive.db"), "state_db": str(work / f"state-{label}.db"), "paths": [archive],
                    "ingest_on_start": True, "reload_interval": 0},
        "rate_limit": {"per_minute": max(1000, 4 * per_user)},
        "logging": {"level": "INFO"},
    }
    return parse_config(data, source="bench/bot_load.py", base=work, environ={})


async def serve_while_driving(cfg: Any, services: Any, spec: DriveSpec) -> tuple[dict[str, Any], float]:
    """Run the real ``serve()`` loop while the driver process works; (driver records, bot CPU seconds)."""
    from bot.telegram.app import build_application, serve

    app = build_application(cfg, services)
    stop = asyncio.Event()
    task = asyncio.ensure_future(serve(app, services, stop=stop, signals=False))
    ctx = multiprocessing.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=driver_main, args=(spec, send), daemon=True)
    cpu = time.process_time()
    proc.start()
    send.close()
    try:
        ready = await asyncio.to_thread(recv.poll, spec.timeout + 60)
        records = recv.recv() if ready else {"error": "the driver did not report"}
    except EOFError:
        records = {"error": f"the driver exited with {proc.exitcode}"}
    finally:
        cpu = time.process_time() - cpu
        stop.set()
        await asyncio.wait_for(task, 30)
        proc.join(5)
        if proc.is_alive():
            proc.terminate()
    return records, cpu


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted values (nan when empty)."""
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def summarize(mode: str, spec: DriveSpec, rec: dict[str, Any], log_text: str) -> Result:
    """Figures from the driver's records: latency per update, throughput, lost and duplicated replies."""
    pushes: dict[int, float] = rec["pushes"]
    first: dict[int, float] = {}
    for m in rec["sent"]:
        if m["uid"] in pushes:
            first[m["uid"]] = min(m["t"], first.get(m["uid"], math.inf))
    lat = sorted((first[u] - pushes[u]) * 1000 for u in first)
    start = min(pushes.values(), default=0.0)
    span = max(first.values(), default=start) - start
    push_span = max(pushes.values(), default=start) - start
    counts = rec["counts"]
    fake = rec["latency"]
    return Result(
        mode=mode, users=spec.users, questions=len(spec.questions), rate=spec.rate, pushed=len(pushes),
        answered=len(first), offered=(len(pushes) - 1) / push_span if push_span > 0 else math.nan,
        throughput=len(first) / span if span > 0 else math.nan,
        p50=percentile(lat, 0.50), p95=percentile(lat, 0.95), p99=percentile(lat, 0.99),
        lost=sum(1 for u in pushes if counts.get(u, 0) == 0), duplicates=sum(c - 1 for c in counts.values() if c > 1),
        lost_responses=sum(1 for method, kind in rec["stats"]["faults"] if method == "sendMessage" and kind == "lost"),
        rejections=len(rec["stats"]["rejections"]), faults=len(rec["stats"]["faults"]),
        fake_p50=fake.get("p50", math.nan) * 1000, fake_p99=fake.get("p99", math.nan) * 1000,
        cpu_ms={k: v * 1000 / max(1, len(first) + len(spec.warmup)) for k, v in rec["cpu"].items()},
        warnings=log_text.count(" WARNING "), errors=log_text.count(" ERROR "), finished=rec["finished"],
    )


def run_once(mode: str, faults: float, archive: str, pool: Sequence[str], work: Path,
             args: argparse.Namespace, other: int | None) -> Result:
    """A fresh fake and a fresh bot (same store, new state), one driver run, the figures."""
    from bot.logs import setup_logging
    from bot.runtime import open_services
    from tests.fakebotapi import fake_api_subprocess

    questions = cycle(pool, args.warmup + args.questions, args.seed)
    with fake_api_subprocess(0, TOKEN, cwd=str(REPO)) as info:
        pin(info["pid"], other)
        cfg = bot_config(info, archive, work, mode, args)
        log_path = work / f"bot-{mode}.log"
        with log_path.open("w", encoding="utf-8") as log_file:
            setup_logging(cfg, stream=log_file)
            started = time.monotonic()
            services = open_services(cfg)
            print(f"[{mode}] archive and index ready in {time.monotonic() - started:.1f}s "
                  f"({len(services.answerer.matcher):,} questions)", file=sys.stderr)
            spec = DriveSpec(info["control_url"], args.users, tuple(questions[:args.warmup]),
                             tuple(questions[args.warmup:]), args.rate, faults, args.fault_delay, args.hang, args.seed,
                             args.timeout, args.reply_timeout, other)
            try:
                records, cpu = profiled(args.profile, mode,
                                        lambda: asyncio.run(serve_while_driving(cfg, services, spec)))
            finally:
                services.close()
        fake_cpu = cpu_seconds(info["pid"])
    if "error" in records:
        raise SystemExit(f"[{mode}] load driver failed: {records['error']}")
    records["cpu"] = {"bot": cpu, "fake": fake_cpu, "driver": records.get("driver_cpu", math.nan)}
    return summarize(mode, spec, records, log_path.read_text(encoding="utf-8"))


def profiled(path: str | None, mode: str, fn: Any) -> Any:
    """Call ``fn``, under cProfile when ``path`` is given (stats saved, top entries printed)."""
    if not path:
        return fn()
    prof = cProfile.Profile()
    try:
        return prof.runcall(fn)
    finally:
        out = f"{path.removesuffix('.prof')}.{mode}.prof"
        prof.dump_stats(out)
        print(f"[{mode}] profile saved to {out}; top functions by own time:", file=sys.stderr)
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(25)


# -- report -----------------------------------------------------------------------------------


def fmt(value: float, digits: int = 1) -> str:
    return "–" if math.isnan(value) else f"{value:,.{digits}f}"


def table(results: Sequence[Result]) -> str:
    """The README table."""
    head = ("mode", "users", "questions", "offered rate (/s)", "updates/s", "p50 ms", "p95 ms", "p99 ms", "lost",
            "duplicates", "lost responses", "Bot API rejections")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in results:
        offered = f"{fmt(r.rate, 0) if r.rate > 0 else 'unpaced'} (sent {fmt(r.offered, 0)})"
        row = (r.mode, r.users, f"{r.pushed:,}", offered, fmt(r.throughput), fmt(r.p50), fmt(r.p95), fmt(r.p99),
               r.lost, r.duplicates, r.lost_responses, r.rejections)
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def details(r: Result) -> str:
    """What the table leaves out."""
    return (f"- {r.mode}: {r.answered:,}/{r.pushed:,} answered of {r.questions:,} planned"
            f"{'' if r.finished else ' (TIMED OUT)'}; faults injected {r.faults}; fake's own p50/p99 "
            f"{fmt(r.fake_p50)}/{fmt(r.fake_p99)} ms; CPU ms/update: "
            f"{', '.join(f'{k} {fmt(v, 2)}' for k, v in r.cpu_ms.items())}; "
            f"bot log {r.warnings} warnings, {r.errors} errors")


def report(results: Sequence[Result], args: argparse.Namespace, archive_note: str,
           pinned: tuple[int | None, int | None]) -> str:
    """Table, command line, details and (with --compare) the throughput ratio."""
    argv = " ".join(shlex.quote(a) for a in sys.argv[1:])
    lines = [table(results), "", f"`python bench/bot_load.py {argv}`".replace(" `", "`"), "",
             f"- archive: {archive_note}; bot and fake/driver pinned to cores {pinned}; concurrent_updates "
             f"{args.concurrency}; request_timeout {args.request_timeout}s"]
    lines += [details(r) for r in results]
    if len(results) == 2 and results[0].throughput > 0:
        ratio = results[1].throughput / results[0].throughput
        lines.append(f"- throughput with faults / without: {ratio:.2f}")
    if args.faults > 0 or args.compare:
        vs = "<" if args.fault_delay < args.request_timeout else ">="
        lines.append(f"- faults: {', '.join(FAULT_KINDS)} on {', '.join(FAULT_METHODS)}; retry_after 1 s; delay "
                     f"{args.fault_delay} s ({vs} request_timeout); hang {args.hang} s, then dropped; at most one "
                     "duplicate per sendMessage whose response was lost")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--questions", type=int, default=2000, help="measured questions, all users together")
    p.add_argument("--warmup", type=int, default=50, help="questions before measuring (not counted)")
    p.add_argument("--rate", type=float, default=200.0, help="offered sends per second, all users (0 = unpaced)")
    p.add_argument("--archive-size", type=int, default=0, help="N real titles from ../shared/data (0 = sample)")
    p.add_argument("--faults", type=float, default=0.0, help="share of getUpdates/sendMessage calls that fail")
    p.add_argument("--fault-delay", type=float, default=1.0, help="seconds a 'delay' fault stalls a call")
    p.add_argument("--hang", type=float, default=None,
                   help="seconds a 'hang' fault stalls before the connection drops (default request timeout + 1)")
    p.add_argument("--compare", action="store_true", help="fault-free run, then a --faults (default 0.05) run")
    p.add_argument("--concurrency", type=int, default=8, help="telegram.concurrent_updates")
    p.add_argument("--request-timeout", type=float, default=3.0)
    p.add_argument("--timeout", type=float, default=120.0, help="bound on each run's load phase (s)")
    p.add_argument("--reply-timeout", type=float, default=15.0, help="a user gives up waiting after this (s)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--profile", metavar="FILE.prof", help="cProfile the bot process; save stats, print hot spots")
    args = p.parse_args(argv)
    if args.compare and args.faults <= 0:
        args = argparse.Namespace(**{**vars(args), "faults": 0.05})
    if args.hang is None:
        args = argparse.Namespace(**{**vars(args), "hang": args.request_timeout + 1.0})
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO))
    pinned = cores()
    pin(0, pinned[0])
    modes = [("no faults", 0.0), (f"faults {args.faults:.0%}", args.faults)] if args.compare else [
        (f"faults {args.faults:.0%}" if args.faults > 0 else "no faults", args.faults)]
    with tempfile.TemporaryDirectory(prefix="bot-load-") as tmp:
        work = Path(tmp)
        archive, pool, note = prepare_archive(args.archive_size, work)
        results = [run_once(label.replace(" ", "-").replace("%", "pct"), faults, archive, pool, work, args, pinned[1])
                   for label, faults in modes]
    results = [replace(r, mode=label) for r, (label, _) in zip(results, modes, strict=True)]
    print(report(results, args, note, pinned))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
