"""Runtime.first_delivery on a real SQLite store: repeats are refused, and a store that
cannot answer lets the command run (a lost command is worse than a repeated answer)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.config import Config
from bot.esx.ssh import SshSettings, SshTransport
from bot.gate import Gate
from bot.inventory import Inventory
from bot.services import Services
from bot.slack.runtime import Runtime
from bot.store import Store, open_store


def _runtime(store: Store | None, tmp_path: Path) -> Runtime:
    transport = SshTransport(SshSettings(tmp_path / "known_hosts"))  # never used here
    services = Services(Config(Inventory([])), Inventory([]), transport, Gate(), 1,
                        store=store, clock=lambda: datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    return Runtime(services)


async def test_repeats_refused_and_a_broken_store_lets_it_run(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "aio.db"))
    await store.migrate()
    runtime = _runtime(store, tmp_path)
    assert await runtime.first_delivery("event:Ev1")
    assert not await runtime.first_delivery("event:Ev1")
    assert runtime.metrics.duplicates == 1
    assert await runtime.first_delivery(None)  # nothing to tell repeats by
    await store.close()
    assert await runtime.first_delivery("event:Ev1")  # the store is gone: run it
    assert await _runtime(None, tmp_path).first_delivery("event:Ev2")
