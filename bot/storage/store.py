"""The archive's SQLite store: page upserts and question reads (the schema: :mod:`.store_schema`).

One file (WAL mode, so a running bot reads while an ingest writes). A question is the merge of
its pages: answers in page order, related titles united without repeats. Writes happen inside
:meth:`Store.transaction`, so an interrupted ingest leaves the previous archive intact.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from bot.archive.ids import PageIds, page_ids, question_id, title_key
from bot.archive.parse import Page
from bot.models import Answer, Link, Question
from bot.storage.sqlitedb import BackgroundCheckpoint, StoreError, open_db, transaction
from bot.storage.store_schema import COUNTED, MIGRATIONS

__all__ = ["Counts", "Store", "StoreError"]


@dataclass(frozen=True)
class Counts:
    """Sizes of the archive."""

    questions: int
    pages: int
    answers: int


class Store:
    """The SQLite archive. Build with :meth:`open`; close with :meth:`close`."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self._db = conn
        self.path = path
        self._changed: set[str] | None = None
        self._pending: dict[str, None] | None = None
        self._checkpoint = BackgroundCheckpoint(conn, path)

    # -- change tracking (for incremental index updates) -----------------------------------

    def track_changes(self) -> None:
        """From now on, remember the id of every question whose title set may have changed."""
        self._changed = set()

    def changed_ids(self) -> set[str] | None:
        """Ids touched since :meth:`track_changes` (None when not tracking); the live set, not a copy."""
        return self._changed

    # -- deferred re-merges (an ingest re-merges each question once per batch, not once per page) ---------

    @contextmanager
    def deferred_merges(self) -> Iterator[None]:
        """Inside, a question's row is re-merged from its pages by :meth:`flush_merges` (called by every
        read of the questions and on leaving), in batches, instead of after each write; the rows come out
        the same, as each is merged from its pages as they are at the end. Use inside a transaction."""
        self._pending = {}
        try:
            yield
            self.flush_merges()
        finally:
            self._pending = None

    def flush_merges(self) -> None:
        """Re-merge the questions whose pages changed since the last flush: one query per 500 ids."""
        if not self._pending:
            return
        wanted = list(self._pending)
        self._pending.clear()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                "SELECT question_id, origin, source, title, alt_titles, prev_title, next_title, sources FROM pages"
                f" WHERE question_id IN ({marks}) ORDER BY question_id, page_no, source",
                chunk,
            ).fetchall()
            merged = [(qid, *self._question_row([r[1:] for r in group]))
                      for qid, group in itertools.groupby(rows, key=lambda r: r[0])]
            self._db.executemany(
                "INSERT OR REPLACE INTO questions(id, title, alt_titles, prev_title, next_title, sources)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                merged,
            )
            gone = set(chunk).difference(row[0] for row in merged)
            if gone:
                marks = ",".join("?" * len(gone))
                self._db.execute(f"DELETE FROM questions WHERE id IN ({marks})", sorted(gone))

    @classmethod
    def open(cls, path: str, *, create: bool = True) -> Store:
        """Open (and migrate) the store at ``path``. Raises :class:`StoreError` naming the file."""
        return cls(open_db(path, MIGRATIONS, what="archive store", create=create), path)

    def close(self) -> None:
        self._checkpoint.wait()
        self._db.close()

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic write: everything inside commits together or not at all.

        SQLite failures (a read-only file, a full disk, a damaged file) become :class:`StoreError`
        naming the file.  A large write's checkpoint runs in a thread after the commit
        (:class:`BackgroundCheckpoint`); :meth:`close` waits for it.
        """
        try:
            with self._checkpoint.deferred(), transaction(self._db):
                yield
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot write the archive store ({exc})") from None

    def bump_version(self) -> str:
        """Mark the archive as changed (call inside the transaction that changed it)."""
        token = uuid.uuid4().hex
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('data_version', ?)", (token,))
        return token

    def fingerprint(self) -> str:
        """A token that changes whenever the archive's questions change (for index staleness)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
        return row[0] if row else "empty"

    # -- files (incremental ingest) ---------------------------------------------------------

    def file_state(self, path: str) -> tuple[int, int, str] | None:
        row = self._db.execute("SELECT size, mtime_ns, sha256 FROM files WHERE path = ?", (path,)).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def file_states(self, paths: Iterable[str]) -> dict[str, tuple[int, int, str]]:
        """:meth:`file_state` of many paths at once (one query per 500; unknown paths are left out)."""
        wanted = list(dict.fromkeys(paths))
        out: dict[str, tuple[int, int, str]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for path, size, mtime_ns, sha in self._db.execute(
                f"SELECT path, size, mtime_ns, sha256 FROM files WHERE path IN ({marks})", chunk
            ).fetchall():
                out[path] = (size, mtime_ns, sha)
        return out

    def record_file(self, path: str, size: int, mtime_ns: int, sha256: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO files(path, size, mtime_ns, sha256) VALUES (?, ?, ?, ?)",
            (path, size, mtime_ns, sha256),
        )

    def known_files(self, under: str) -> list[str]:
        """Recorded file paths below a folder (for pruning files that disappeared)."""
        prefix = under.rstrip(os.sep) + os.sep
        rows = self._db.execute(
            "SELECT path FROM files WHERE substr(path, 1, ?) = ? OR path = ?", (len(prefix), prefix, under)
        )
        return [r[0] for r in rows]

    def forget_file(self, path: str) -> list[str]:
        """Drop a file's record and the pages (or JSON Lines records) it provided; return the affected ids."""
        self._db.execute("DELETE FROM files WHERE path = ?", (path,))
        return self._drop_pages_from(path, keep=None, origins=("page", "jsonl"))

    def forget_records_from(self, path: str) -> list[str]:
        """Drop the JSON Lines records a file provided (before it is imported again); return the affected ids."""
        return self._drop_pages_from(path, keep=None, origins=("jsonl",))

    def other_sources(self, qid: str, source: str, page_no: int) -> list[str]:
        """The files other than ``source`` that provide page ``page_no`` of question ``qid`` (the other pages
        of a question saved page by page, one file each, are not duplicates)."""
        rows = self._db.execute(
            "SELECT DISTINCT source FROM pages WHERE question_id = ? AND page_no = ? AND source != ?"
            " AND source != '' ORDER BY source", (qid, page_no, source),
        )
        return [r[0] for r in rows]

    # -- writing pages and questions -------------------------------------------------------

    def put_page(self, page: Page, source: str, ids: PageIds | None = None) -> str:
        """Insert or replace one page of a question (one file's page: pages of the same title from other
        files are kept and merged) and re-merge that question; return its id.  ``ids``: the page's
        :func:`page_ids`, when the caller has them already (computed in a reading worker)."""
        ids = ids or page_ids(page.title, page.related)
        qid = ids.question
        _, kept = self._drop_pages(source, keep=(qid, page.page_no), origins=("page",))
        self._write_page(qid, page.page_no, "page", source, page.title, (), page.prev, page.next)
        # a page this file did not provide before has no answers or related rows to replace
        self._write_body(qid, page.page_no, source, page.answers, page.related, ids.related, fresh=not kept)
        self._alias(page.title, qid, ids.legacy)
        self._merge(qid)
        return qid

    def put_question(self, q: Question, source: str = "") -> None:
        """Insert or replace the record of question ``q.id`` that file ``source`` provides (JSON Lines).

        Raises ``ValueError`` when ``q.id`` belongs to another question (a different title): a record
        never silently replaces someone else's question.
        """
        self.flush_merges()
        row = self._db.execute("SELECT title FROM questions WHERE id = ?", (q.id,)).fetchone()
        if row is not None and title_key(row[0]) != title_key(q.title):
            raise ValueError(f"id {q.id!r} belongs to another question ({row[0][:60]!r}); not imported")
        for table in ("pages", "answers", "related"):
            self._db.execute(
                f"DELETE FROM {table} WHERE question_id = ? AND page_no = 1 AND source IN (?, '')", (q.id, source)
            )
        self._write_page(
            q.id, 1, "jsonl", source, q.title, q.alt_titles,
            q.prev.title if q.prev else None, q.next.title if q.next else None, sources=q.sources,
        )
        related = tuple(link.title for link in q.related)
        ids = page_ids(q.title, related)
        self._write_body(q.id, 1, source, q.answers, related, ids.related)
        if q.id == ids.question:
            self._alias(q.title, q.id, ids.legacy)
        self._merge(q.id)

    def _alias(self, title: str, qid: str, old: str) -> None:
        """Remember ``old``, the id the first id rule gave this title, if it differs (buttons already sent
        use it)."""
        if old != qid:
            self._db.execute("INSERT OR IGNORE INTO id_aliases(old_id, title) VALUES (?, ?)", (old, title))

    def resolve_alias(self, old_id: str) -> str | None:
        """The current id of the question an old id showed, if it is still in the archive."""
        self.flush_merges()
        row = self._db.execute("SELECT title FROM id_aliases WHERE old_id = ?", (old_id,)).fetchone()
        if row is None:
            return None
        qid = question_id(row[0])
        return qid if qid != old_id and self._db.execute(
            "SELECT 1 FROM questions WHERE id = ?", (qid,)).fetchone() else None

    def _drop_pages_from(self, source: str, keep: tuple[str, int] | None, origins: tuple[str, ...]) -> list[str]:
        return self._drop_pages(source, keep, origins)[0]

    def _drop_pages(
        self, source: str, keep: tuple[str, int] | None, origins: tuple[str, ...]
    ) -> tuple[list[str], bool]:
        """Drop the pages (with their answers and related titles) ``source`` provided, but ``keep``; return
        the affected ids and whether ``keep`` was among its pages."""
        marks = ",".join("?" * len(origins))
        rows = self._db.execute(
            f"SELECT question_id, page_no FROM pages WHERE source = ? AND origin IN ({marks})", (source, *origins)
        ).fetchall()
        touched = []
        kept = False
        for qid, page_no in rows:
            if keep is not None and (qid, page_no) == keep:
                kept = True
                continue
            for table in ("pages", "answers", "related"):
                self._db.execute(
                    f"DELETE FROM {table} WHERE question_id = ? AND page_no = ? AND source = ?", (qid, page_no, source)
                )
            touched.append(qid)
        for qid in dict.fromkeys(touched):
            self._merge(qid)
        return touched, kept

    def _write_page(
        self, qid: str, page_no: int, origin: str, source: str, title: str,
        alt_titles: Iterable[str], prev: str | None, nxt: str | None, sources: Iterable[str] = (),
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO pages(question_id, page_no, origin, source, title, alt_titles, prev_title,"
            " next_title, sources) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (qid, page_no, origin, source, title, json.dumps(list(alt_titles), ensure_ascii=False), prev, nxt,
             json.dumps(list(sources), ensure_ascii=False)),
        )

    def _write_body(
        self, qid: str, page_no: int, source: str, answers: Iterable[Answer], related: Sequence[str],
        related_ids: Sequence[str], *, fresh: bool = False,
    ) -> None:
        """Write a page's answers and related titles (with their ids), replacing its earlier ones
        (``fresh``: it has none)."""
        db = self._db
        key = (qid, page_no, source)
        if not fresh:
            db.execute("DELETE FROM answers WHERE question_id = ? AND page_no = ? AND source = ?", key)
            db.execute("DELETE FROM related WHERE question_id = ? AND page_no = ? AND source = ?", key)
        db.executemany(
            "INSERT INTO answers(question_id, page_no, source, position, author, text) VALUES (?, ?, ?, ?, ?, ?)",
            [(*key, i, a.author, a.text) for i, a in enumerate(answers)],
        )
        db.executemany(
            "INSERT INTO related(question_id, page_no, source, position, title, target_id) VALUES (?, ?, ?, ?, ?, ?)",
            [(*key, i, t, target) for i, (t, target) in enumerate(zip(related, related_ids, strict=True))],
        )

    def _merge(self, qid: str) -> None:
        """Recompute the question row from its pages (or delete it when none is left); deferred inside
        :meth:`deferred_merges`."""
        if self._changed is not None:
            self._changed.add(qid)
        if self._pending is not None:
            self._pending[qid] = None
            return
        pages = self._db.execute(
            "SELECT origin, source, title, alt_titles, prev_title, next_title, sources FROM pages"
            " WHERE question_id = ? ORDER BY page_no, source",
            (qid,),
        ).fetchall()
        if not pages:
            self._db.execute("DELETE FROM questions WHERE id = ?", (qid,))
            return
        self._db.execute(
            "INSERT OR REPLACE INTO questions(id, title, alt_titles, prev_title, next_title, sources)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (qid, *self._question_row(pages)),
        )

    @staticmethod
    def _question_row(pages: list[tuple]) -> tuple[str, str, str | None, str | None, str]:
        """``(title, alt_titles, prev_title, next_title, sources)`` of a question from its pages' rows
        (origin, source, title, alt_titles, prev_title, next_title, sources; in page order)."""
        title = pages[0][2]
        alts: list[str] = []
        sources: list[str] = []
        for origin, source, page_title, alt_json, _, _, record_sources in pages:
            for alt in [page_title, *json.loads(alt_json)]:
                if alt != title and alt not in alts:
                    alts.append(alt)
            for path in json.loads(record_sources) if origin == "jsonl" else [source]:
                if path not in sources:
                    sources.append(path)
        prev = next((p[4] for p in pages if p[4]), None)
        nxt = next((p[5] for p in reversed(pages) if p[5]), None)
        return title, json.dumps(alts, ensure_ascii=False), prev, nxt, json.dumps(sources, ensure_ascii=False)

    # -- reading -----------------------------------------------------------------------------

    def get(self, qid: str) -> Question | None:
        """The merged question, with related/prev/next resolved to ids where in the archive.

        An id an earlier version gave the question (see ``id_aliases``) finds it too; the question
        returned carries its current id. Answers that several files hold alike are shown once.
        """
        self.flush_merges()
        row = self._db.execute(
            "SELECT id, title, alt_titles, prev_title, next_title, sources FROM questions WHERE id = ?", (qid,)
        ).fetchone()
        if row is None:
            current = self.resolve_alias(qid)
            return self.get(current) if current is not None else None
        qid = row[0]
        answers = tuple(dict.fromkeys(
            Answer(author, text)
            for author, text in self._db.execute(
                "SELECT author, text FROM answers WHERE question_id = ? ORDER BY page_no, source, position", (qid,)
            )
        ))
        related_rows: list[tuple[str, str]] = []
        seen: set[str] = set()
        for title, target in self._db.execute(
            "SELECT title, target_id FROM related WHERE question_id = ? ORDER BY page_no, source, position", (qid,)
        ):
            if target not in seen and target != qid:
                seen.add(target)
                related_rows.append((title, target))
        prev_title, next_title = row[3], row[4]
        wanted = [t for _, t in related_rows]
        wanted += [question_id(t) for t in (prev_title, next_title) if t]
        present = self.existing_ids(wanted)

        def link(title: str | None) -> Link | None:
            if not title:
                return None
            target = question_id(title)
            return Link(title, target if target in present else None)

        return Question(
            id=row[0],
            title=row[1],
            answers=answers,
            related=tuple(Link(t, target if target in present else None) for t, target in related_rows),
            prev=link(prev_title),
            next=link(next_title),
            alt_titles=tuple(json.loads(row[2])),
            sources=tuple(json.loads(row[5])),
        )

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        """The subset of ``ids`` that are questions in the archive."""
        self.flush_merges()
        wanted = list(dict.fromkeys(ids))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self._db.execute(f"SELECT id FROM questions WHERE id IN ({marks})", chunk))
        return found

    def titles(self, ids: Iterable[str]) -> dict[str, str]:
        """Main titles of the given ids (missing ids are left out)."""
        self.flush_merges()
        wanted = list(dict.fromkeys(ids))
        out: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            out.update(self._db.execute(f"SELECT id, title FROM questions WHERE id IN ({marks})", chunk).fetchall())
        return out

    def find_by_title(self, title: str) -> str | None:
        """The id of the question with this title (after normalisation), if in the archive."""
        self.flush_merges()
        qid = question_id(title)
        return qid if self._db.execute("SELECT 1 FROM questions WHERE id = ?", (qid,)).fetchone() else None

    def iter_titles(self) -> Iterator[tuple[str, str]]:
        """Every ``(id, title)`` pair the matcher should know: main titles, then alternate titles."""
        self.flush_merges()
        for qid, title, alts in self._db.execute("SELECT id, title, alt_titles FROM questions ORDER BY id"):
            yield qid, title
            if alts != "[]":
                for alt in json.loads(alts):
                    yield qid, alt

    def iter_titles_of(self, ids: Iterable[str]) -> Iterator[tuple[str, str]]:
        """Like :meth:`iter_titles`, for the given ids only (missing ids give nothing), in id order."""
        self.flush_merges()
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT id, title, alt_titles FROM questions WHERE id IN ({marks}) ORDER BY id", chunk
            ).fetchall()
            for qid, title, alts in rows:
                yield qid, title
                if alts != "[]":
                    for alt in json.loads(alts):
                        yield qid, alt

    def iter_questions(self) -> Iterator[Question]:
        """Every question, in id order (for export)."""
        self.flush_merges()
        ids = [r[0] for r in self._db.execute("SELECT id FROM questions ORDER BY id")]
        for qid in ids:
            q = self.get(qid)
            if q is not None:
                yield q

    def random_id(self) -> str | None:
        self.flush_merges()
        row = self._db.execute(
            "SELECT id FROM questions LIMIT 1 OFFSET"
            " (SELECT abs(random()) % max(1, (SELECT count(*) FROM questions)))"
        ).fetchone()
        return row[0] if row else None

    def example(self) -> tuple[str, str] | None:
        """``(id, title)`` of a question to quote as an example of what to ask: a short answered one,
        the same for the same archive (ids are content hashes: the first in id order is arbitrary but fixed)."""
        self.flush_merges()
        row = self._db.execute(
            "SELECT id, title FROM questions q WHERE length(title) BETWEEN 6 AND 30"
            " AND EXISTS (SELECT 1 FROM answers a WHERE a.question_id = q.id) ORDER BY id LIMIT 1"
        ).fetchone() or self._db.execute("SELECT id, title FROM questions ORDER BY id LIMIT 1").fetchone()
        return (row[0], row[1]) if row else None

    def counts(self) -> Counts:
        """The archive's sizes, as triggers keep them in ``totals`` (a lookup, not a scan of each table)."""
        self.flush_merges()
        totals = dict(self._db.execute("SELECT name, n FROM totals").fetchall())
        return Counts(**{table: int(totals[table]) for table in COUNTED})
