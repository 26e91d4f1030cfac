"""A simulated host on disk: its directory, state file, lock, rendered files and tools.

Layout of `host_dir`:

    state.json          the source of truth (`bot.sim.state`), replaced atomically
                        (every file here is: `bot.sim.files.write_atomic`)
    lock                fcntl.flock target guarding read-modify-write of state.json
    offline             present while rebooting: unix time (text) the host is back
    bin/                vmkvsitools, lsof, esxcli, vmware: POSIX sh, Python only for changes
    out/                pre-rendered command output (`bot.sim.render`)
    var/log/            vmkernel.log, hostd.log (rendered from the state)
    var/core/           core files (hostd-worker-zdump.NNN)
"""

from __future__ import annotations

import fcntl
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import bot
from bot.sim import actions
from bot.sim.files import write_atomic as write_atomic  # its home until 2025-06
from bot.sim.render import render_files
from bot.sim.state import HostState, from_json, to_json

T = TypeVar("T")
STATE_FILE = "state.json"
LOCK_FILE = "lock"
OFFLINE_FILE = "offline"
TOOLS = ("vmkvsitools", "esxcli", "vmware", "lsof")
TOOL_TEMPLATES = Path(__file__).parent / "tools"
PROJECT_ROOT = Path(bot.__file__).resolve().parent.parent


def load(host_dir: Path | str) -> HostState:
    """Read the state (no lock: state.json is only ever replaced whole)."""
    return from_json((Path(host_dir) / STATE_FILE).read_text(encoding="utf-8"))


def save(host_dir: Path | str, state: HostState) -> None:
    """Write the state and re-render every file derived from it."""
    root = Path(host_dir)
    for rel, text in render_files(state).items():
        write_atomic(root / rel, text)
    for core in state.core_files:
        path = root / "var" / "core" / core
        if not path.exists():
            write_atomic(path, b"\x7fELF simulated hostd core\n")
    offline = root / OFFLINE_FILE
    if state.offline_until is not None:
        write_atomic(offline, repr(state.offline_until))
    elif offline.exists():
        offline.unlink()
    write_atomic(root / STATE_FILE, to_json(state))


@contextmanager
def locked(host_dir: Path | str) -> Iterator[None]:
    """Hold the host's exclusive lock."""
    with open(Path(host_dir) / LOCK_FILE, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def update(
    host_dir: Path | str, fn: Callable[[HostState], T], *, now: float | None = None
) -> T:
    """Locked read-modify-write: load, settle a reboot that is due, `fn(state)`, save.

    Nothing is saved when `fn` raises (except a settled reboot)."""
    moment = time.time() if now is None else now
    with locked(host_dir):
        state = load(host_dir)
        if actions.finish_reboot_if_due(state, moment):
            save(host_dir, state)
        result = fn(state)
        save(host_dir, state)
        return result


def tool_script(name: str, host_dir: Path) -> str:
    """A tool's sh source with the host dir, the Python and the project root baked in."""
    template = (TOOL_TEMPLATES / name).read_text(encoding="utf-8")
    return (template.replace("@HOST_DIR@", shlex.quote(str(host_dir)))
            .replace("@PYTHON@", shlex.quote(sys.executable))
            .replace("@ROOT@", shlex.quote(str(PROJECT_ROOT))))


def create_host_dir(path: Path | str, state: HostState) -> Path:
    """Create (or refresh) a host directory for `state`; returns its absolute path."""
    root = Path(path).resolve()
    for sub in ("bin", "out", "var/log", "var/core"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for name in TOOLS:
        template = "vmkvsitools" if name == "lsof" else name
        write_atomic(root / "bin" / name, tool_script(template, root), 0o755)
    (root / LOCK_FILE).touch()
    with locked(root):
        save(root, state)
    return root
