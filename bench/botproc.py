"""Shared by bench/ack.py and bench/load.py: run `aio-bot serve --demo` as a user would,
pointed at a FakeSlack in the bench's process, and read percentiles."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakeslack import FakeSlack  # noqa: E402

SECRET = "bench-signing-secret"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def start_bot(fake: FakeSlack, hosts: int,
                    ready_timeout: float = 600) -> tuple[asyncio.subprocess.Process, str]:
    """`python -m bot serve --demo --demo-hosts N`; the process and its events URL."""
    env = {**os.environ, "SLACK_API_URL": fake.api_url, "SLACK_BOT_TOKEN": "xoxb-bench",
           "SLACK_SIGNING_SECRET": SECRET}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--demo", "--demo-hosts", str(hosts),
        "--host", "127.0.0.1", "--port", "0", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), ready_timeout)).decode().strip()
    print(line)
    return proc, line.split()[-1]
