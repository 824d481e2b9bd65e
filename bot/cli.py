"""``archive-bot`` command line: a thin shell over the library.

ingest | export | show | ask | run | check-config | doctor | stats | learned | backup
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import TextIO

from bot.answerer import Answerer, open_matcher
from bot.archive.jsonl import to_json
from bot.archive.reader import MAX_JOBS, default_jobs
from bot.config import Config, ConfigError, load_config, parse_config, redact_url
from bot.models import Band
from bot.search.analysis import Normalizer
from bot.search.matcher import ScoreExplanation
from bot.storage.backends import is_database_url, open_state, open_store, state_exists
from bot.storage.backup import backup_file
from bot.storage.ingest import ingest
from bot.storage.state import Rewording, StateStore
from bot.storage.store import Store, StoreError
from bot.ui.htmltext import visible_text
from bot.ui.render import Renderer
from bot.ui.reply import RenderSettings, traditional_converter

DEFAULT_CONFIG = os.path.join("config", "example.yaml")
EXIT_USAGE = 2
EXIT_FAILURE = 1


class CliError(Exception):
    """A failure to report in one clear line and a non-zero exit (never a traceback)."""


def _config_path(arg: str | None) -> str | None:
    if arg:
        return arg
    if os.environ.get("ARCHIVE_BOT_CONFIG"):
        return os.environ["ARCHIVE_BOT_CONFIG"]
    return DEFAULT_CONFIG if os.path.exists(DEFAULT_CONFIG) else None


def _jobs(text: str) -> int:
    """``--jobs``: a whole number from 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of worker processes (0 or more)")
    return value


def _load(args: argparse.Namespace, *, require_token: bool = False) -> Config:
    path = _config_path(args.config)
    if path is None:
        return parse_config({}, source="<defaults>", require_token=require_token)
    return load_config(path, require_token=require_token)


@contextlib.contextmanager
def _archive(cfg: Config, *, create: bool = False) -> Iterator[Store]:
    """The configured store, closed afterwards."""
    store = open_store(cfg.archive.db, create=create)
    try:
        yield store
    finally:
        store.close()


def _progress(stream: TextIO):
    started = time.perf_counter()

    def show(report) -> None:
        rate = report.files / max(time.perf_counter() - started, 1e-9)
        stream.write(
            f"\r{report.files} files, {report.pages} pages, {len(report.skipped)} skipped ({rate:.0f} files/s)"
        )
        stream.flush()

    return show


