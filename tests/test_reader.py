"""Reading archive files, here or in worker processes: the same results, in order, whatever happens to the workers."""

import os
import random
import shutil
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

import bot.archive.reader as reader_module
from bot.archive.ids import legacy_question_id, page_ids, question_id
from bot.archive.parse import parse_page
from bot.archive.reader import FileReader, ReadTask, read_file
from bot.storage.ingest import ingest
from bot.storage.store import Store
from tests.pages import churn, make_page, write

FIXTURES = Path(__file__).parent / "fixtures"


def tasks_for(folder: Path) -> list[ReadTask]:
    return [ReadTask(str(p), p.stat().st_size, p.stat().st_mtime_ns, None) for p in sorted(folder.iterdir())]


def test_a_page_is_read_with_the_ids_the_store_files_it_under(tmp_path):
    write(tmp_path, "p.txt", make_page("C++ 怎么入门?", 2, [("a", "先读书。")], ["Python 怎么入门?"]))
    task = tasks_for(tmp_path)[0]
    got = read_file(task)
    assert got.problem is None and got.page == parse_page((tmp_path / "p.txt").read_text()).page
    want = (question_id("C++ 怎么入门?"), legacy_question_id("C++ 怎么入门?"), (question_id("Python 怎么入门?"),))
    assert got.ids == page_ids(got.page.title, got.page.related) == want
    assert (got.size, got.mtime_ns) == (task.size, task.mtime_ns) and len(got.sha256) == 64
    again = read_file(ReadTask(task.path, task.size, task.mtime_ns, got.sha256))
    assert again.unchanged and again.page is None and again.sha256 == got.sha256  # same content: not parsed


def test_bad_files_are_named_with_their_problem(tmp_path):
    shutil.copytree(FIXTURES, tmp_path / "pages")
    (tmp_path / "pages" / "gone.txt").write_text("x")
    tasks = tasks_for(tmp_path / "pages")
    os.remove(tmp_path / "pages" / "gone.txt")
    problems = {Path(r.path).name: r.problem for r in map(read_file, tasks) if r.problem}
    assert set(problems) == {"binary.bin", "empty.txt", "not_a_page.txt", "gone.txt"}
    assert problems["gone.txt"].startswith("cannot read")


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_workers_give_what_this_process_gives_in_the_same_order(tmp_path, monkeypatch, method):
    monkeypatch.setattr(reader_module, "PARALLEL_MIN", 1)
    shutil.copytree(FIXTURES, tmp_path / "pages")
    for n in range(40):
        write(tmp_path / "pages", f"q{n:02d}.txt", make_page(f"工人进程读的问题{n}?", 1, [("a", f"回答{n}。")]))
    tasks = tasks_for(tmp_path / "pages")
    with FileReader(1, start_method=method) as reader:
        got = list(reader.read(tasks))
        assert reader._pool is not None  # the workers did the reading
    assert got == [read_file(t) for t in tasks]


