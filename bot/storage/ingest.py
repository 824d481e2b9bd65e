"""Walk folders of saved pages (and JSON Lines files) into the store, in one transaction.

Unchanged files (same size, mtime and content hash) are skipped, so re-ingesting a growing
archive costs little. A file that is not a page is reported with its path and reason and the
rest is still ingested. The whole run commits at once: a run killed half-way changes nothing.
"""

from __future__ import annotations

import collections
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from bot.archive.jsonl import from_json
from bot.archive.reader import JSONL_SUFFIXES, FileRead, FileReader, ReadTask
from bot.storage.store import Store

MAX_PAGE_BYTES = 8 * 1024 * 1024
#: Files whose recorded state is read in one query.
STATE_BATCH = 500


@dataclass
class IngestReport:
    """What one ingest run did."""

    files: int = 0
    pages: int = 0
    unchanged: int = 0
    imported: int = 0
    removed_files: int = 0
    questions_removed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Paths given to ingest that do not exist (also listed in ``skipped``)."""
    merged: list[tuple[str, str]] = field(default_factory=list)
    """(file, other file): a page that another file also provides, same title and page number (answers united)."""
    total_questions: int = 0
    total_answers: int = 0
    #: ids of the questions this run added, changed or removed (for an incremental index update)
    changed_ids: set[str] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        return bool(self.pages or self.imported or self.questions_removed)

    def summary(self) -> str:
        lines = [
            f"files: {self.files} ({self.unchanged} unchanged, {len(self.skipped)} skipped)",
            f"pages ingested: {self.pages}; JSON Lines records imported: {self.imported}",
            f"files removed: {self.removed_files} (questions removed: {self.questions_removed})",
            f"archive now holds {self.total_questions} questions with {self.total_answers} answers",
        ]
        if self.merged:
            lines.append(f"merged: {len(self.merged)} page(s) another file also holds, same title and page number "
                         "(answers united, every file listed as a source):")
            lines += [f"  {path} + {other}" for path, other in self.merged[:20]]
            if len(self.merged) > 20:
                lines.append(f"  … and {len(self.merged) - 20} more")
        if self.skipped:
            lines.append("skipped files:")
            lines += [f"  {path}: {reason}" for path, reason in self.skipped]
        return "\n".join(lines)


def iter_files(paths: Iterable[str]) -> Iterator[str]:
    """Regular files under the given paths, sorted, hidden files and folders left out (absolute paths; a
    folder's files before its subfolders', links to folders not followed, as ``os.walk`` lists them)."""
    for root in paths:
        if os.path.isfile(root):
            yield os.path.abspath(root)
        elif os.path.isdir(root):
            yield from _walk(os.path.abspath(root))


def _walk(folder: str) -> Iterator[str]:
    try:
        with os.scandir(folder) as it:
            entries = [(e.name, e.is_dir(), e.is_symlink()) for e in it if not e.name.startswith(".")]
    except OSError:
        return
    entries.sort()
    base = folder if folder.endswith(os.sep) else folder + os.sep
    yield from (base + name for name, is_dir, _link in entries if not is_dir)
    for name, is_dir, link in entries:
        if is_dir and not link:
            yield from _walk(base + name)


def ingest(
    store: Store,
    paths: Iterable[str],
    *,
    force: bool = False,
    prune: bool = False,
    progress: Callable[[IngestReport], None] | None = None,
    progress_every: int = 500,
    jobs: int = 0,
) -> IngestReport:
    """Ingest every file under ``paths``; commit once at the end. Missing paths are reported.

    ``jobs``: worker processes that read and parse the changed files while this one writes the store
    (:class:`~bot.archive.reader.FileReader`; 0: all in this process).  The result is the same either way."""
    report = IngestReport()
    roots = list(paths)
    seen: set[str] = set()  # only filled for --prune, so memory stays flat on large archives
    store.track_changes()
    with FileReader(jobs) as reader, store.transaction(), store.deferred_merges():  # merges once per batch
        for root in roots:
            if not os.path.exists(root):
                report.skipped.append((root, "no such file or folder"))
                report.missing.append(root)
        chunks = _chunks(iter_files(r for r in roots if os.path.exists(r)), STATE_BATCH)
        for results in _read_ahead(store, _noted(chunks, seen if prune else None), reader, force):
            for got in results:
                report.files += 1
                _apply(store, got, report)
                if progress is not None and report.files % progress_every == 0:
                    progress(report)
            store.flush_merges()
        if prune:
            for root in roots:
                if os.path.isdir(root):
                    for path in store.known_files(os.path.abspath(root)):
                        if path not in seen:
                            report.questions_removed += len(store.forget_file(path))
                            report.removed_files += 1
        if report.changed:
            store.bump_version()
        report.changed_ids = store.changed_ids() or set()
    store.track_changes()  # the report keeps this run's set
    counts = store.counts()
    report.total_questions, report.total_answers = counts.questions, counts.answers
    if progress is not None:
        progress(report)
    return report


#: What a file of the recorded size and mtime gives (one object for all: 10^6 of them per run).
_UNCHANGED = FileRead("", unchanged=True)
#: Batches handed to the reader before the oldest is stored, at most (so the workers parse ahead while
#: this process writes, also when a batch holds only a few changed files) ...
AHEAD_BATCHES = 16
#: ... and files to read in them, at most, and their bytes (bound the parsed pages waiting in memory).
AHEAD_TASKS = 1024
AHEAD_BYTES = 64 * 2**20


def _noted(chunks: Iterable[list[str]], seen: set[str] | None) -> Iterator[list[str]]:
    """``chunks``, each path added to ``seen`` (for ``--prune``) as its chunk is taken."""
    for chunk in chunks:
        if seen is not None:
            seen.update(chunk)
        yield chunk


def _read_ahead(
    store: Store, chunks: Iterable[list[str]], reader: FileReader, force: bool
) -> Iterator[Iterator[FileRead]]:
    """What each file gave, batch by batch in file order; take each batch's results before asking for the
    next.  A batch's files are ``stat``-ed against the recorded states and its files to read handed to
    ``reader`` up to :data:`AHEAD_BATCHES` batches (:data:`AHEAD_TASKS` files to read, :data:`AHEAD_BYTES`)
    before its results are taken: the workers read while the earlier batches are stored.  A batch never
    holds a file that an earlier batch not yet stored holds (a path listed twice), so the recorded state it
    is checked against is current: such a path waits until the earlier batch is stored, as if the files
    came one by one."""
    ahead: collections.deque[tuple[set[str], int, int, Iterator[FileRead]]] = collections.deque()
    waiting: set[str] = set()
    tasks_ahead = bytes_ahead = 0
    for batch in _distinct_runs(chunks):
        names = set(batch)
        while ahead and (len(ahead) >= AHEAD_BATCHES or tasks_ahead >= AHEAD_TASKS or bytes_ahead >= AHEAD_BYTES
                         or not waiting.isdisjoint(names)):
            done, n_tasks, n_bytes, results = ahead.popleft()
            yield results
            waiting -= done
            tasks_ahead -= n_tasks
            bytes_ahead -= n_bytes
        states = store.file_states(batch)  # one query per batch, not one per file
        items = [_stat(path, states.get(path), force) for path in batch]
        tasks = [item for item in items if isinstance(item, ReadTask)]
        n_bytes = sum(task.size for task in tasks)
        ahead.append((names, len(tasks), n_bytes, _in_order(items, reader.read(tasks))))
        waiting |= names
        tasks_ahead += len(tasks)
        bytes_ahead += n_bytes
    while ahead:
        yield ahead.popleft()[3]


def _distinct_runs(chunks: Iterable[list[str]]) -> Iterator[list[str]]:
    """Each chunk, cut before a path it already holds."""
    for chunk in chunks:
        run: list[str] = []
        names: set[str] = set()
        for path in chunk:
            if path in names:
                yield run
                run, names = [], set()
            run.append(path)
            names.add(path)
        if run:
            yield run


def _in_order(items: list[FileRead | ReadTask], read: Iterator[FileRead]) -> Iterator[FileRead]:
    """``items`` with each task replaced by its result."""
    for item in items:
        yield next(read) if isinstance(item, ReadTask) else item


def _stat(path: str, known: tuple[int, int, str] | None, force: bool) -> FileRead | ReadTask:
    """The outcome from ``os.stat`` alone (unchanged, too large, unreadable), else the file to read."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return FileRead(path, problem=f"cannot read: {exc.strerror or exc}")
    if st.st_size > MAX_PAGE_BYTES and not path.endswith(JSONL_SUFFIXES):
        return FileRead(path, problem=f"too large for a page ({st.st_size} bytes)")
    if not force and known and known[0] == st.st_size and known[1] == st.st_mtime_ns:
        return _UNCHANGED
    return ReadTask(path, st.st_size, st.st_mtime_ns, None if force or not known else known[2])


