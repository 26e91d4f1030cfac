"""Host keys on record: looked up by name (plain and hashed entries), re-read when the file
changes, and checked on connect without leaving cyclic garbage behind (real SSH)."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from bot.errors import HostKeyUnknown
from bot.esx import ssh_exec
from bot.esx.known_hosts import KnownHosts
from bot.inventory import HostEntry
from bot.sim.sshd import SimSshServer
from tests.sshd_helpers import connect_params, host_entry


def _key_line(name: str, key: paramiko.PKey) -> str:
    return f"{name} {key.get_name()} {key.get_base64()}\n"


def test_plain_and_hashed_entries(tmp_path: Path) -> None:
    plain, hashed, other = (paramiko.Ed25519Key.generate() if hasattr(paramiko.Ed25519Key,
                            "generate") else paramiko.ECDSAKey.generate() for _ in range(3))
    path = tmp_path / "known_hosts"
    secret = paramiko.HostKeys.hash_host("[10.0.0.2]:2222")
    path.write_text(_key_line("10.0.0.1", plain) + _key_line(secret, hashed))
    known = KnownHosts(str(path))
    assert known.keys_for(HostEntry("a", "10.0.0.1")) == {plain.get_name(): plain}
    assert known.keys_for(HostEntry("b", "10.0.0.2", port=2222)) == {hashed.get_name(): hashed}
    assert known.keys_for(HostEntry("c", "10.0.0.3")) == {}
    path.write_text(_key_line("10.0.0.1", other) + "\n")  # replaced: read again
    os.utime(path, ns=(1, 1))
    assert known.keys_for(HostEntry("a", "10.0.0.1")) == {other.get_name(): other}
    path.unlink()
    assert known.keys_for(HostEntry("a", "10.0.0.1")) == {}


@pytest.fixture
def saved_garbage() -> Iterator[list[object]]:
    """gc.garbage gets every object a collection finds unreachable, instead of freeing it."""
    gc.collect()
    flags = gc.get_debug()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(flags)
        gc.garbage.clear()
        gc.collect()


def test_connecting_leaves_no_class_behind(
    sim_server: SimSshServer, known_hosts: Path, saved_garbage: list[object]
) -> None:
    """paramiko's HostKeys.lookup defines a class per call; connect calls it twice."""
    params = connect_params(known_hosts)
    for _ in range(5):
        client = ssh_exec.connect(host_entry(sim_server.name, sim_server.port), params, "x")
        client.close()
    gc.collect()
    classes = [o for o in saved_garbage if issubclass(type(o), type)]
    assert classes == []


def test_unknown_key_is_still_refused(sim_server: SimSshServer, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(HostKeyUnknown):
        ssh_exec.connect(host_entry(sim_server.name, sim_server.port), connect_params(empty), "x")
