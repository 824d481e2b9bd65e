"""Reading archive files: bytes → text → a parsed page with the ids the store files it under.

:func:`read_file` is the pure, CPU-bound part of ingesting a changed file (hashing, decoding, parsing,
the title → id folding of the page and of each related title: some 200 µs a page).  :class:`FileReader`
runs it in worker processes when a run has many files, so it overlaps the store's writes in the main
process (which stay one transaction); results come back in the order of the tasks, so an ingest gives
the same store and report with or without workers.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import TracebackType

from bot.archive.ids import PageIds, page_ids
from bot.archive.parse import Page, parse_page

log = logging.getLogger("bot.archive")

JSONL_SUFFIXES = (".jsonl", ".ndjson")
#: Worker processes are started once a run has given this many files to read (fewer: all read here).
PARALLEL_MIN = 64
#: At most this many workers: one process writes the store, and reading is about a third of its work.
MAX_JOBS = 2
#: Tasks sent to a worker at a time.
TASKS_PER_MESSAGE = 16
#: A batch's tasks are handed out in windows of files totalling at most this many bytes (one file at
#: least), the next window when the caller starts on this one: a batch of large pages is not all
#: parsed and waiting in memory at once.
WINDOW_BYTES = 32 * 2**20


@dataclass(frozen=True)
class ReadTask:
    """A file to read: its ``os.stat`` size and mtime, and the content hash the store has for it
    (None: not recorded, or ``force``: read it as new whatever the hash)."""

    path: str
    size: int
    mtime_ns: int
    known_sha: str | None


@dataclass(frozen=True)
class FileRead:
    """What reading one file gave.  ``problem``: why it is skipped; else ``unchanged`` (same content as
    recorded), or ``page`` with its ``ids``, or ``text`` (a JSON Lines file, imported by the store)."""

    path: str
    size: int = 0
    mtime_ns: int = 0
    sha256: str = ""
    problem: str | None = None
    unchanged: bool = False
    page: Page | None = None
    ids: PageIds | None = None
    text: str | None = None


def decode_bytes(data: bytes) -> str | None:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030; None when it is neither."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        return None


def read_file(task: ReadTask) -> FileRead:
    """Read, hash, decode and parse one file.  Never raises for a bad file: the problem is named."""
    path = task.path
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        return FileRead(path, problem=f"cannot read: {exc.strerror or exc}")
    sha = hashlib.sha256(data).hexdigest()
    if task.known_sha == sha:
        return FileRead(path, task.size, task.mtime_ns, sha, unchanged=True)
    text = decode_bytes(data)
    if text is None:
        return FileRead(path, problem="not text in UTF-8, UTF-16 or GB18030")
    if path.endswith(JSONL_SUFFIXES):
        return FileRead(path, task.size, task.mtime_ns, sha, text=text)
    result = parse_page(text)
    if result.page is None:
        return FileRead(path, problem=result.problem or "not a page")
    page = result.page
    return FileRead(path, task.size, task.mtime_ns, sha, page=page, ids=page_ids(page.title, page.related))


def _windows(tasks: Sequence[ReadTask], budget: int) -> list[Sequence[ReadTask]]:
    """``tasks`` cut into runs of at most ``budget`` bytes of files (a larger file alone)."""
    out: list[Sequence[ReadTask]] = []
    start = size = 0
    for i, task in enumerate(tasks):
        if i > start and size + task.size > budget:
            out.append(tasks[start:i])
            start, size = i, 0
        size += task.size
    out.append(tasks[start:])
    return out


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. under ``taskset``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_jobs() -> int:
    """Reading workers for this machine: one per spare CPU, at most :data:`MAX_JOBS` (0 on one CPU)."""
    return max(0, min(MAX_JOBS, usable_cpus() - 1))


class FileReader:
    """Runs :func:`read_file` over batches of tasks, in ``jobs`` worker processes (0: in this one).

    The pool starts once :data:`PARALLEL_MIN` tasks have been given, so small runs never start it.
    Workers are forked when this process has no other thread (instant; nothing is shared after the fork
    but the code), else spawned.  A pool that cannot start, or that breaks (a worker killed), is
    logged and the rest is read here: no file is lost or read twice into the store.
    """

    def __init__(self, jobs: int = 0, *, start_method: str | None = None) -> None:
        self.jobs = max(0, jobs)
        self._start_method = start_method  # None: as above
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._tasks = 0  # tasks given so far

    def __enter__(self) -> FileReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def read(self, tasks: Sequence[ReadTask]) -> Iterator[FileRead]:
        """The result of each task, in order.  With workers the tasks are handed out now, so the caller can
        give the next batch before it takes this one's results (without, each is read as it is taken)."""
        self._tasks += len(tasks)
        pool = self._pool if self._pool is not None or self._tasks < PARALLEL_MIN else self._start()
        if pool is None or not tasks:
            return map(read_file, tasks)
        windows = _windows(tasks, WINDOW_BYTES)
        try:
            first = pool.map(read_file, windows[0], chunksize=TASKS_PER_MESSAGE)
        except (BrokenProcessPool, OSError) as exc:  # a broken pool, or no worker could start (a process limit)
            self._stopped(exc)
            return map(read_file, tasks)
        return self._collect(pool, first, windows, tasks)

    def _collect(
        self, pool: concurrent.futures.ProcessPoolExecutor, first: Iterator[FileRead],
        windows: list[Sequence[ReadTask]], tasks: Sequence[ReadTask],
    ) -> Iterator[FileRead]:
        done = 0
        try:
            current = first
            for k in range(len(windows)):
                if k + 1 == len(windows):
                    following: Iterator[FileRead] = iter(())
                elif self._pool is pool:  # handed out as this window is taken
                    following = pool.map(read_file, windows[k + 1], chunksize=TASKS_PER_MESSAGE)
                else:  # the pool stopped while this batch waited (another batch saw it break): read here
                    following = map(read_file, windows[k + 1])
                for got in current:
                    yield got
                    done += 1
                current = following
        except (BrokenProcessPool, OSError) as exc:  # a worker killed
            self._stopped(exc)
            yield from map(read_file, tasks[done:])

    def _stopped(self, exc: BaseException) -> None:
        log.warning("file reading workers stopped (%s); reading the rest in this process", exc)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool, self.jobs = None, 0

    def _start(self) -> concurrent.futures.ProcessPoolExecutor | None:
        if self.jobs == 0:
            return None
        method = self._start_method or (
            "fork" if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods() else "spawn"
        )
        try:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self.jobs, mp_context=multiprocessing.get_context(method)
            )
        except OSError as exc:  # no semaphores (no /dev/shm)
            log.warning("cannot start file reading workers (%s); reading in this process", exc)
            self.jobs = 0
        return self._pool
