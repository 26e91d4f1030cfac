"""Log lines: `--log-format json` (time, level, logger, message, request ID, host, user from
the context), LOG_LEVEL with `-v` winning, and the redaction filter still applied to JSON."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess
import sys
from pathlib import Path

from bot import logs
from bot.redact import REDACTED

ROOT = Path(__file__).resolve().parent.parent


def test_json_lines_carry_the_context_and_stay_redacted() -> None:
    out = io.StringIO()
    env = {"SLACK_BOT_TOKEN": "xoxb-1234-secret-token-value", "LOG_LEVEL": "info"}
    logs.configure("json", env=env, stream=out)
    log = logging.getLogger("bot.test")

    async def one_command() -> None:
        logs.bind(request_id="Ev0REQ", user="U0ALICE", host="host01")
        log.info("token xoxb-1234-secret-token-value used for %s", "host01")

    asyncio.run(one_command())
    log.info("outside any command")
    log.debug("not at INFO")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["level"] == "INFO" and first["logger"] == "bot.test"
    assert (first["request_id"], first["user"], first["host"]) == ("Ev0REQ", "U0ALICE", "host01")
    assert "secret-token" not in first["message"] and REDACTED in first["message"]
    assert first["time"].endswith("Z")
    assert "request_id" not in second  # the command's task had its own context


def test_exceptions_are_one_json_line_redacted() -> None:
    out = io.StringIO()
    logs.configure("json", env={}, stream=out)
    try:
        raise RuntimeError("connect postgresql://aio:hunter2-password@db/aio failed")
    except RuntimeError:
        logging.getLogger("bot.test").exception("store down")
    [line] = out.getvalue().splitlines()
    record = json.loads(line)
    assert "RuntimeError" in record["exception"] and "hunter2" not in line


def test_levels_from_the_environment() -> None:
    assert logs.level_from({}, False) == (logging.WARNING, None)
    assert logs.level_from({"LOG_LEVEL": "debug"}, False)[0] == logging.DEBUG
    assert logs.level_from({"LOG_LEVEL": "error"}, True)[0] == logging.DEBUG  # -v wins
    level, complaint = logs.level_from({"LOG_LEVEL": "loud"}, False)
    assert level == logging.WARNING and complaint and "LOG_LEVEL" in complaint


def test_the_cli_logs_json_at_log_level() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bot", "--log-format", "json", "demo", "top", "host01"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "LOG_LEVEL": "INFO", "HOME": str(ROOT)})
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [json.loads(line) for line in run.stderr.splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= set(r) for r in lines)
    assert {r["level"] for r in lines} <= {"INFO", "WARNING", "ERROR"}
