"""Slash commands are answered 200 once their signature holds, before Bolt runs them
(bot.slack.web.server.is_slash_command); everything else goes through Bolt for its answer."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from bot.slack.web.server import is_slash_command

FORM = "application/x-www-form-urlencoded"


def test_a_slash_command_form_is_one() -> None:
    text = urlencode({"command": "/aio", "text": "top host01", "user_id": "U1"})
    assert is_slash_command(text, FORM)


def test_interactions_and_events_are_not() -> None:
    click = urlencode({"payload": json.dumps({"type": "block_actions"})})
    assert not is_slash_command(click, FORM)
    both = urlencode({"command": "/aio", "payload": json.dumps({"type": "view_submission"})})
    assert not is_slash_command(both, FORM), "a modal's answer must come from Bolt"
    event = json.dumps({"type": "event_callback", "command": "/aio"})
    assert not is_slash_command(event, "application/json")
    assert not is_slash_command(urlencode({"command": "/aio"}), "text/plain")


def test_a_form_with_too_many_fields_is_left_to_bolt() -> None:
    text = urlencode({"command": "/aio", **{f"f{i}": "x" for i in range(100)}})
    assert not is_slash_command(text, FORM)


def test_field_names_are_read_as_bolt_reads_them() -> None:
    """Names decoded as parse_qs decodes them; values are never looked at."""
    assert is_slash_command("comm%61nd=%2Faio&text=top", FORM)
    assert not is_slash_command("command=%2Faio&p%61yload=%7B%7D", FORM)
    assert is_slash_command("text=payload%3D1&command=/aio", FORM), "a value is not a name"
    assert not is_slash_command("text=command&user_id=U1", FORM)
    fields = "&".join(f"f{i}=x" for i in range(63))
    assert is_slash_command(f"command=/aio&{fields}", FORM)  # 64 fields
    assert not is_slash_command(f"command=/aio&{fields}&g=1", FORM)  # 65
