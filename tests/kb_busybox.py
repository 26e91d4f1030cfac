"""KB 408376's pipeline as ESXi runs it: busybox sh, awk, grep, sort and uniq (ESXi's shell
tools are busybox). Debian's `busybox` package provides them; without it the tests that need
it skip locally and fail under CI=true (tests/needs.py).

    awk '$3=="CHAR" {print $0}' F | grep vmgfx | awk '$2=="vmx" {print $1}' | sort | uniq -c
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

from tests.needs import require

KB = (
    "awk '$3==\"CHAR\" {{print $0}}' {f} | grep vmgfx "
    "| awk '$2==\"vmx\" {{print $1}}' | sort | uniq -c"
)
APPLETS = ("sh", "awk", "grep", "sort", "uniq")


def busybox() -> str:
    """The busybox binary; skips (or fails under CI) when it is not installed."""
    found = shutil.which("busybox")
    require(None if found else "busybox is not installed (Debian package `busybox`)")
    assert found is not None
    return found


def applet_dir(root: Path) -> Path:
    """A directory whose sh, awk, grep, sort and uniq are busybox's."""
    bin_dir = root / "busybox-bin"
    if not bin_dir.exists():
        bin_dir.mkdir(parents=True)
        for name in APPLETS:
            (bin_dir / name).symlink_to(busybox())
    return bin_dir


def run_busybox(script: str, bin_dir: Path) -> bytes:
    env = {**os.environ, "PATH": str(bin_dir), "LC_ALL": "C"}
    return subprocess.run([str(bin_dir / "sh"), "-c", script], capture_output=True, env=env,
                          check=True, timeout=120).stdout


def kb_counts(path: Path) -> Counter[int]:
    """{cartel: vmgfx handles} as the KB pipeline prints them for the file at `path`."""
    out = run_busybox(KB.format(f=_quoted(path)), applet_dir(path.parent))
    counts: Counter[int] = Counter()
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        count, cartel = line.split()
        counts[int(cartel)] = int(count)
    return counts


def busybox_awk(program: str, path: Path) -> bytes:
    """`awk PROGRAM FILE` run by busybox awk."""
    return run_busybox(f"awk {_quoted(program)} {_quoted(path)}", applet_dir(path.parent))


def _quoted(value: object) -> str:
    return "'" + str(value).replace("'", "'\"'\"'") + "'"
