"""The operator's path in the README ("From @BotFather to production") runs: its command blocks in order
against a scratch folder and the fake Bot API, the systemd unit verifies, the cron line ingests, backups
are consistent while a writer is busy, and ``doctor`` tells what is wrong, one line per check."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.config import parse_config
from bot.doctor import check_token
from bot.storage.backup import backup_file
from bot.storage.ingest import ingest
from bot.storage.state import StateStore
from bot.storage.store import Store, StoreError
from tests.fakebotapi import FakeBotAPI
from tests.harness import ROOT, SAMPLE

TOKEN = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ"
README = ROOT / "README.md"
SECTION = "## From @BotFather to production"
SYSTEM_ONLY = ("systemctl ", "journalctl ")
"""Lines acting on a running systemd; covered by the verified unit and the SIGHUP/stderr tests."""
NEEDS_INDEX = ("python3 -m venv /opt/archive-bot", "/opt/archive-bot/bin/pip install")
"""Lines that install from the package index; `.ci/run` installs the same way into .venv."""


def section_blocks() -> list[tuple[str, str]]:
    """The fenced blocks of the README's production section, in order: (language, body)."""
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    body = text[start:end if end != -1 else None]
    return re.findall(r"```(\w*)\n(.*?)```", body, flags=re.S)


def shell_lines() -> list[str]:
    return [line for lang, body in section_blocks() if lang == "sh" for line in body.splitlines() if line.strip()]


def sandboxed(line: str, scratch: Path) -> str | None:
    """The README line as the test runs it (None: skipped, see SYSTEM_ONLY and NEEDS_INDEX)."""
    if line.startswith(SYSTEM_ONLY) or line.startswith(NEEDS_INDEX):
        return None
    if line.startswith("useradd "):
        if os.geteuid() != 0:
            return None
        return line.replace("useradd ", f"useradd --root {scratch / 'sysroot'} ", 1)  # paths inside that root
    line = line.replace("/path/to/archive-bot", str(ROOT))
    line = line.replace("/opt/archive-bot/bin/archive-bot", f"{sys.executable} -m bot.cli")
    line = line.replace("runuser -u archive-bot -- ", "")
    line = re.sub(r" -o \S+ -g \S+", "", line)
    return re.sub(r"(?<![\w./-])/(etc|var)/", lambda m: f"{scratch}/{m.group(1)}/", line)


def scratch_sysroot(scratch: Path) -> None:
    """A copy of the account files for ``useradd --root`` (the real system is never changed)."""
    etc = scratch / "sysroot" / "etc"
    etc.mkdir(parents=True)
    for name in ("passwd", "group", "shadow", "gshadow", "login.defs"):
        if os.path.exists(f"/etc/{name}"):
            shutil.copy(f"/etc/{name}", etc / name)


