"""Host keys on record: looked up by name (plain and hashed entries), re-read when the file
changes, and checked on connect without leaving cyclic garbage behind (real SSH)."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from bot.errors import HostKeyChanged, HostKeyUnknown
from bot.esx import ssh_exec
from bot.esx.known_hosts import HostKeyRevoked, KnownHosts
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


# --- line by line: junk, @revoked, @cert-authority (issue 11) ---------------------------------

def _second_server(tmp_path: Path, name: str, key: paramiko.PKey | None = None) -> SimSshServer:
    from tests.sshd_helpers import PASSWORD, make_host_dir

    return SimSshServer(name, make_host_dir(tmp_path / "more", name), password=PASSWORD,
                        host_key=key)


def test_bad_lines_are_skipped_and_revoked_keys_refused(
    sim_server: SimSshServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A junk line, a key that is not base64, a @cert-authority line and a @revoked key: the
    good host still connects, the host offering the revoked key is refused by name."""
    ca = paramiko.ECDSAKey.generate()
    with _second_server(tmp_path, "esx02") as revoked_host:
        good, bad = (host_entry(s.name, s.port) for s in (sim_server, revoked_host))
        path = tmp_path / "known_hosts"
        path.write_text(
            "this is not a known_hosts line\n"
            f"[127.0.0.1]:{revoked_host.port} ecdsa-sha2-nistp256 !!!not-base64!!!\n"
            f"@cert-authority *.example.com {ca.get_name()} {ca.get_base64()}\n"
            f"@revoked * {_key_line('', revoked_host.host_key).strip()}\n"
            "@unheard-of host ssh-ed25519 AAAA\n"
            + sim_server.known_hosts_line() + "\n"
            + revoked_host.known_hosts_line() + "\n")  # listed too: revoked still wins
        with caplog.at_level("WARNING", logger="bot.esx.known_hosts"):
            client = ssh_exec.connect(good, connect_params(path), "x")
        client.close()
        for line_no in (1, 2, 3, 5):
            assert f"{path}:{line_no}" in caplog.text
        assert "@cert-authority" in caplog.text and "Traceback" not in caplog.text
        with pytest.raises(HostKeyRevoked) as err:
            ssh_exec.connect(bad, connect_params(path), "x")
        text = str(err.value)
        assert "esx02" in text and "revoked" in text and revoked_host.host_key.fingerprint in text
        assert isinstance(err.value, HostKeyChanged)  # refused wherever changed keys are
        assert KnownHosts(str(path)).keys_for(bad) == {}


def test_revoked_key_where_another_key_is_on_record(sim_server: SimSshServer,
                                                    tmp_path: Path) -> None:
    """paramiko sees a different key than the one on record: still reported as revoked."""
    other = paramiko.ECDSAKey.generate()
    path = tmp_path / "known_hosts"
    host = host_entry(sim_server.name, sim_server.port)
    path.write_text(f"@revoked * {_key_line('', sim_server.host_key).strip()}\n"
                    + _key_line(f"[127.0.0.1]:{sim_server.port}", other))
    with pytest.raises(HostKeyRevoked, match="esx01"):
        ssh_exec.connect(host, connect_params(path), "x")


def test_revoked_refusal_leaves_no_class_behind(
    sim_server: SimSshServer, tmp_path: Path, saved_garbage: list[object]
) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(f"@revoked * {_key_line('', sim_server.host_key).strip()}\n"
                    + sim_server.known_hosts_line() + "\n")
    for _ in range(3):
        with pytest.raises(HostKeyRevoked):
            ssh_exec.connect(host_entry(sim_server.name, sim_server.port),
                             connect_params(path), "x")
    gc.collect()
    assert [o for o in saved_garbage if issubclass(type(o), type)] == []
