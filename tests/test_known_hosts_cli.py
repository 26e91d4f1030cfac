"""`aio-bot known-hosts scan|add` against simulated ESXi hosts (bot.sim, real SSH servers)
and OpenSSH's sshd: fingerprints as ssh-keygen prints them, new / same / CHANGED / REVOKED,
plain and hashed files, a changed key refused without --replace."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest

from bot.cli_known_hosts import add_known_hosts_parser, run
from bot.errors import UsageError
from bot.esx import ssh_exec
from bot.inventory import HostEntry, Inventory
from bot.sim.sshd import SimSshServer
from tests.sshd_helpers import PASSWORD, connect_params, host_entry, make_host_dir
from tests.test_openssh import OpenSshd, sshd  # noqa: F401  (the sshd fixture)


def parse(*words: str) -> argparse.Namespace:
    """As bot.cli builds it: --format anywhere, its default given once, at the top."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--format", choices=("table", "json"), default=argparse.SUPPRESS)
    parser = argparse.ArgumentParser(prog="aio-bot")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    add_known_hosts_parser(parser.add_subparsers(dest="action", required=True), common)
    return parser.parse_args(["known-hosts", *words])


def cli(inventory: Inventory, path: Path, *words: str) -> tuple[int, str]:
    out = io.StringIO()
    status = run(parse(*words), inventory, path, timeout=5.0, out=out)
    return status, out.getvalue()


@pytest.fixture
def fleet(sim_server: SimSshServer, tmp_path: Path) -> Iterator[list[SimSshServer]]:
    with SimSshServer("esx02", make_host_dir(tmp_path / "more", "esx02"), password=PASSWORD,
                      host_key=paramiko.Ed25519Key.generate() if hasattr(
                          paramiko.Ed25519Key, "generate") else None) as second:
        yield [sim_server, second]


def inventory_of(servers: list[SimSshServer], **extra: Any) -> Inventory:
    return Inventory([host_entry(s.name, s.port) for s in servers]
                     + [HostEntry(n, "127.0.0.1", 9, **kw) for n, kw in extra.items()])


def statuses(output: str) -> dict[str, str]:
    return {h["host"]: h["status"] for h in json.loads(output)["hosts"]}


def test_scan_then_add(fleet: list[SimSshServer], tmp_path: Path) -> None:
    inv, path = inventory_of(fleet), tmp_path / "known_hosts"
    status, out = cli(inv, path, "scan")
    assert status == 0
    for server in fleet:
        assert server.host_key.fingerprint in out and server.host_key.get_name() in out
    assert [line.split()[-1] for line in out.splitlines()[1:3]] == ["new", "new"]
    assert "known-hosts add esx01 esx02 --yes" in out
    assert not path.exists()

    status, out = cli(inv, path, "add", "all")  # no --yes: nothing written
    assert status == 2 and "would write" in out and not path.exists()

    status, out = cli(inv, path, "add", "--yes")
    assert status == 0 and "Wrote 2 key(s)" in out and "plain" in out
    assert path.stat().st_mode & 0o777 == 0o600
    for server in fleet:  # now the real client connects
        ssh_exec.connect(host_entry(server.name, server.port), connect_params(path), "x").close()
    status, out = cli(inv, path, "--format", "json", "scan", "esx02")
    assert status == 0 and statuses(out) == {"esx02": "same"}


def test_hashed_file_stays_hashed(fleet: list[SimSshServer], tmp_path: Path) -> None:
    first, second = fleet
    path = tmp_path / "known_hosts"
    name = paramiko.HostKeys.hash_host(f"[127.0.0.1]:{first.port}")
    path.write_text(f"{name} {first.host_key.get_name()} {first.host_key.get_base64()}\n")
    status, out = cli(inventory_of(fleet), path, "--format", "json", "add", "--yes")
    assert status == 0 and statuses(out) == {"esx01": "same", "esx02": "new"}
    assert json.loads(out)["hashed"] is True
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and all(line.startswith("|1|") for line in lines)
    ssh_exec.connect(host_entry(second.name, second.port), connect_params(path), "x").close()


def test_changed_key_needs_replace(fleet: list[SimSshServer], tmp_path: Path) -> None:
    first, second = fleet
    old = paramiko.ECDSAKey.generate()
    path = tmp_path / "known_hosts"
    path.write_text("# kept\n" + first.known_hosts_line() + "\n"
                    + f"[127.0.0.1]:{second.port},esx02.example.com {old.get_name()} "
                      f"{old.get_base64()}\n")
    inv = inventory_of(fleet)
    status, out = cli(inv, path, "scan")
    assert status == 1 and "CHANGED" in out and old.fingerprint in out
    assert "--replace esx02" in out
    before = path.read_text()
    status, out = cli(inv, path, "add", "--yes")
    assert status == 1 and path.read_text() == before  # refused, nothing written
    with pytest.raises(UsageError):
        cli(inv, path, "add", "esx01", "--yes", "--replace", "esx02")  # esx02 not scanned
    status, out = cli(inv, path, "add", "--yes", "--replace", "esx02")
    assert status == 0 and "Wrote 1 key(s)" in out
    text = path.read_text()
    assert old.get_base64() in text  # still there for the other name on its line...
    assert f"[127.0.0.1]:{second.port}," not in text  # ...but not for this host
    assert text.startswith("# kept\n" + first.known_hosts_line())
    ssh_exec.connect(host_entry(second.name, second.port), connect_params(path), "x").close()


def test_revoked_key_is_never_written(fleet: list[SimSshServer], tmp_path: Path) -> None:
    first = fleet[0]
    path = tmp_path / "known_hosts"
    path.write_text(f"@revoked * {first.host_key.get_name()} {first.host_key.get_base64()}\n")
    inv = inventory_of(fleet)
    status, out = cli(inv, path, "--format", "json", "scan")
    assert status == 1 and statuses(out) == {"esx01": "REVOKED", "esx02": "new"}
    status, out = cli(inv, path, "add", "--yes", "--replace", "esx01")
    assert status == 1 and "REVOKED: esx01" in out
    assert first.host_key.get_base64() not in path.read_text().split("\n", 1)[1]


def test_unreachable_and_disconnected_hosts(fleet: list[SimSshServer], tmp_path: Path) -> None:
    inv = inventory_of(fleet[:1], down={}, gone={"connection_state": "disconnected"})
    status, out = cli(inv, tmp_path / "known_hosts", "--format", "json", "scan")
    rows = {h["host"]: h for h in json.loads(out)["hosts"]}
    assert status == 1 and rows["esx01"]["status"] == "new"
    assert rows["down"]["status"] == "error" and "127.0.0.1:9" in rows["down"]["error"]
    assert rows["gone"]["error"] == "vCenter says it is disconnected"


def test_openssh(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    server: OpenSshd = request.getfixturevalue("sshd")
    inv, path = Inventory([server.host]), tmp_path / "known_hosts"
    status, out = cli(inv, path, "--format", "json", "scan")
    row = json.loads(out)["hosts"][0]
    assert status == 0 and row["status"] == "new" and row["key_type"] == "ssh-ed25519"
    assert row["fingerprint"] == server.host_key_fingerprint  # as ssh-keygen -l prints it
    assert cli(inv, path, "add", "--yes")[0] == 0
    assert path.read_text().split()[1:] == server.known_hosts.read_text().split()[1:]
    assert statuses(cli(inv, path, "--format", "json", "scan")[1]) == {"esx-openssh": "same"}
