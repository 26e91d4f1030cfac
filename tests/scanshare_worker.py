"""Another replica's scan worker, as its own process (tests/test_scanshare.py kills one
mid-scan; bench/scan.py --replicas runs them): takes work items from the PostgreSQL store and
reads the hosts over SSH until killed.

    python -m tests.scanshare_worker DB_URL KNOWN_HOSTS HOLDER CONCURRENCY LEASE HOSTS_JSON
(HOSTS_JSON: [[name, address, port], ...]; the SSH password in AIO_SSH_PASSWORD)"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from bot.esx.ssh import SshSettings, SshTransport
from bot.inventory import HostEntry, Inventory
from bot.scanshare import SharedScans
from bot.store import open_store
from bot.store.sql import SqlStore


async def main(argv: list[str]) -> None:
    url, known_hosts, holder, concurrency, lease, hosts = argv
    store = open_store(url)
    assert isinstance(store, SqlStore)
    entries = [HostEntry(n, a, int(p)) for n, a, p in json.loads(Path(hosts).read_text())]
    transport = SshTransport(SshSettings(Path(known_hosts),
                                         password=os.environ["AIO_SSH_PASSWORD"],
                                         max_parallel=int(concurrency) + 8))
    shared = SharedScans(store, transport, Inventory(entries), concurrency=int(concurrency),
                         holder=holder, lease=float(lease), poll=0.2)
    print("ready", flush=True)
    await shared.work()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
