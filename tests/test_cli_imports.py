"""`aio-bot analyze` starts fast: it imports the parsers and the host renderers, none of the
heavy modules the other actions need (asyncio, SSH, TLS, Slack, charts, the store)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("asyncio", "ssl", "paramiko", "sqlite3", "psycopg", "matplotlib", "aiohttp", "slack_sdk",
         "slack_bolt", "bot.slack", "bot.store", "bot.remediation", "bot.history", "bot.config",
         "bot.esx.collect", "commands.catalog")
ROOT = Path(__file__).resolve().parent.parent


def imported_modules(importtime: str) -> set[str]:
    """The modules named by `-X importtime` lines (`import time: self | cumulative | name`)."""
    names = set()
    for line in importtime.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip())
    return names - {"imported package"}


def is_heavy(module: str) -> bool:
    return any(module == h or module.startswith(h + ".") for h in HEAVY)


def test_analyze_imports_nothing_heavy(tmp_path: Path) -> None:
    lsof = tmp_path / "lsof.txt"
    lsof.write_text("Cartel | World name | Type | fd | Description\n"
                    + "2099517   vmx   CHAR   5   /vmfs/devices/char/vmgfx/vmgfx0\n" * 3)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", "analyze", "--lsof", str(lsof),
         "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert '"vmgfx_handles": 3' in proc.stdout
    modules = imported_modules(proc.stderr)
    assert "bot.cli_analyze" in modules  # the importtime lines were read
    assert sorted(m for m in modules if is_heavy(m)) == []
