"""The bot's log handler writes to whatever `sys.stderr` is when a line is written, so a
stream replaced and closed since `configure` (pytest's capture of an earlier test that ran
the CLI in-process) never turns later log lines into "--- Logging error ---" tracebacks;
and `configure` twice leaves one handler."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from bot import logs
from bot.cli import main


@pytest.fixture
def root() -> logging.Logger:
    """The root logger; tests/conftest.py puts its handlers and level back after each test."""
    return logging.getLogger()


def ours(root: logging.Logger) -> list[logging.Handler]:
    return [h for h in root.handlers if isinstance(h, logs.StderrHandler)]


def test_a_closed_stderr_of_the_set_up_time_is_not_written_to(
    root: logging.Logger, capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    then = io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", then)
        logs.configure("text", env={})
    then.close()  # as pytest closes a test's capture stream once the test is over
    capfd.readouterr()
    now = io.StringIO()
    monkeypatch.setattr(sys, "stderr", now)
    for n in range(3):
        logging.getLogger("bot.later").warning("a later line %d", n)
    monkeypatch.undo()
    real = capfd.readouterr()
    assert "Logging error" not in real.err + real.out + now.getvalue()
    lines = now.getvalue().splitlines()
    assert len(lines) == 3 and lines[0].endswith("WARNING bot.later a later line 0")


def test_the_cli_in_process_leaves_no_handler_on_a_closed_stream(
    root: logging.Logger, capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What happened in the suite: `main` run by a test whose stderr was a capture stream,
    closed when that test ended; then a later test logs."""
    then = io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", then)
        assert main(["analyze"]) == 2  # no --lsof: a one-line error, exit 2
    assert "--bundle" in then.getvalue()
    then.close()
    capfd.readouterr()
    logging.getLogger("bot.later").warning("after the CLI ran")
    real = capfd.readouterr()
    assert "Logging error" not in real.err
    assert "WARNING bot.later after the CLI ran" in real.err


def test_configure_twice_leaves_one_handler(root: logging.Logger) -> None:
    out = io.StringIO()
    logs.configure("text", env={}, stream=out)
    logs.configure("json", env={}, stream=out)
    assert len(ours(root)) == 1 and len(root.handlers) == 1
    assert logs.current_setup() == ("json", logging.WARNING)
    logging.getLogger("bot.twice").warning("once")
    assert out.getvalue().count('"message": "once"') == 1


def test_an_explicit_stream_is_kept(root: logging.Logger,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    logs.configure("text", env={}, stream=out)
    elsewhere = io.StringIO()
    monkeypatch.setattr(sys, "stderr", elsewhere)
    logging.getLogger("bot.kept").warning("to the given stream")
    assert "to the given stream" in out.getvalue() and elsewhere.getvalue() == ""


def test_the_handler_follows_stderr_when_it_changes(
    root: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs.configure("text", env={})
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    logging.getLogger("bot.follow").warning("one")
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("bot.follow").warning("two")
    assert "one" in first.getvalue() and "two" not in first.getvalue()
    assert "two" in second.getvalue()
