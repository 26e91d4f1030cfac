"""Shared helpers for the SSH tests: a minimal simulated host directory, free ports,
thread bookkeeping and a hard time bound for coroutines."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

from bot.esx import ssh_exec
from bot.esx.known_hosts import KnownHosts
from bot.esx.ssh import SshSettings
from bot.inventory import HostEntry

PASSWORD = "s3cret-Pa55word!"  # a test password, asserted never to leak

T = TypeVar("T")

_STUBS = {
    "vmkvsitools": """#!/bin/sh
case "$1" in
  lsof)
    echo "Cartel World name Type fd Description"
    echo "1001 vmx CHAR 12 /vmfs/devices/char/vmgfx0"
    echo "1001 vmx CHAR 13 /vmfs/devices/char/vmgfx0"
    ;;
  *) echo "vmkvsitools: unknown command '$1'" >&2; exit 1 ;;
esac
""",
    "esxcli": """#!/bin/sh
if [ "$1" = "fail" ]; then
  echo "partial output"
  echo "esxcli: something broke" >&2
  echo "second line of the error" >&2
  exit 3
fi
echo "esxcli $*"
""",
    "vmware": """#!/bin/sh
echo "VMware ESXi 8.0.3 build-24022510"
""",
}


def make_host_dir(root: Path, name: str = "esx01") -> Path:
    """A host directory as the simulated fleet lays it out, with stub tools."""
    host_dir = root / name
    (host_dir / "bin").mkdir(parents=True)
    (host_dir / "var" / "log").mkdir(parents=True)
    (host_dir / "var" / "core").mkdir(parents=True)
    (host_dir / "var" / "log" / "hostd.log").write_text(f"hostd log of {name}\n")
    for tool, text in _STUBS.items():
        path = host_dir / "bin" / tool
        path.write_text(text)
        path.chmod(0o755)
    return host_dir


def connect_params(known_hosts: Path, password: str = PASSWORD) -> ssh_exec.ConnectParams:
    """What `ssh_exec.connect` needs: these keys on record, a password, 5 s timeouts."""
    return ssh_exec.ConnectParams(KnownHosts(str(known_hosts)), password, None, 5.0, 5.0, 5.0)


def short_ssh_settings(known_hosts: Path, **kwargs: object) -> SshSettings:
    """Settings for tests: the test password and short timeouts, `kwargs` over them."""
    options: dict[str, object] = {
        "password": PASSWORD,
        "connect_timeout": 5.0,
        "banner_timeout": 5.0,
        "auth_timeout": 5.0,
        "command_timeout": 10.0,
    }
    options.update(kwargs)
    return SshSettings(known_hosts, **options)  # type: ignore[arg-type]


def host_entry(name: str, port: int, address: str = "127.0.0.1") -> HostEntry:
    return HostEntry(name=name, address=address, port=port)


def free_port() -> int:
    """A port nothing listens on (bound and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def extra_threads(baseline: set[threading.Thread], wait: float = 3.0) -> list[str]:
    """Names of threads alive now that were not in `baseline`, after up to `wait` s
    (the event loop's own default-executor threads, `asyncio_N`, do not count)."""
    end = time.monotonic() + wait
    while True:
        extra = [
            t.name
            for t in threading.enumerate()
            if t not in baseline and t.is_alive() and not t.name.startswith("asyncio_")
        ]
        if not extra or time.monotonic() > end:
            return extra
        time.sleep(0.05)


async def bounded(awaitable: Awaitable[T], seconds: float = 10.0) -> T:
    """Await with a hard bound so that no test can hang."""
    return await asyncio.wait_for(awaitable, seconds)


def assert_one_line(err: BaseException) -> str:
    text = str(err)
    assert text and "\n" not in text and "\r" not in text, repr(text)
    return text
