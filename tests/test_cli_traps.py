"""Issue 10 item 6: operator traps of the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, parse_config
from tests.test_cli import ROOT

SAMPLE = ROOT / "sample-archive"


def cli(*args: str) -> subprocess.CompletedProcess:
    """``archive-bot`` with ARCHIVE_BOT_TOKEN unset (as in a cron job: the token lives in systemd's file)."""
    env = {k: v for k, v in os.environ.items() if k not in ("ARCHIVE_BOT_TOKEN", "ARCHIVE_BOT_CONFIG")}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True,
                          env={**env, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=120)


def write_config(folder: Path, extra: str = "", db: str = "store/archive.db") -> Path:
    """A config as in the README's production setup: the token only in the environment."""
    path = folder / "bot.yaml"
    path.write_text(f"telegram:\n  token: ${{ARCHIVE_BOT_TOKEN}}\narchive:\n  db: {db}\n  paths: [{SAMPLE}]\n"
                    + extra, encoding="utf-8")
    return path


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_only_run_needs_the_token(tmp_path):
    config = str(write_config(tmp_path))
    assert cli("ingest", "--config", config, "--no-index").returncode == 0
    for args in (("ask", "残差连接为什么有效"), ("show", "nothing"), ("export",), ("stats",)):
        result = cli(*args, "--config", config)
        assert "ARCHIVE_BOT_TOKEN" not in result.stderr, (args, result.stderr)
        assert result.returncode in (0, 1) and "Traceback" not in result.stderr
    run = cli("run", "--config", config)
    assert run.returncode == 2 and "telegram.token: environment variable ARCHIVE_BOT_TOKEN is not set" in run.stderr


def test_parse_config_lets_an_unset_token_variable_pass_only_without_require_token():
    data = {"telegram": {"token": "${ARCHIVE_BOT_TOKEN}"}, "site": {"url_template": "${SITE_URL}"}}
    with pytest.raises(ConfigError) as err:
        parse_config(data, environ={}, require_token=False)
    assert err.value.problems == ["site.url_template: environment variable SITE_URL is not set"]
    with pytest.raises(ConfigError):
        parse_config({"telegram": {"token": "${ARCHIVE_BOT_TOKEN}"}}, environ={})
    assert parse_config({"telegram": {"token": "${ARCHIVE_BOT_TOKEN}"}}, environ={}, require_token=False)


@pytest.mark.parametrize("command", [("ask", "残差"), ("show", "abc"), ("export",), ("stats",)])
def test_read_only_commands_with_a_mistyped_store_create_nothing(tmp_path, command):
    config = write_config(tmp_path, db="typo/archive.db")
    before = files_under(tmp_path)
    result = cli(*command, "--config", str(config))
    assert result.returncode == 1
    assert str(tmp_path / "typo" / "archive.db") in result.stderr and "Traceback" not in result.stderr
    assert files_under(tmp_path) == before


def test_stats_on_a_store_without_a_state_file_creates_none(tmp_path):
    config = str(write_config(tmp_path))
    cli("ingest", "--config", config, "--no-index")
    result = cli("stats", "--config", config)
    assert result.returncode == 0 and "13 questions" in result.stdout
    assert not (tmp_path / "store" / "archive.db.state").exists()


def test_ingest_of_a_path_that_does_not_exist_fails_but_ingests_the_rest(tmp_path):
    config = str(write_config(tmp_path))
    result = cli("ingest", str(SAMPLE), str(tmp_path / "wrong"), "--config", config, "--no-index")
    assert result.returncode == 1
    assert f"{tmp_path / 'wrong'}" in result.stderr and "archive now holds 13 questions" in result.stdout


def test_export_to_a_missing_folder_is_a_clear_error(tmp_path):
    config = str(write_config(tmp_path))
    cli("ingest", "--config", config, "--no-index")
    result = cli("export", "-o", "/no/such/dir/x.jsonl", "--config", config)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "/no/such/dir/x.jsonl" in result.stderr


@pytest.mark.parametrize("template", ["https://x/{title.nope}", "https://x/{title[0]}", "https://x/{id!r}",
                                      "https://x/{title:>300}", "https://x/{", "https://x/{0}"])
def test_a_bad_url_template_is_a_config_error_not_a_traceback(tmp_path, template):
    config = write_config(tmp_path, extra=f"site:\n  url_template: {json.dumps(template)}\n")
    result = cli("ask", "残差", "--config", str(config))
    assert result.returncode == 2 and "site.url_template" in result.stderr and "Traceback" not in result.stderr