def run(line: str, scratch: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ARCHIVE_BOT_CONFIG", None)
    env.pop("ARCHIVE_BOT_TOKEN", None)
    return subprocess.run(["bash", "-c", line], capture_output=True, text=True, env=env, cwd=scratch, timeout=300)


def test_every_command_of_the_production_section_is_run_or_named_here():
    lines = shell_lines()
    assert any(line.startswith("useradd --system") for line in lines)
    assert any("archive-bot doctor --online" in line for line in lines)
    assert any("archive-bot backup" in line for line in lines)
    assert any("/etc/cron.d/archive-bot" in line for line in lines)
    skipped = [line for line in lines if sandboxed(line, Path("/scratch")) is None and not line.startswith("useradd")]
    assert all(line.startswith(SYSTEM_ONLY + NEEDS_INDEX) for line in skipped), skipped
    assert [lang for lang, _ in section_blocks()].count("yaml") == 1


async def test_the_readme_production_path_runs_in_a_scratch_folder(tmp_path):
    """Section 2-5 in order: install the layout, configure, ingest, doctor --online, unit, cron, backups."""
    scratch = tmp_path
    for folder in ("etc/systemd/system", "etc/cron.d", "var/backups"):  # there on any systemd + cron host
        (scratch / folder).mkdir(parents=True)
    if os.geteuid() == 0:
        scratch_sysroot(scratch)
    async with FakeBotAPI(token=TOKEN) as api:
        for lang, body in section_blocks():
            if lang == "yaml":  # the operator edits the installed config as shown
                config = scratch / "etc/archive-bot/config.yaml"
                data = yaml.safe_load(config.read_text(encoding="utf-8"))
                for key, value in yaml.safe_load(sandboxed(body, scratch) or "").items():
                    data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
                config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
                # … puts the token in the env file (here also the fake Bot API's URL) and syncs pages
                (scratch / "etc/archive-bot/env").write_text(
                    f"ARCHIVE_BOT_TOKEN={TOKEN}\nARCHIVE_BOT_API={api.base_url}\n", encoding="utf-8")
                shutil.copytree(SAMPLE, scratch / "var/lib/archive-bot/pages", dirs_exist_ok=True)
                continue
            if lang != "sh":
                continue
            for line in body.splitlines():
                command = sandboxed(line, scratch) if line.strip() else None
                if command is None:
                    continue
                result = await asyncio.to_thread(run, command, scratch)
                assert result.returncode == 0, (line, result.stdout, result.stderr)
                if "doctor" in line:
                    doctor_out = result.stdout
        assert api.calls("getMe")
    assert "all checks passed" in doctor_out and "FAIL" not in doctor_out
    assert "inline mode on" in doctor_out and "group privacy on" in doctor_out
    assert TOKEN not in doctor_out and TOKEN.split(":")[1] not in doctor_out
    if os.geteuid() == 0:
        passwd = (scratch / "sysroot/etc/passwd").read_text()
        assert re.search(r"^archive-bot:x:\d+:\d+::/var/lib/archive-bot:/usr/sbin/nologin$", passwd, re.M)
    assert (scratch / "etc/systemd/system/archive-bot.service").exists()
    assert (scratch / "etc/cron.d/archive-bot").read_text() == (ROOT / "config/archive-bot.cron").read_text()
    assert oct((scratch / "etc/archive-bot/env").stat().st_mode)[-3:] == "600"
    assert not (scratch / "var/lib/archive-bot/archive.db.state").exists()  # the bot never ran: no state to copy
    backup = Store.open(str(scratch / "var/backups/archive-bot/archive.db"), create=False)
    assert backup.counts().questions == 13
    backup.close()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_unit_file_passes_systemd_analyze_verify(tmp_path):
    unit = (ROOT / "config/archive-bot.service").read_text(encoding="utf-8")
    assert "ExecStart=/opt/archive-bot/bin/archive-bot run --config /etc/archive-bot/config.yaml" in unit
    # verify also checks that ExecStart's program exists: point it at this interpreter's console script
    program = shutil.which("archive-bot") or str(Path(sys.executable).with_name("archive-bot"))
    assert os.access(program, os.X_OK), program
    (tmp_path / "archive-bot.service").write_text(unit.replace("/opt/archive-bot/bin/archive-bot", program))
    result = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "archive-bot.service")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "archive-bot.service" not in result.stderr  # no warning about our unit either


def cron_entries() -> list[tuple[list[str], str, str]]:
    """(five time fields, user, command) for each job line of config/archive-bot.cron."""
    out = []
    for line in (ROOT / "config/archive-bot.cron").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or re.match(r"^[A-Z_]+=", line):
            continue
        fields = line.split(None, 6)
        out.append((fields[:5], fields[5], fields[6]))
    return out


