"""Ingesting folders: merging, idempotence, bad files, encodings, JSON Lines, interruption."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.archive.ids import question_id
from bot.archive.jsonl import from_json, to_json
from bot.archive.reader import decode_bytes
from bot.storage.backends import open_store
from bot.storage.ingest import ingest
from tests.pages import churn, make_page, write

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def store(backend):
    """The archive store on each backend (SQLite, PostgreSQL); ``location`` is its path or URL."""
    s = open_store(backend.location("archive.db"))
    s.location = backend.location("archive.db")
    yield s
    s.close()


@pytest.fixture
def archive(tmp_path):
    folder = tmp_path / "pages"
    shutil.copytree(FIXTURES, folder)
    return folder


def test_folder_with_good_and_bad_files_ingests_the_good_and_reports_the_bad(store, archive):
    report = ingest(store, [str(archive)])
    skipped = {Path(p).name: reason for p, reason in report.skipped}
    assert set(skipped) == {"binary.bin", "empty.txt", "not_a_page.txt"}
    assert "not an archive page" in skipped["not_a_page.txt"]
    assert report.pages == 5
    assert store.counts().questions == 4  # resnet's two pages merge into one question
    resnet = store.get(question_id("ResNet 的残差连接为什么有效?"))
    assert len(resnet.answers) == 5
    assert len({r.title for r in resnet.related}) == len(resnet.related)


def test_gb18030_and_bom_crlf_files_are_read(store, archive):
    ingest(store, [str(archive)])
    trad = store.get(question_id("熬夜後怎麼補救?"))
    assert trad.answers[0].author == "繁體作者"
    coffee = store.get(question_id("每天喝咖啡对身体有害吗?"))
    assert coffee.answers[0].text == "每天三四杯没问题。\n\n注意糖。"


def test_decode_prefers_utf8_then_gb18030():
    assert decode_bytes("中文".encode()) == "中文"
    assert decode_bytes("中文".encode("gb18030")) == "中文"
    assert decode_bytes(b"\xef\xbb\xbf\xe4\xb8\xad") == "中"


def test_reingesting_the_same_folder_changes_nothing(store, archive):
    ingest(store, [str(archive)])
    version = store.fingerprint()
    exported = [to_json(q) for q in store.iter_questions()]
    again = ingest(store, [str(archive)])
    assert again.pages == 0 and again.unchanged == 5 and not again.changed
    assert store.fingerprint() == version
    assert [to_json(q) for q in store.iter_questions()] == exported


def test_forced_reingest_is_idempotent_too(store, archive):
    ingest(store, [str(archive)])
    exported = [to_json(q) for q in store.iter_questions()]
    ingest(store, [str(archive)], force=True)
    assert [to_json(q) for q in store.iter_questions()] == exported


def test_changed_and_new_files_update_the_archive(store, archive):
    ingest(store, [str(archive)])
    write(archive, "dropout_p1.txt", make_page("Dropout 和 Batch Norm 能一起用吗?", 1, [("new", "改过的回答。")]))
    write(archive, "sub/new.txt", make_page("新加的问题?", 1))
    report = ingest(store, [str(archive)])
    assert report.pages == 2
    assert store.get(question_id("Dropout 和 Batch Norm 能一起用吗?")).answers[0].text == "改过的回答。"
    assert store.get(question_id("新加的问题?")) is not None


def test_prune_removes_questions_whose_files_are_gone(store, archive):
    ingest(store, [str(archive)])
    os.remove(archive / "dropout_p1.txt")
    ingest(store, [str(archive)])
    assert store.get(question_id("Dropout 和 Batch Norm 能一起用吗?")) is not None  # no --prune: kept
    report = ingest(store, [str(archive)], prune=True)
    assert report.removed_files == 1
    assert store.get(question_id("Dropout 和 Batch Norm 能一起用吗?")) is None


def test_missing_path_is_reported(store, tmp_path):
    report = ingest(store, [str(tmp_path / "nope")])
    assert report.skipped == [(str(tmp_path / "nope"), "no such file or folder")]


def test_jsonl_export_import_round_trip_is_exact(store, archive, tmp_path, backend):
    ingest(store, [str(archive)])
    exported = "".join(to_json(q) + "\n" for q in store.iter_questions())
    dump = write(tmp_path, "dump.jsonl", exported)
    fresh = open_store(backend.location("fresh.db"))
    report = ingest(fresh, [str(dump)])
    assert report.imported == 4 and not report.skipped
    assert "".join(to_json(q) + "\n" for q in fresh.iter_questions()) == exported
    fresh.close()


def test_bad_jsonl_lines_are_reported_with_line_numbers(store, tmp_path):
    good = to_json(from_json('{"title": "好的问题?", "answers": [{"author": "a", "text": "b"}]}'))
    dump = write(tmp_path, "d.jsonl", f"{good}\n{{broken\n[1,2]\n{{\"title\": \"\"}}\n")
    report = ingest(store, [str(dump)])
    assert report.imported == 1
    assert [p.rsplit(":", 1)[1] for p, _ in report.skipped] == ["2", "3", "4"]


def test_ingest_killed_half_way_leaves_previous_archive_intact(store, archive, tmp_path):
    ingest(store, [str(archive)])
    before = [to_json(q) for q in store.iter_questions()]
    big = tmp_path / "big"
    for i in range(400):
        write(big, f"{i:04d}.txt", make_page(f"批量问题{i}号?", 1, [("a", "回答" * 50)]))
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from bot.storage.ingest import ingest
        from bot.storage.backends import open_store
        s = open_store({store.location!r})
        def progress(report):
            if report.files >= 200:
                os.kill(os.getpid(), signal.SIGKILL)
        ingest(s, [{str(big)!r}], progress=progress, progress_every=50)
    """)
    proc = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert proc.returncode == -9
    reopened = open_store(store.location)
    assert [to_json(q) for q in reopened.iter_questions()] == before
    reopened.close()