def cmd_ingest(args: argparse.Namespace) -> int:
    cfg = _load(args)
    paths = args.paths or list(cfg.archive.paths)
    if not paths:
        raise CliError("nothing to ingest: give PATH arguments or set archive.paths in the config")
    with _archive(cfg, create=True) as store:
        show = None if args.quiet or not sys.stderr.isatty() else _progress(sys.stderr)
        started = time.perf_counter()
        previous = store.fingerprint()
        jobs = default_jobs() if args.jobs is None else args.jobs
        report = ingest(store, paths, force=args.force, prune=args.prune, progress=show, jobs=jobs)
        elapsed = time.perf_counter() - started
        if show:
            sys.stderr.write("\n")
        print(report.summary())
        print(f"took {elapsed:.1f}s ({report.files / max(elapsed, 1e-9):.0f} files/s); "
              f"store: {redact_url(cfg.archive.db)}")
        if not args.no_index:
            started = time.perf_counter()
            matcher = open_matcher(cfg, store, changed=report.changed_ids, previous=previous)
            print(f"index: {len(matcher)} questions, ready in {time.perf_counter() - started:.1f}s "
                  f"({cfg.archive.index_path})")
    if report.missing:
        raise CliError(f"no such file or folder: {', '.join(report.missing)} (the other paths were ingested)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    cfg = _load(args)
    with _archive(cfg) as store:
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(_open_output(args.output)) if args.output else sys.stdout
            n = 0
            for q in store.iter_questions():
                out.write(to_json(q) + "\n")
                n += 1
        if args.output:
            print(f"{n} questions written to {args.output}", file=sys.stderr)
    return 0


def _open_output(path: str) -> TextIO:
    """A file to write, or a :class:`CliError` naming it and why it cannot be written."""
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None


def cmd_show(args: argparse.Namespace) -> int:
    cfg = _load(args)
    with _archive(cfg) as store:
        q = store.get(args.id) or (store.get(store.find_by_title(args.id) or "") if args.id else None)
        if q is None:
            raise CliError(f"no question with id {args.id!r} in {redact_url(cfg.archive.db)}")
        if args.json:
            print(to_json(q))
        else:
            print(_plain_question(q))
    return 0


def _plain_question(q) -> str:
    lines = [f"{q.title}   [{q.id}]", ""]
    for n, a in enumerate(q.answers, start=1):
        lines += [f"#{n} {a.author}:", a.text, ""]
    if q.related:
        lines.append("相关话题:")
        lines += [f"  - {link.title}" + (f"  [{link.id}]" if link.id else "") for link in q.related]
    for label, link in (("前一个讨论", q.prev), ("下一个讨论", q.next)):
        if link:
            lines.append(f"{label}: {link.title}" + (f"  [{link.id}]" if link.id else ""))
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    cfg = _load(args)
    with _archive(cfg) as store:  # read-only: a missing store is an error naming it, never created
        matcher = open_matcher(cfg, store)
        answerer = Answerer(store, matcher)
        started = time.perf_counter()
        outcome = answerer.ask(args.question, k=max(args.k, 1))
        elapsed_ms = (time.perf_counter() - started) * 1000
        top = outcome.candidates[0][1] if outcome.candidates else None
        explanation = matcher.explain_score(args.question, top) if args.explain and top else None
        matched = matcher.corrected(outcome.decision.query) if args.explain else None  # typos repaired
        if args.json:
            print(json.dumps({
                "band": outcome.band.value,
                "smalltalk": outcome.decision.smalltalk,
                "topic": None if outcome.topic is None else {
                    "word": outcome.topic.word, "total": outcome.topic.total,
                    "questions": [{"id": h.key, "title": t} for h, t in outcome.topic.hits],
                },
                "matches": [{"id": h.key, "title": t, "score": round(h.score, 1)} for h, t in outcome.candidates],
                "answer": None if outcome.question is None else {
                    "id": outcome.question.id, "title": outcome.question.title,
                    "answers": [{"author": a.author, "text": a.text} for a in outcome.question.answers],
                },
                "ms": round(elapsed_ms, 2),
                **({"explain": _explanation_json(explanation), "matched_as": matched} if args.explain else {}),
            }, ensure_ascii=False, indent=2))
            return 0
        print(f"band: {outcome.band.value}   ({elapsed_ms:.1f} ms)")
        for n, (hit, title) in enumerate(outcome.candidates, start=1):
            print(f"  {n}. {hit.score:5.1f}  {title}  [{hit.key}]")
        if args.explain:
            print(f"matched as: {matched}")
            print("\n".join(explanation.lines()) if explanation else "no learned confidence to explain")
        renderer = Renderer(RenderSettings.from_config(cfg), converter=traditional_converter())
        example = answerer.example() if outcome.band is Band.SMALLTALK else None
        reply = renderer.outcome(outcome, args.question, locale=args.locale or cfg.locale, example=example)
        print("\n" + "-" * 60)
        print(visible_text(reply.text))
        for row in reply.buttons:
            print("  " + " | ".join(f"[{b.text}]" for b in row))
    return 0


def _explanation_json(explanation: ScoreExplanation | None) -> dict | None:
    if explanation is None:
        return None
    return {
        "confidence": explanation.confidence,
        "base_logit": round(explanation.base, 4),
        "features": [{"feature": c.feature, "value": round(c.value, 4), "logit": round(c.logit, 4)}
                     for c in explanation.contributions],
    }


def cmd_run(args: argparse.Namespace) -> int:
    cfg = _load(args, require_token=True)
    if args.port is not None:  # one config, several replicas: each on its own port
        webhook = cfg.telegram.webhook.model_copy(update={"port": args.port})
        cfg = cfg.model_copy(update={"telegram": cfg.telegram.model_copy(update={"webhook": webhook})})
    from bot.runtime import run  # here, not at the top: the Telegram stack costs every other command ~0.25 s

    return run(cfg)


def cmd_check_config(args: argparse.Namespace) -> int:
    cfg = load_config(args.file, require_token=not args.no_token)
    print(f"{args.file}: OK (mode {cfg.telegram.mode}, store {redact_url(cfg.archive.db)}, locale {cfg.locale}, "
          f"{len(cfg.admins)} admin(s))")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    path = _config_path(args.config)
    if path is None:
        raise CliError("no config file: give --config FILE (or set ARCHIVE_BOT_CONFIG)")
    from bot.doctor import run_checks  # here, not at the top: see cmd_run

    failed = 0
    for check in run_checks(path, online=args.online):
        print(check.line(), flush=True)
        failed += not check.ok
    print(f"{failed} check(s) failed" if failed else "all checks passed")
    return EXIT_FAILURE if failed else 0


def cmd_backup(args: argparse.Namespace) -> int:
    cfg = _load(args)
    if any(is_database_url(u) for u in (cfg.archive.db, cfg.archive.state_path)):
        raise CliError("the store is in PostgreSQL: back it up with pg_dump (see the README, Several replicas)")
    os.makedirs(args.dest, exist_ok=True)
    sources = [cfg.archive.db] + ([cfg.archive.state_path] if os.path.exists(cfg.archive.state_path) else [])
    for source in sources:
        dest = os.path.join(args.dest, os.path.basename(source))
        started = time.perf_counter()
        size = backup_file(source, dest)
        print(f"{source} -> {dest} ({size / 1e6:.1f} MB, {time.perf_counter() - started:.1f}s)")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    cfg = _load(args)
    with _archive(cfg) as store:
        counts = store.counts()
    rows = []
    if state_exists(cfg.archive.state_path):  # read-only: no state file means nothing was logged yet
        state = open_state(cfg.archive.state_path, create=False)
        try:
            rows = state.misses(args.limit, since=time.time() - args.days * 86400 if args.days else 0.0)
        finally:
            state.close()
    print(f"archive: {counts.questions} questions, {counts.answers} answers, {counts.pages} pages")
    if not rows:
        print("no unanswered questions logged yet")
        return 0
    print("most asked questions without a direct answer (add these to the archive):")
    print(f"{'count':>6}  {'band':<13} {'best':>5}  query")
    for r in rows:
        print(f"{r.count:>6}  {r.band:<13} {r.best_score:>5.1f}  {r.query}")
    return 0


def cmd_learned(args: argparse.Namespace) -> int:
    cfg = _load(args)
    with _archive(cfg) as store:
        state = open_state(cfg.archive.state_path)
        try:
            if args.accept:
                _accept(state, state.rewordings(), args.accept)
            rows = state.rewordings()
        finally:
            state.close()
        titles = store.titles(r.question_id for r in rows)
    if not rows:
        print("no rewordings yet: a rewording is listed once 2 or more distinct users chose the same question "
              "for it in \"did you mean\"")
        return 0
    print("rewordings people resolved to an archived question (accept with --accept ID):")
    print(f"{'id':<8}  {'users':>5}  {'other':>5}  {'':<8}  query -> question")
    for r in rows:
        title = titles.get(r.question_id, "(no longer in the archive)")
        mark = "accepted" if r.accepted else ""
        print(f"{r.id:<8}  {r.users:>5}  {r.others:>5}  {mark:<8}  {r.query} -> {title}  [{r.question_id}]")
    return 0


def _accept(state: StateStore, rows: list[Rewording], wanted: list[str]) -> None:
    """Accept the rows named by id or by query (as typed; normalised like the bot does)."""
    normalize = Normalizer().normalize
    chosen: list[Rewording] = []
    for item in wanted:
        by_id = [r for r in rows if r.id == item.strip().lower()]
        by_query = [r for r in rows if r.query in (item, normalize(item))]
        found = by_id or by_query
        if not found:
            raise CliError(f"no rewording with id or query {item!r} (see `archive-bot learned`)")
        if len(found) > 1:
            ids = ", ".join(f"{r.id} ({r.users} users)" for r in found)
            raise CliError(f"{item!r} was resolved to several questions; accept one by id: {ids}")
        chosen += found
    for r in chosen:
        new = state.accept(r)
        print(f"{'accepted' if new else 'already accepted'}: {r.query} -> [{r.question_id}]")
    print("the running bot rebuilds its index at its next reload check (archive.reload_interval) or on /reload")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="archive-bot", description="A Telegram bot that answers questions from an archive of Q&A pages."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, helptext: str, func) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=helptext, description=helptext)
        p.set_defaults(func=func)
        if name != "check-config":
            p.add_argument("--config", metavar="FILE",
                           help=f"YAML config (default: $ARCHIVE_BOT_CONFIG, else {DEFAULT_CONFIG} if present)")
        return p

    p = add("ingest", "Ingest saved pages and .jsonl files into the store, then refresh the index.", cmd_ingest)
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: archive.paths)")
    p.add_argument("--force", action="store_true", help="re-read files even when unchanged")
    p.add_argument("--prune", action="store_true", help="remove questions whose page files were deleted")
    p.add_argument("--no-index", action="store_true", help="do not rebuild the search index now")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                   help="worker processes reading and parsing changed files while the store is written "
                        f"(default: one per spare CPU, at most {MAX_JOBS}; 0: none)")

    p = add("export", "Write the archive as JSON Lines (one question per line).", cmd_export)
    p.add_argument("--output", "-o", metavar="FILE", help="file to write (default: standard output)")

    p = add("show", "Print one question by id (or exact title).", cmd_show)
    p.add_argument("id", help="question id, as shown by ask/export")
    p.add_argument("--json", action="store_true", help="print the JSON Lines record")

    p = add("ask", "Ask a question in the terminal and see the answer as the bot would give it.", cmd_ask)
    p.add_argument("question", help="the question, as a user would type it")
    p.add_argument("--k", type=int, default=3, help="how many matches to list (default 3)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--locale", choices=("zh-Hans", "zh-Hant", "en"), help="UI language of the reply")
    p.add_argument("--explain", action="store_true",
                   help="show each learned feature's value and contribution to the top match's confidence")

    p = add("run", "Run the Telegram bot (polling or webhook, as configured).", cmd_run)
    p.add_argument("--port", type=int, choices=range(1, 65536), metavar="N",
                   help="webhook port (overrides telegram.webhook.port: one config, several replicas)")

    p = add("check-config", "Validate a config file and report every problem with its key.", cmd_check_config)
    p.add_argument("file", help="YAML config file")
    p.add_argument("--no-token", action="store_true", help="do not require a real bot token")

    p = add("doctor", "Check the config, token, store, index and state file (and, with --online, the token with "
                      "Telegram), one line per check; exit 1 if any fails.", cmd_doctor)
    p.add_argument("--online", action="store_true", help="also call getMe through telegram.base_url")

    p = add("backup", "Copy the store and the state file consistently while the bot runs.", cmd_backup)
    p.add_argument("dest", metavar="DIR", help="folder for the copies (created if missing; same file names)")

    p = add("stats", "List the most frequent questions that got no direct answer.", cmd_stats)
    p.add_argument("--limit", type=int, default=20, help="rows to show (default 20)")
    p.add_argument("--days", type=float, default=0, help="only the last N days (default: all)")

    p = add("learned", "List rewordings that 2 or more distinct users resolved to the same question in "
                       "\"did you mean\"; accept them to match them like alternate titles.", cmd_learned)
    p.add_argument("--accept", nargs="+", metavar="ID", default=[],
                   help="accept these rewordings (ids from the list, or the query text)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``archive-bot`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        return EXIT_USAGE
    except (StoreError, CliError) as exc:
        print(f"archive-bot: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a file the command had to read or write: one line, no traceback
        print(f"archive-bot: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("archive-bot: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
