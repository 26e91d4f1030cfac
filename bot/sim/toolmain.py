"""The Python side of the simulated tools: only the commands that change a host.

    python -m bot.sim.toolmain HOST_DIR settle
    python -m bot.sim.toolmain HOST_DIR esxcli system settings kernel set -s NAME -v N
    python -m bot.sim.toolmain HOST_DIR esxcli system maintenanceMode set -e true|false
    python -m bot.sim.toolmain HOST_DIR esxcli system shutdown reboot -r REASON [-d SECONDS]

Prints esxcli-like errors to stderr and exits 1; prints nothing on success.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.sim import actions
from bot.sim.hostdir import update
from bot.sim.ops import complete_reboot_if_due
from bot.sim.state import HostState, SimError

BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


class ToolError(Exception):
    """A usage error; `str(err)` is printed after `Error: `."""


@dataclass(frozen=True)
class Command:
    """One esxcli command: its options (short -> long), required ones, and its action."""

    options: dict[str, str]
    required: tuple[str, ...]
    run: Callable[[Path, dict[str, str]], None]


def parse_options(args: list[str], options: dict[str, str]) -> dict[str, str]:
    """`-s X`, `--setting X`, `--setting=X` -> {"setting": "X"}."""
    longs = set(options.values())
    found: dict[str, str] = {}
    i = 0
    while i < len(args):
        token = args[i]
        name, eq, value = token.partition("=")
        if name.startswith("--") and name[2:] in longs:
            key = name[2:]
        elif not eq and token.startswith("-") and token[1:] in options:
            key = options[token[1:]]
        else:
            raise ToolError(f"Invalid option {token}")
        if not eq:
            i += 1
            if i >= len(args):
                raise ToolError(f"Missing value for option {token}")
            value = args[i]
        found[key] = value
        i += 1
    return found


def _int(value: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ToolError(f"Invalid data constraint for parameter '{what}'. "
                        f"Expected an integer, got {value!r}") from None


def _kernel_set(host_dir: Path, opts: dict[str, str]) -> None:
    value = _int(opts["value"], "value")
    _apply(host_dir, lambda s: actions.set_kernel(s, opts["setting"], value))


def _maintenance_set(host_dir: Path, opts: dict[str, str]) -> None:
    enabled = BOOLEANS.get(opts["enable"].lower())
    if enabled is None:
        raise ToolError("Invalid data constraint for parameter 'enable'. Expected a boolean")
    _apply(host_dir, lambda s: actions.set_maintenance(s, enabled))


def _reboot(host_dir: Path, opts: dict[str, str]) -> None:
    delay = _int(opts.get("delay", "0"), "delay")
    if delay < 0:
        raise ToolError("Invalid data constraint for parameter 'delay'")

    def start(state: HostState) -> None:
        actions.start_reboot(state, time.time(), delay + state.reboot_seconds)

    _apply(host_dir, start)


def _apply(host_dir: Path, fn: Callable[[HostState], object]) -> None:
    update(host_dir, fn)


COMMANDS: dict[tuple[str, ...], Command] = {
    ("system", "settings", "kernel", "set"): Command(
        {"s": "setting", "v": "value"}, ("setting", "value"), _kernel_set),
    ("system", "maintenanceMode", "set"): Command(
        {"e": "enable", "t": "timeout", "m": "vsanmode"}, ("enable",), _maintenance_set),
    ("system", "shutdown", "reboot"): Command(
        {"r": "reason", "d": "delay"}, ("reason",), _reboot),
}


def esxcli(host_dir: Path, args: list[str]) -> None:
    """Run one changing esxcli command; raises ToolError or SimError."""
    for words, command in COMMANDS.items():
        if tuple(args[: len(words)]) == words:
            opts = parse_options(args[len(words):], command.options)
            for name in command.required:
                if name not in opts:
                    short = next(k for k, v in command.options.items() if v == name)
                    raise ToolError(f"Missing required parameter -{short}|--{name}")
            command.run(host_dir, opts)
            return
    raise ToolError(f"Unknown command or namespace {' '.join(args)}")


def main(argv: list[str]) -> int:
    """Entry point; returns the exit status."""
    if len(argv) < 2:
        print("usage: python -m bot.sim.toolmain HOST_DIR settle|esxcli ...", file=sys.stderr)
        return 2
    host_dir, verb, rest = Path(argv[0]), argv[1], argv[2:]
    try:
        if verb == "settle":
            complete_reboot_if_due(host_dir, time.time())
        elif verb == "esxcli":
            esxcli(host_dir, rest)
        else:
            raise ToolError(f"Unknown tool {verb}")
    except (ToolError, SimError) as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