def _os_walk_files(root: str) -> list[str]:
    """The listing ingest used to make with os.walk (the reference for iter_files)."""
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [os.path.abspath(os.path.join(folder, f)) for f in sorted(files) if not f.startswith(".")]
    return out


def test_file_listing_is_os_walks_sorted_listing(tmp_path):
    from bot.storage.ingest import iter_files

    root = tmp_path / "pages"
    for rel in ["b.txt", "a.txt", "10/x.txt", "2/y.txt", "2/deeper/z.txt", ".hidden.txt", ".git/c.txt",
                "a b/ü.txt", "2/.dot/n.txt"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x", encoding="utf-8")
    (root / "link-to-2").symlink_to(root / "2", target_is_directory=True)  # listed as a folder, not followed
    (root / "link.txt").symlink_to(root / "a.txt")
    (root / "broken.txt").symlink_to(root / "nothing")
    expected = _os_walk_files(str(root))
    assert list(iter_files([str(root)])) == expected
    assert list(iter_files([str(root / "a.txt"), str(tmp_path / "pages" / ".." / "pages" / "2")])) == [
        str(root / "a.txt"), *_os_walk_files(str(root / "2"))]


def test_file_states_in_batches_equal_one_query_per_file(tmp_path):
    from bot.storage.store import Store

    store = Store.open(str(tmp_path / "a.db"))
    try:
        with store.transaction():
            for i in range(1203):
                store.record_file(f"/p/{i}.txt", i, 10 * i, f"sha{i}")
        paths = [f"/p/{i}.txt" for i in range(0, 1300, 3)] + ["/p/7.txt", "/nowhere.txt"]
        states = store.file_states(paths)
        assert states == {p: store.file_state(p) for p in paths if store.file_state(p) is not None}
        assert len(states) == len(range(0, 1203, 3)) + 1 and "/nowhere.txt" not in states  # + /p/7.txt
    finally:
        store.close()


def test_a_file_named_twice_in_one_ingest_is_read_once(tmp_path):
    pages = tmp_path / "pages"
    write(pages, "p.txt", make_page("同一个文件被列了两次会怎样"))
    store = open_store(str(tmp_path / "a.db"))
    try:
        report = ingest(store, [str(pages / "p.txt"), str(pages)])
        assert report.files == 2 and report.pages == 1 and report.unchanged == 1
    finally:
        store.close()


def _dump(store) -> dict[str, list[tuple]]:
    db = store._db
    return {table: sorted(db.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in ("questions", "pages", "answers", "related", "files", "id_aliases")}


def test_questions_merged_once_per_batch_equal_a_merge_after_every_page(tmp_path, monkeypatch):
    """Random rounds of new, changed, retitled, moved and deleted pages (and a JSON Lines file), each
    ingested with the batched re-merge and with one re-merge after every page: the same tables; after a
    pruning round, the same tables as the folder ingested into a new store."""
    import contextlib
    import random

    import bot.storage.ingest as ingest_module
    from bot.storage.store import Store

    monkeypatch.setattr(ingest_module, "STATE_BATCH", 7)  # several flushes per run
    rng = random.Random(5)
    titles = [f"批量合并的问题{n}是什么?" for n in range(12)]
    pages = tmp_path / "pages"
    batched, eager = Store.open(str(tmp_path / "a.db")), Store.open(str(tmp_path / "b.db"))
    try:
        for round_no in range(6):
            churn(pages, rng, titles, 15, drop=0.2, related=3)
            records = [to_json(batched.get(qid)) for qid in sorted(batched.existing_ids(
                question_id(t) for t in titles))[:2]] if round_no else []
            write(pages, "records.jsonl", "\n".join([*records, "{not json"]))
            prune = round_no % 2 == 1
            report_batched = ingest(batched, [str(pages)], prune=prune)
            with monkeypatch.context() as m:
                m.setattr(Store, "deferred_merges", lambda self: contextlib.nullcontext())
                report_eager = ingest(eager, [str(pages)], prune=prune)
            assert _dump(batched) == _dump(eager)
            assert report_batched.changed_ids == report_eager.changed_ids
            assert report_batched.merged == report_eager.merged
            assert report_batched.skipped == report_eager.skipped
            if prune:  # the folder ingested afresh gives the same archive (nothing stale left behind)
                afresh = Store.open(str(tmp_path / f"fresh{round_no}.db"))
                try:
                    ingest(afresh, [str(pages)])
                    want = _dump(afresh)
                finally:
                    afresh.close()
                got = _dump(batched)
                assert {t: got[t] for t in want if t != "id_aliases"} == {t: want[t] for t in want if t != "id_aliases"}
        assert batched.counts().questions > 3
    finally:
        batched.close()
        eager.close()


def test_reads_inside_deferred_merges_see_the_merged_questions(tmp_path):
    from bot.archive.parse import parse_page
    from bot.storage.store import Store

    store = Store.open(str(tmp_path / "a.db"))
    try:
        with store.transaction(), store.deferred_merges():
            qid = store.put_page(parse_page(make_page("延迟合并时读到的问题")).page, "/p/1.txt")
            assert store.get(qid).title == "延迟合并时读到的问题"
            store.forget_file("/p/1.txt")
            assert store.existing_ids([qid]) == set()
        assert store.counts().questions == 0
    finally:
        store.close()