class _BreakingPool:
    """A pool whose worker dies after giving ``n`` results (counted over every ``map``); a pool that was
    shut down takes no more work, as ``ProcessPoolExecutor``."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.given = 0
        self.down = False

    def map(self, fn, tasks, chunksize=1):
        if self.down:
            raise RuntimeError("cannot schedule new futures after shutdown")
        return self._results(fn, list(tasks))

    def _results(self, fn, tasks):
        for task in tasks:
            if self.given >= self.n:
                raise BrokenProcessPool("a worker was killed")
            self.given += 1
            yield fn(task)

    def shutdown(self, wait=True, cancel_futures=False):
        self.down = True


def test_a_broken_pool_loses_no_file_and_reads_none_twice(tmp_path, monkeypatch, caplog):
    for n in range(10):
        write(tmp_path, f"q{n}.txt", make_page(f"断掉的工人进程{n}?"))
    tasks = tasks_for(tmp_path)
    reader = FileReader(1)
    monkeypatch.setattr(reader, "_start", lambda: _BreakingPool(4))
    monkeypatch.setattr(reader_module, "PARALLEL_MIN", 1)
    got = list(reader.read(tasks))
    assert [r.path for r in got] == [t.path for t in tasks] and all(r.page for r in got)
    assert reader.jobs == 0 and "reading the rest in this process" in caplog.text


def test_batches_waiting_when_the_pool_breaks_are_read_here(tmp_path, monkeypatch):
    """Two batches handed out, each in windows of one file; the worker dies during the first: the rest of
    both is read in this process, in order, and nothing is given to the stopped pool."""
    for n in range(8):
        write(tmp_path, f"q{n}.txt", make_page(f"等着的批次{n}?"))
    tasks = tasks_for(tmp_path)
    monkeypatch.setattr(reader_module, "PARALLEL_MIN", 1)
    monkeypatch.setattr(reader_module, "WINDOW_BYTES", 1)
    pool = _BreakingPool(2)

    def start():
        reader._pool = pool
        return pool

    reader = FileReader(1)
    monkeypatch.setattr(reader, "_start", start)
    first, second = reader.read(tasks[:4]), reader.read(tasks[4:])  # both handed out before either is taken
    got = [*first, *second]
    assert got == [read_file(t) for t in tasks] and pool.down and reader.jobs == 0


@pytest.mark.parametrize(("batch", "ahead", "window"), [(3, 2, 1), (9, 1024, 2**25)])
def test_ingest_with_workers_stores_and_reports_what_ingest_without_them_does(tmp_path, monkeypatch, batch, ahead,
                                                                              window):
    """Random rounds of new, changed, retitled and deleted pages, bad files, a JSON Lines file and a file
    named twice, ingested with reading workers and without: the same tables and reports."""
    import bot.storage.ingest as ingest_module
    from tests.test_ingest import _dump

    monkeypatch.setattr(reader_module, "PARALLEL_MIN", 1)
    monkeypatch.setattr(ingest_module, "STATE_BATCH", batch)  # several batches per run, read ahead
    monkeypatch.setattr(ingest_module, "AHEAD_TASKS", ahead)
    monkeypatch.setattr(ingest_module, "AHEAD_BYTES", ahead * 300)  # ~a page of this test each
    monkeypatch.setattr(reader_module, "WINDOW_BYTES", window)  # 1: each file in a window of its own
    rng = random.Random(8)
    titles = [f"并行读取的问题{n}是什么?" for n in range(10)]
    pages = tmp_path / "pages"
    shutil.copytree(FIXTURES, pages)
    plain, parallel = Store.open(str(tmp_path / "a.db")), Store.open(str(tmp_path / "b.db"))
    try:
        for round_no in range(4):
            churn(pages, rng, titles, 20, drop=0.15, related=2)
            write(pages, "records.jsonl", "{not json" if round_no % 2 else "")
            twice = [str(pages / "05.txt")] if (pages / "05.txt").exists() else []
            reports = [ingest(store, [*twice, str(pages)], prune=round_no == 3, jobs=jobs)
                       for store, jobs in ((plain, 0), (parallel, 1))]
            assert _dump(plain) == _dump(parallel)
            a, b = (r.__dict__ for r in reports)
            assert a == b and a["pages"] > 0
    finally:
        plain.close()
        parallel.close()


def test_an_unchanged_file_read_again_keeps_its_new_mtime(tmp_path):
    write(tmp_path, "p.txt", make_page("只改了修改时间的文件?"))
    store = Store.open(str(tmp_path / "a.db"))
    try:
        ingest(store, [str(tmp_path / "p.txt")])
        os.utime(tmp_path / "p.txt", ns=(10**18, 10**18))
        report = ingest(store, [str(tmp_path / "p.txt")])
        assert report.unchanged == 1 and report.pages == 0
        assert store.file_state(str(tmp_path / "p.txt"))[1] == 10**18  # the next run skips it without reading
    finally:
        store.close()



@pytest.mark.parametrize("jobs", [0, 1])
def test_a_file_named_again_in_a_later_batch_waits_for_its_first_reading_to_be_stored(tmp_path, monkeypatch, jobs):
    import bot.storage.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "STATE_BATCH", 2)  # batches [p, a], [b, p]: both handed out before storing
    monkeypatch.setattr(reader_module, "PARALLEL_MIN", 1)
    for name in ("p", "a", "b"):
        write(tmp_path, f"{name}.txt", make_page(f"批次之间重复的文件{name}?"))
    store = Store.open(str(tmp_path / "a.db"))
    try:
        report = ingest(store, [str(tmp_path / n) for n in ("p.txt", "a.txt", "b.txt", "p.txt")], jobs=jobs)
        assert (report.files, report.pages, report.unchanged) == (4, 3, 1)
    finally:
        store.close()


def test_workers_start_only_once_a_run_has_enough_files_to_read(tmp_path):
    for n in range(70):
        write(tmp_path, f"q{n:02d}.txt", make_page(f"够多的文件才开工人进程{n}?"))
    tasks = tasks_for(tmp_path)
    assert len(tasks) > reader_module.PARALLEL_MIN > 10
    with FileReader(1) as reader:
        assert len(list(reader.read(tasks[:10]))) == 10 and reader._pool is None  # a small run: read here
        got = list(reader.read(tasks[10:]))
        assert reader._pool is not None and got == [read_file(t) for t in tasks[10:]]


def test_a_batch_of_large_files_is_handed_out_a_window_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr(reader_module, "PARALLEL_MIN", 1)
    for n in range(12):
        write(tmp_path, f"q{n:02d}.txt", make_page(f"大文件分窗口读取{n}?", 1, [("a", "长" * 3000)]))
    tasks = tasks_for(tmp_path)
    budget = 2 * max(t.size for t in tasks)
    windows = reader_module._windows(tasks, budget)
    assert [t for w in windows for t in w] == tasks and len(windows) >= 6
    assert all(sum(t.size for t in w) <= budget for w in windows)
    assert reader_module._windows(tasks, 1) == [[t] for t in tasks]  # a file larger than the budget: alone
    monkeypatch.setattr(reader_module, "WINDOW_BYTES", budget)
    handed: list[int] = []

    class CountingPool:
        def map(self, fn, window, chunksize=1):
            handed.append(len(window))
            return map(fn, window)

    reader = FileReader(1)
    reader._pool = CountingPool()  # started
    got = reader.read(tasks)
    assert handed == [len(windows[0])]  # the first window only, before anything is taken
    assert list(got) == [read_file(t) for t in tasks] and handed == [len(w) for w in windows]
