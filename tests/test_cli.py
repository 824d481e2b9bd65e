"""The command line: every command has help, works on the sample archive, and fails clearly."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser

ROOT = Path(__file__).parent.parent
TOKEN = "424242:CLI_TEST_TOKEN_do_not_print"


def cli(*args: str, env: dict | None = None, cwd: Path | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    environ.pop("ARCHIVE_BOT_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=environ,
        cwd=cwd or ROOT, timeout=timeout,
    )


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "bot.yaml"
    path.write_text(
        "telegram:\n  token: ${TOKEN:-123456:REPLACE_ME}\n  base_url: http://127.0.0.1:9/bot\n"
        f"archive:\n  db: {tmp_path / 'archive.db'}\n  paths: [{ROOT / 'sample-archive'}]\n",
        encoding="utf-8",
    )
    return path


def test_every_command_has_help_text():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert set(commands) == {
        "ingest", "export", "show", "ask", "run", "check-config", "stats", "learned", "doctor", "backup",
    }
    for name, sub in commands.items():
        assert sub.description, name
        assert cli(name, "--help").returncode == 0


def test_ingest_ask_show_export_and_stats_on_the_sample_archive(config, tmp_path, sample_store_counts):
    questions, files = sample_store_counts
    result = cli("ingest", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert f"archive now holds {questions} questions" in result.stdout
    again = cli("ingest", "--config", str(config))
    assert f"{files} unchanged" in again.stdout

    asked = cli("ask", "殘差連接為什麼有效", "--json", "--config", str(config))
    data = json.loads(asked.stdout)
    assert data["band"] == "answer" and data["answer"]["title"] == "ResNet 的残差连接为什么有效?"
    shown = cli("show", data["answer"]["id"], "--config", str(config))
    assert "lin-xiao-ming" in shown.stdout

    plain = cli("ask", "明天北京的天气预报怎么样", "--config", str(config))
    assert plain.returncode == 0 and "band: no_match" in plain.stdout

    out = tmp_path / "dump.jsonl"
    cli("export", "--output", str(out), "--config", str(config))
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == questions and all(json.loads(line)["id"] for line in lines)

    stats = cli("stats", "--config", str(config))
    assert stats.returncode == 0 and f"{questions} questions" in stats.stdout


def test_check_config_reports_problems_with_keys_and_never_the_token(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"telegram:\n  token: {TOKEN}\n  mode: pigeon\n  poll_timeout: soon\nanswers:\n  chars: -1\n"
                   "colour: red\n", encoding="utf-8")
    result = cli("check-config", str(bad))
    assert result.returncode == 2
    for key in ("telegram.mode", "telegram.poll_timeout", "colour: unknown key"):
        assert key in result.stderr
    assert TOKEN not in result.stderr + result.stdout
    good = tmp_path / "good.yaml"
    good.write_text(f"telegram:\n  token: {TOKEN}\n", encoding="utf-8")
    ok = cli("check-config", str(good))
    assert ok.returncode == 0 and TOKEN not in ok.stdout + ok.stderr


def test_run_refuses_the_example_placeholder_token():
    result = cli("run", "--config", str(ROOT / "config" / "example.yaml"), env={"ARCHIVE_BOT_TOKEN": ""})
    assert result.returncode == 2
    assert "telegram.token" in result.stderr and "placeholder" in result.stderr


def test_run_with_a_missing_store_names_the_file(config, tmp_path):
    cfg = config.read_text(encoding="utf-8").replace("  paths:", "  ingest_on_start: false\n  paths:")
    config.write_text(cfg, encoding="utf-8")
    result = cli("run", "--config", str(config), env={"TOKEN": TOKEN})
    assert result.returncode == 1
    assert str(tmp_path / "archive.db") in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_with_a_corrupt_store_names_the_file(config, tmp_path):
    (tmp_path / "archive.db").write_bytes(b"\x00garbage" * 1000)
    result = cli("run", "--config", str(config), env={"TOKEN": TOKEN})
    assert result.returncode == 1
    assert str(tmp_path / "archive.db") in result.stderr and "not a valid archive store" in result.stderr
    assert "Traceback" not in result.stderr and TOKEN not in result.stderr


def _immutable(path: Path, on: bool) -> bool:
    """chattr +i / -i: a file even root cannot write (the only read-only store root can test)."""
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True).returncode == 0


def test_read_only_store_is_reported_by_ingest_with_its_name(config, tmp_path):
    assert cli("ingest", "--config", str(config), "--no-index").returncode == 0
    db = tmp_path / "archive.db"
    (ROOT / "sample-archive" / "000_1.txt").read_text(encoding="utf-8")
    page = tmp_path / "new.txt"
    page.write_text((ROOT / "sample-archive" / "000_1.txt").read_text(encoding="utf-8").replace("ResNet", "VGG"),
                    encoding="utf-8")
    if not _immutable(db, True):
        pytest.skip("chattr +i is not available here")
    try:
        result = cli("ingest", str(page), "--config", str(config))
        asked = cli("ask", "残差连接为什么有效", "--json", "--config", str(config))
    finally:
        _immutable(db, False)
    assert result.returncode == 1, result.stderr
    assert str(db) in result.stderr and "readonly" in result.stderr.replace("-", "")
    assert "Traceback" not in result.stderr
    assert json.loads(asked.stdout)["band"] == "answer"  # reading a read-only archive still works


def test_ask_explain_lists_each_features_contribution_to_the_confidence(config):
    assert cli("ingest", "--config", str(config)).returncode == 0
    plain = cli("ask", "ResNet 的残差连接为什么有效", "--explain", "--config", str(config))
    assert plain.returncode == 0, plain.stderr
    assert "learned confidence" in plain.stdout and "contribution to the log-odds" in plain.stdout
    asked = cli("ask", "ResNet 的残差连接为什么有效", "--explain", "--json", "--config", str(config))
    explain = json.loads(asked.stdout)["explain"]
    assert explain["features"] and all({"feature", "value", "logit"} <= set(f) for f in explain["features"])
    total = explain["base_logit"] + sum(f["logit"] for f in explain["features"])
    assert abs(100 / (1 + math.exp(-total)) - explain["confidence"]) < 0.1


def test_ask_explain_shows_the_query_as_matched_with_its_ime_typos_repaired(config):
    assert cli("ingest", "--config", str(config)).returncode == 0
    plain = cli("ask", "ResNet 的残叉连接为什么有效", "--explain", "--config", str(config))
    assert plain.returncode == 0, plain.stderr
    assert "matched as: resnet 的残差连接为什么有效" in plain.stdout
    asked = json.loads(cli("ask", "ResNet 的残叉连接为什么有效", "--explain", "--json", "--config", str(config)).stdout)
    assert asked["matched_as"] == "resnet 的残差连接为什么有效" and asked["band"] == "answer"


def test_ingest_jobs_must_be_a_number_from_zero(capsys):
    parser = build_parser()
    assert parser.parse_args(["ingest", "--jobs", "0"]).jobs == 0
    assert parser.parse_args(["ingest"]).jobs is None  # one per spare CPU
    for bad in ("-1", "two"):
        with pytest.raises(SystemExit):
            parser.parse_args(["ingest", "--jobs", bad])
        assert "is not a number of worker processes" in capsys.readouterr().err
