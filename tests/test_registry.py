"""The command registry: alias matching, usage errors, and that words never reach a host."""

from __future__ import annotations

from typing import ClassVar

import pytest

from bot.errors import UnknownHostError, UsageError
from bot.inventory import HostEntry, Inventory
from commands.catalog import build_registry
from commands.context import Context
from commands.params import bounded_int, hosts_in_scope
from commands.registry import CommandUsageError, Syntax


class NoTransport:
    """A transport that fails the test if any command line would be sent."""

    sent: ClassVar[list[str]] = []

    async def run(
        self, host: HostEntry, command: str, *, timeout: float | None = None, check: bool = True
    ) -> object:
        self.sent.append(command)
        raise AssertionError(f"nothing should reach a host, got {command!r}")

    async def close(self) -> None:
        return None


def ctx() -> Context:
    inventory = Inventory(
        [
            HostEntry("host01", "10.0.0.1", cluster="gpu-a"),
            HostEntry("host02", "10.0.0.2", cluster="gpu-a"),
            HostEntry("esx-b-01", "10.0.1.1", cluster="gpu-b"),
        ]
    )
    return Context(inventory, NoTransport())  # type: ignore[arg-type]


def test_syntax_parses_stackstorm_style_alias() -> None:
    s = Syntax.parse("top {host} [limit={n}]")
    assert (s.word, s.required, s.optional, s.keywords) == ("top", ("host",), (), ("limit",))
    assert Syntax.parse("scan [{scope}]").optional == ("scope",)
    with pytest.raises(ValueError):
        Syntax.parse("top <host>")


def test_match_binds_positionals_and_keywords() -> None:
    registry = build_registry()
    command, args = registry.match("top host01 limit=5")
    assert command.name == "top"
    assert args == {"host": "host01", "limit": "5"}
    assert registry.match("  TOP   host01 ")[1] == {"host": "host01"}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "Say which command"),
        ("tpo host01", "Did you mean `top`"),
        ("top", "needs a host"),
        ("top host01 host02", "at most 1"),
        ("top host01 rows=3", "no option `rows`"),
        ("x" * 2000, "too long"),
    ],
)
def test_usage_errors_say_what_fits(text: str, fragment: str) -> None:
    with pytest.raises(CommandUsageError) as err:
        build_registry().match(text)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_usage_error_carries_the_commands_syntax() -> None:
    with pytest.raises(CommandUsageError) as err:
        build_registry().match("top")
    assert err.value.command is not None
    assert "top <host> [limit=<n>]" in str(err.value)


@pytest.mark.parametrize("value", ["0", "1001", "-1", "5.0", "1e3", "５", "", "$(id)"])
def test_bounded_int_refuses(value: str) -> None:
    with pytest.raises(UsageError):
        bounded_int(value, name="limit", default=20, low=1, high=1000)


def test_bounded_int_accepts() -> None:
    assert bounded_int(None, name="limit", default=20, low=1, high=1000) == 20
    assert bounded_int("1000", name="limit", default=20, low=1, high=1000) == 1000


@pytest.mark.parametrize(
    "name",
    [
        "host01; reboot",
        "$(id)",
        "`id`",
        "host01\nreboot",
        "host01'",
        "../host01",
        "hоst01",
        "host01 && true",
    ],
)
async def test_hostile_host_names_are_refused_before_any_host_is_contacted(name: str) -> None:
    c = ctx()
    with pytest.raises(UsageError):
        await build_registry().run(f"check {name}", c)
    assert NoTransport.sent == []


def test_unknown_host_suggests_near_names() -> None:
    with pytest.raises(UnknownHostError) as err:
        ctx().inventory.get("host1")
    assert "host01" in err.value.suggestions
    assert "Did you mean" in str(err.value)


def test_scope_is_all_or_a_cluster() -> None:
    c = ctx()
    assert hosts_in_scope(c, None)[0] == "all"
    scope, hosts = hosts_in_scope(c, "GPU-A")
    assert scope == "gpu-a" and [h.name for h in hosts] == ["host01", "host02"]
    with pytest.raises(UsageError, match="Clusters: `gpu-a`, `gpu-b`"):
        hosts_in_scope(c, "nope")


async def test_help_lists_every_command_and_explains_one() -> None:
    registry = build_registry()
    result = await registry.run("help", ctx())
    assert {e.name for e in result.entries} == {
        "top", "check", "scan", "inventory", "help", "fix", "migrate", "raise-limit", "reboot",
        "power-off", "audit", "approve", "reject", "summary", "acknowledge",
        "snooze"}  # type: ignore[union-attr]
    one = await registry.run("help top", ctx())
    assert one.topic == "top"  # type: ignore[union-attr]
    with pytest.raises(UsageError):
        await registry.run("help nosuch", ctx())


async def test_terminal_progress_writes_one_line_only_on_a_tty() -> None:
    import io

    from bot.console.progress import terminal_progress
    from bot.esx.collect import HostFailure

    assert terminal_progress(io.StringIO()) is None

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    show = terminal_progress(tty)
    assert show is not None
    await show(1, 2, HostFailure("h1", "c", "down"))
    await show(2, 2, HostFailure("h2", "c", "down"))
    assert tty.getvalue() == "\rscanned 1/2 hosts, 1 failed\rscanned 2/2 hosts, 2 failed\n"
