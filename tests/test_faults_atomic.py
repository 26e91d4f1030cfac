"""A stand-in tool rewritten while hosts run it: the fault harness swaps `bin/esxcli` under
running commands (tests/fault_helpers.py, bench/soak.py). Rewriting in place fails with
`OSError: [Errno 26] Text file busy` while a shell executes the script, and a shell reading a
half-written script runs half of it; `bot.sim.files.write_atomic` replaces the file whole.

Here a thread swaps the script between two versions in a tight loop while several SSH
connections run it over and over: the writer never fails, and every run prints one version
whole (its first and last lines and everything between) with exit status 0."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from bot.esx.ssh import SshSettings, SshTransport
from bot.inventory import HostEntry
from bot.sim.files import write_atomic
from bot.sim.sshd import SimSshServer
from tests.sshd_helpers import PASSWORD, bounded

PADDING = 400  # lines: a script of ~24 KB, read by the shell in several pieces
RUNNERS = 4
SECONDS = 3.0  # 20 s found the forked-child race before `spawn_gate`; 40 s pass with it


def _script(tag: str) -> str:
    middle = "".join(f": padding line {i:04d} of version {tag} {'.' * 40}\n"
                     for i in range(PADDING))
    return f"#!/bin/sh\necho begin-{tag}\n{middle}echo middle-{tag}\n{middle}echo end-{tag}\n"


def _expected(tag: str) -> str:
    return f"begin-{tag}\nmiddle-{tag}\nend-{tag}\n"


class _Swapper(threading.Thread):
    """Replaces `path` with version A, then B, then A ... until stopped."""

    def __init__(self, path: Path) -> None:
        super().__init__(name="test-tool-swapper", daemon=True)
        self.path = path
        self.stop = threading.Event()
        self.swaps = 0
        self.errors: list[BaseException] = []

    def run(self) -> None:
        texts = (_script("A"), _script("B"))
        while not self.stop.is_set():
            try:
                write_atomic(self.path, texts[self.swaps % 2], 0o755)
            except OSError as err:  # what must never happen (ETXTBSY)
                self.errors.append(err)
            self.swaps += 1


async def _run_many(transport: SshTransport, host: HostEntry, until: float) -> list[str]:
    """Run `esxcli` until `until`; every result that was not one whole version."""
    bad: list[str] = []
    while time.monotonic() < until:
        result = await transport.run(host, "esxcli", check=False)
        if result.exit_status != 0 or result.stderr or result.stdout not in (
                _expected("A"), _expected("B")):
            bad.append(f"{result.exit_status} {result.stdout!r} {result.stderr!r}")
    return bad


async def test_a_tool_swapped_in_a_tight_loop_never_busy_never_half_run(
        tmp_path: Path, host_dir: Path) -> None:
    tool = host_dir / "bin" / "esxcli"
    write_atomic(tool, _script("A"), 0o755)
    with SimSshServer("esx01", host_dir, password=PASSWORD) as server:
        known = tmp_path / "known_hosts"
        known.write_text(server.known_hosts_line() + "\n")
        transport = SshTransport(SshSettings(known_hosts=known, password=PASSWORD,
                                             command_timeout=20))
        # several names for one server: the transport runs one command per host at a time
        hosts = [HostEntry(name=f"esx01-{i}", address=server.address, port=server.port)
                 for i in range(RUNNERS)]
        swapper = _Swapper(tool)
        swapper.start()
        try:
            until = time.monotonic() + SECONDS
            found = await bounded(asyncio.gather(
                *(_run_many(transport, h, until) for h in hosts)), 60)
        finally:
            swapper.stop.set()
            swapper.join(5)
            await transport.close()
    runs = len(server.received)
    assert swapper.errors == [], swapper.errors[:3]
    assert [b for batch in found for b in batch] == []
    assert swapper.swaps > 100 and runs > 50, (swapper.swaps, runs)
    leftovers = [p.name for p in tool.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no temporary file is left behind


def test_write_atomic_sets_the_mode_and_replaces_the_inode(tmp_path: Path) -> None:
    path = tmp_path / "tool"
    write_atomic(path, "#!/bin/sh\necho one\n", 0o755)
    first = path.stat()
    with open(path, "rb"):  # a reader of the old file keeps it; the path gets a new one
        write_atomic(path, b"#!/bin/sh\necho two\n", 0o700)
    second = path.stat()
    assert first.st_mode & 0o777 == 0o755 and second.st_mode & 0o777 == 0o700
    assert first.st_ino != second.st_ino
    assert path.read_text() == "#!/bin/sh\necho two\n"
