"""The demo fleet's child process (`aio-bot serve --demo`) runs below the bot's CPU priority,
as the SSH workers do: simulated hosts stand in for machines with CPUs of their own."""

from __future__ import annotations

import os

from bot.esx.ssh_workers import WORKER_NICENESS
from bot.sim.fleet_process import FLEET_NICENESS, FleetProcess


async def test_the_fleet_runs_at_the_workers_niceness() -> None:
    assert FLEET_NICENESS == WORKER_NICENESS > 0
    async with FleetProcess() as fleet:
        pid = fleet.child_pid()
        assert pid is not None and fleet.source is not None
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, ours + FLEET_NICENESS)
        assert len(fleet.source.inventory) >= 6  # and it serves its hosts as before