def _apply(store: Store, got: FileRead, report: IngestReport) -> None:
    """Store what reading one file gave."""
    if got.problem is not None:
        report.skipped.append((got.path, got.problem))
        return
    if got.unchanged:
        report.unchanged += 1
        if got.sha256:  # read again (a new mtime), same content: the new mtime to remember
            store.record_file(got.path, got.size, got.mtime_ns, got.sha256)
        return
    if got.text is not None:
        _import_jsonl(store, got.path, got.text, report)
    elif got.page is not None:
        qid = store.put_page(got.page, got.path, got.ids)
        report.pages += 1
        others = store.other_sources(qid, got.path, got.page.page_no)
        if others:
            report.merged.append((got.path, others[0]))
    store.record_file(got.path, got.size, got.mtime_ns, got.sha256)


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _import_jsonl(store: Store, path: str, text: str, report: IngestReport) -> None:
    """Import a JSON Lines file's records; the file's earlier records go first (a deleted line is gone).

    Lines are split on "\n" only: U+2028, U+2029, U+0085 and other characters ``str.splitlines``
    breaks on may stand inside a record's text.
    """
    earlier = set(store.forget_records_from(path))
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            store.put_question(from_json(line), path)
        except ValueError as exc:
            report.skipped.append((f"{path}:{n}", str(exc)))
            continue
        report.imported += 1
    report.questions_removed += len(earlier - store.existing_ids(earlier))
