"""The CLI keeps the user's words and options: global options before or after the action,
quoted names as one word, `run` on the one assembly (the store from AIO_BOT_DB), and a strict
`check-config` that lists every problem with a suggestion."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.demo import DemoFleet
from bot.store import NewRequest, open_store

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("argv", [
    ["--format", "json", "demo", "top", "host01", "limit=2"],
    ["demo", "--format", "json", "top", "host01", "limit=2"],
])
def test_format_before_or_after_the_action(argv: list[str],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["host"] == "host01" and len(doc["vms"]) == 2


def test_quoted_vm_names_stay_one_word(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "migrate", "QA Win11 Desktop"]) == 0
    out = capsys.readouterr().out
    assert "Request #1: Migrate QA Win11 Desktop" in out and "→" in out
    assert main(["demo", "power-off", "QA Win11 Desktop", "hard"]) == 0
    out = capsys.readouterr().out
    assert "Power off QA Win11 Desktop" in out and "(hard)" in out
    assert main(["demo", "migrate", "QA Win11 Desktop", "to", "host04"]) == 0
    assert "→ host04" in capsys.readouterr().out


def test_verbose_before_serve_logs_at_debug(tmp_path: Path) -> None:
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s3cret",
           "SLACK_API_URL": "http://127.0.0.1:9/api/", "AIO_BOT_DB": str(tmp_path / "a.db")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "-v", "serve", "--demo", "--port", "0",
         "--host", "127.0.0.1"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        line = ""
        while "serving" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert "serving" in line
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert " DEBUG " in err, err[-2000:]


def test_run_audit_reads_the_store_from_the_environment(
    tmp_path: Path, fleet: DemoFleet, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import asyncio

    db = tmp_path / "aio.db"

    async def seed() -> None:
        store = open_store(str(db))
        await store.migrate()
        now = datetime.now(UTC)
        await store.create(NewRequest("migrate", "vdi-eng-016", "host01", {"plan": {}},
                                      "U0ALICE", now + timedelta(minutes=30)), now=now)
        await store.close()

    asyncio.run(seed())
    config = tmp_path / "aio-bot.toml"
    config.write_text(f'[ssh]\nknown_hosts = "{fleet.fleet.known_hosts_path}"\n\n'
                      '[[hosts]]\nname = "host01"\naddress = "127.0.0.1"\n')
    monkeypatch.setenv("AIO_BOT_CONFIG", str(config))
    monkeypatch.setenv("AIO_BOT_DB", str(db))
    monkeypatch.setenv("AIO_SSH_PASSWORD", fleet.password)
    assert main(["run", "audit", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["target"], r["requested_by"]) for r in doc["requests"]] == [
        (1, "vdi-eng-016", "U0ALICE")]
    assert main(["run", "approve", "1", "as", "U0BOB"]) == 2  # no vCenter: no changes
    assert "Changes are not set up" in capsys.readouterr().err


TYPOS = """
[ssh]
usernme = "root"
known_hosts = "known_hosts"
max_parallel = true

[thresholds]
warning_pecent = 70

[histroy]
scan_interval_minutes = 5

[[hosts]]
name = "host01"
port = true
"""


def test_check_config_lists_every_typo_with_a_suggestion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "aio-bot.toml"
    config.write_text(TYPOS)
    monkeypatch.setenv("AIO_BOT_CONFIG", str(config))
    assert main(["check-config"]) == 2
    out = capsys.readouterr().out
    assert str(config) in out and "5 problem(s)" in out
    for fragment in ("[histroy] (did you mean history?)",
                     "`ssh` has no key `usernme` (did you mean username?)",
                     "`thresholds` has no key `warning_pecent` (did you mean warning_percent?)",
                     "`ssh.max_parallel` must be a whole number, not a boolean",
                     "`hosts[0].port` must be a whole number, not a boolean"):
        assert fragment in out, out
    assert main(["--format", "json", "check-config"]) == 2
    assert len(json.loads(capsys.readouterr().out)["problems"]) == 5
    assert main(["run", "help"]) == 2  # every other action refuses it too
    assert "did you mean history?" in capsys.readouterr().err


def test_version() -> None:
    proc = subprocess.run([sys.executable, "-m", "bot", "--version"], cwd=ROOT,
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("aio-bot ")
