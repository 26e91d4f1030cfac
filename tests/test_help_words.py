"""Help that reads like the commands: literal words of an alias render as themselves
(`migrate <vm> [to <host>]`, `approve <id> [as <user>] [confirm]`), from the one alias
definition, in Slack (help, the usage error, App Home), the console and `aio-bot --help`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.console.output import emit
from bot.slack.views.help import help_message
from commands.catalog import build_registry
from commands.registry import usage_text
from commands.results import HelpResult
from tests import fakeslack
from tests.fakeslack import FakeSlack
from tests.slack_helpers import all_text, demo_runtime, served

fake_slack = fakeslack.fake_slack
ROOT = Path(__file__).resolve().parent.parent
EXPECTED = {
    "migrate": "migrate <vm> [to <host>]",
    "approve": "approve <id> [as <user>] [confirm]",
    "reject": "reject <id> [as <user>]",
    "power-off": "power-off <vm> [hard]",
    "top": "top <host> [limit=<n>]",
    "scan": "scan [<scope>]",
}


def test_usage_text_keeps_literal_words() -> None:
    assert usage_text("migrate {vm} [to {host}]") == "migrate <vm> [to <host>]"
    assert usage_text("approve {id} [as {user}] [confirm]") == "approve <id> [as <user>] [confirm]"
    registry = build_registry()
    for name, line in EXPECTED.items():
        command = registry.get(name)
        assert command is not None and command.usage_line == line
        assert command.help_entry().syntax == line
    assert all("{" not in c.usage_line and "{word}" not in c.usage_line for c in registry)


def test_console_help_shows_the_words() -> None:
    registry = build_registry()
    text = emit(HelpResult([c.help_entry() for c in registry]), "table")
    for line in EXPECTED.values():
        assert line in text
    assert "{" not in text


def test_cli_help_shows_the_words() -> None:
    out = subprocess.run([sys.executable, "-m", "bot", "--help"], cwd=ROOT, text=True,
                         capture_output=True, timeout=60, check=True).stdout
    for line in EXPECTED.values():
        assert line in out
    assert "{word}" not in out


def test_slack_help_view_escapes_and_keeps_the_words() -> None:
    registry = build_registry()
    message = help_message(HelpResult([c.help_entry() for c in registry]))
    text = all_text(message.body())
    assert "migrate &lt;vm&gt; [to &lt;host&gt;]" in text
    assert "approve &lt;id&gt; [as &lt;user&gt;] [confirm]" in text
    assert "{word}" not in text


@pytest.mark.parametrize("words,expected", [
    ("help", "/aio migrate &lt;vm&gt; [to &lt;host&gt;]"),
    ("help approve", "/aio approve &lt;id&gt; [as &lt;user&gt;] [confirm]"),
    ("migrate", "/aio migrate &lt;vm&gt; [to &lt;host&gt;]"),  # the usage error's syntax
])
async def test_slack_help_through_the_app(fake_slack: FakeSlack, words: str,
                                          expected: str) -> None:
    async with demo_runtime() as runtime, served(fake_slack, runtime) as bot:
        await bot.driver.slash("/aio", words)
        post = await bot.fake.wait_for_response(timeout=10)
    assert expected in all_text(post.body)
    assert "{word}" not in all_text(post.body)
