from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo import DemoFleet
from bot.sim.sshd import SimSshServer
from tests.sshd_helpers import PASSWORD, make_host_dir


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    """A test that runs the CLI in-process (`bot.cli.main` -> `logs.configure`) replaces the
    root logger's handlers and level; put them back after it, so no later test logs through
    its handler or at its level. Two reads and a comparison when nothing changed."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    if root.handlers == handlers and root.level == level:
        return
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


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


# ---- store fixtures (bot/store; tests/test_store_*.py) -------------------------------------
# `pg_server`: one real PostgreSQL per session (tests/pg_helpers.py). `db_url`: a fresh,
# empty database URL, parametrised over sqlite and postgres. `store`: that store, migrated.
from collections.abc import AsyncIterator  # noqa: E402

from bot.store import Store, open_store  # noqa: E402
from tests.needs import require  # noqa: E402
from tests.pg_helpers import PgServer, pg_bin_dir  # noqa: E402


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bin_dir = pg_bin_dir()
    require(None if bin_dir else
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl)")
    assert bin_dir is not None
    server = PgServer.start(bin_dir)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "aio-bot.db")
    server: PgServer = request.getfixturevalue("pg_server")
    return server.fresh_database()


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    opened = open_store(db_url)
    await opened.migrate()
    yield opened
    await opened.close()


# ---- end of store fixtures -----------------------------------------------------------------


# ---- vCenter simulator fixtures (tests/vcsim_helpers.py; tests/test_vsphere_*.py) ----------
# `vcsim_binary`: govmomi's simulator built once per session (cached in .cache/vcsim/).
# `vcsim`: a fresh simulator per test, with its URL parts and certificate file.
from tests.vcsim_helpers import vcsim, vcsim_binary  # noqa: E402, F401

# ---- end of vCenter simulator fixtures -----------------------------------------------------


@pytest.fixture(scope="module")
def fleet() -> Iterator[DemoFleet]:
    """The demo's simulated hosts alone, without the bot's services: for tests that write
    a configuration pointing at them (a test file may define its own `fleet`)."""
    demo = DemoFleet()
    demo.start()
    yield demo
    demo.stop()
