from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sim.sshd import SimSshServer
from tests.sshd_helpers import PASSWORD, make_host_dir


@pytest.fixture
def host_dir(tmp_path: Path) -> Path:
    """A minimal simulated host directory with stub tools."""
    return make_host_dir(tmp_path / "hosts", "esx01")


@pytest.fixture
def sim_server(host_dir: Path) -> Iterator[SimSshServer]:
    """A running simulated ESXi host (password `PASSWORD`)."""
    with SimSshServer("esx01", host_dir, password=PASSWORD) as server:
        yield server


@pytest.fixture
def known_hosts(tmp_path: Path, sim_server: SimSshServer) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text(sim_server.known_hosts_line() + "\n")
    return path