def test_the_cron_line_runs_an_ingest_as_the_bot_user(tmp_path):
    [(when, user, command)] = cron_entries()
    assert all(re.fullmatch(r"\*|\d+(-\d+)?(,\d+)*(/\d+)?", f) for f in when)
    assert user == "archive-bot"
    config = tmp_path / "config.yaml"
    config.write_text(f"archive:\n  db: {tmp_path / 'archive.db'}\n  paths: [{SAMPLE}]\n", encoding="utf-8")
    local = command.replace("/opt/archive-bot/bin/archive-bot", f"{sys.executable} -m bot.cli").replace(
        "/etc/archive-bot/config.yaml", str(config))
    assert local != command
    first = run(local, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "archive now holds 13 questions" in first.stdout and "index: 13 questions" in first.stdout
    again = run(local, tmp_path)
    assert again.returncode == 0 and "unchanged" in again.stdout


def test_backup_while_a_writer_holds_a_transaction_copies_the_committed_archive(tmp_path):
    db = str(tmp_path / "archive.db")
    store = Store.open(db)
    ingest(store, [str(SAMPLE)])
    store.close()
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM answers")  # an ingest half-way: not committed
    try:
        size = backup_file(db, str(tmp_path / "copy.db"))
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert size > 0
    copy = Store.open(str(tmp_path / "copy.db"), create=False)
    assert copy.counts().questions == 13 and copy.counts().answers > 0
    copy.close()
    assert sorted(p.name for p in tmp_path.iterdir() if "tmp" in p.name) == []
    with pytest.raises(StoreError, match="no such database"):
        backup_file(str(tmp_path / "missing.db"), str(tmp_path / "x.db"))


def test_backup_command_copies_store_and_state(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(f"archive:\n  db: {tmp_path / 'a.db'}\n  paths: [{SAMPLE}]\n", encoding="utf-8")
    assert main(["ingest", "--no-index", "--quiet", "--config", str(config)]) == 0
    state = StateStore.open(str(tmp_path / "a.db.state"))
    state.log_query(1, "一个问题", "no_match", 1.0, None)
    state.close()
    assert main(["backup", str(tmp_path / "bk"), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"-> {tmp_path / 'bk' / 'a.db'}" in out and f"-> {tmp_path / 'bk' / 'a.db.state'}" in out
    assert [m.query for m in StateStore.open(str(tmp_path / "bk" / "a.db.state")).misses()] == ["一个问题"]


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 shell is not installed")
def test_the_sqlite3_backup_line_makes_an_openable_copy(tmp_path):
    db = tmp_path / "archive.db"
    store = Store.open(str(db))
    ingest(store, [str(SAMPLE)])  # the store stays open, as under the running bot
    result = subprocess.run(["sqlite3", str(db), f".backup {tmp_path / 'copy.db'}"], capture_output=True, text=True,
                            timeout=60)
    store.close()
    assert result.returncode == 0, result.stderr
    copy = Store.open(str(tmp_path / "copy.db"), create=False)
    assert copy.counts().questions == 13
    copy.close()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_the_webhook_secret_command_makes_a_secret_the_config_accepts():
    assert "`openssl rand -hex 32`" in README.read_text(encoding="utf-8").split(SECTION)[1]
    made = subprocess.run(["openssl", "rand", "-hex", "32"], capture_output=True, text=True, timeout=30)
    secret = made.stdout.strip()
    webhook = {"public_url": "https://bot.example.org/telegram", "secret_token": secret}
    cfg = parse_config({"telegram": {"token": TOKEN, "mode": "webhook", "webhook": webhook}}, environ={})
    assert cfg.telegram.webhook.secret_token == secret and len(secret) == 64


# -- doctor ---------------------------------------------------------------------------------------


def write_config(folder: Path, base_url: str = "http://127.0.0.1:9/bot", **archive: str) -> Path:
    path = folder / "bot.yaml"
    extra = "".join(f"  {k}: {v}\n" for k, v in archive.items())
    path.write_text(
        f"telegram:\n  token: ${{TOKEN:-123456:REPLACE_ME}}\n  base_url: {base_url}\n  request_timeout: 3\n"
        f"archive:\n  db: {folder / 'archive.db'}\n  paths: [{SAMPLE}]\n{extra}",
        encoding="utf-8",
    )
    return path


def doctor(*args: str, token: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TOKEN", None)
    if token is not None:
        env["TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "bot.cli", "doctor", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


def test_doctor_reports_each_problem_on_its_own_line_and_fails(tmp_path):
    config = write_config(tmp_path)
    result = doctor("--config", str(config))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("OK    config")
    assert any(line.startswith("FAIL  token") and "placeholder" in line for line in lines)
    assert any(line.startswith("FAIL  store") and "archive-bot ingest" in line for line in lines)
    assert lines[-1] == "2 check(s) failed"


def test_doctor_passes_on_an_ingested_archive_and_checks_the_token_online(tmp_path):
    config = write_config(tmp_path)
    assert main(["ingest", "--quiet", "--config", str(config)]) == 0
    result = doctor("--config", str(config), token=TOKEN)
    assert result.returncode == 0, result.stdout
    assert [line.split()[:2] for line in result.stdout.splitlines()[:-1]] == [
        ["OK", "config"], ["OK", "token"], ["OK", "paths"], ["OK", "store"], ["OK", "index"], ["OK", "state"]]
    assert "13 questions" in result.stdout and TOKEN not in result.stdout


def test_doctor_verifies_every_array_of_the_index_not_only_its_structure(tmp_path):
    config = write_config(tmp_path)
    assert main(["ingest", "--quiet", "--config", str(config)]) == 0
    index = tmp_path / "archive.db.index"
    raw = bytearray(index.read_bytes())
    hlen = struct.unpack("<Q", raw[8:16])[0]
    start = -(-(20 + hlen) // 64) * 64
    spec = next(a for a in json.loads(raw[20 : 20 + hlen])["arrays"] if a["name"] == "content")
    raw[start + spec["offset"] + 1] ^= 0x01  # a title's text: the structure checks on open cannot see it
    index.write_bytes(bytes(raw))
    result = doctor("--config", str(config), token=TOKEN)
    assert result.returncode == 1
    assert any(line.startswith("FAIL  index") and "rebuild" in line for line in result.stdout.splitlines())


async def test_doctor_online_calls_getme_through_base_url(tmp_path):
    async with FakeBotAPI(token=TOKEN) as api:
        config = write_config(tmp_path, api.base_url, ingest_on_start="true")
        good = await asyncio.to_thread(doctor, "--online", "--config", str(config), token=TOKEN)
        wrong = TOKEN[:-4] + "wxyz"
        bad = await asyncio.to_thread(doctor, "--online", "--config", str(config), token=wrong)
        assert api.calls("getMe")
    assert good.returncode == 0, good.stdout
    assert "OK    getMe     @archive_test_bot (id 987654321); inline mode on; group privacy on" in good.stdout
    assert "not created yet: `run` ingests archive.paths at start" in good.stdout
    assert bad.returncode == 1
    assert "FAIL  getMe" in bad.stdout and "rejected the token" in bad.stdout
    for out in (good.stdout + good.stderr, bad.stdout + bad.stderr):
        assert TOKEN not in out and wrong not in out and TOKEN.split(":")[1][:20] not in out


def test_doctor_online_names_an_unreachable_bot_api(tmp_path):
    config = write_config(tmp_path, "http://127.0.0.1:9/bot", ingest_on_start="true")
    result = doctor("--online", "--config", str(config), token=TOKEN)
    assert result.returncode == 1
    assert "FAIL  getMe     http://127.0.0.1:9/bot: cannot reach the Bot API" in result.stdout


def test_doctor_on_an_invalid_config_stops_at_the_config_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("telegram:\n  mode: carrier-pigeon\n", encoding="utf-8")
    result = doctor("--config", str(bad))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith("FAIL  config") and "telegram.mode" in result.stdout
    assert len(result.stdout.splitlines()) == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can be the wrong user here")
def test_doctor_as_root_on_the_service_users_store_says_to_run_as_that_user_and_does_not_open_it(tmp_path):
    config = write_config(tmp_path)
    assert main(["ingest", "--no-index", "--quiet", "--config", str(config)]) == 0
    os.chown(tmp_path / "archive.db", 65534, 65534)
    result = doctor("--config", str(config))
    assert result.returncode == 1
    assert f"FAIL  store     {tmp_path / 'archive.db'} belongs to uid 65534 but this runs as root" in result.stdout
    assert not (tmp_path / "archive.db-wal").exists() and not (tmp_path / "archive.db-shm").exists()


@pytest.mark.parametrize(("token", "ok"), [
    (TOKEN, True), ("123456:REPLACE_ME", False), ("", False), (TOKEN + " ", False), ('"' + TOKEN + '"', False),
    (TOKEN[:20], False), ("bot" + TOKEN, False),
])
def test_token_form_check(token: str, ok: bool):
    check = check_token(token)
    assert check.ok is ok
    assert TOKEN.split(":")[1] not in check.reason
