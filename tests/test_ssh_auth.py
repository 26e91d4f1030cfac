"""Password logins over real SSH: keyboard-interactive first (ESXi 8), the `password`
method for servers that only take that, and one plain line when both are refused."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from bot.errors import AuthFailed
from bot.esx import ssh_exec
from bot.esx.known_hosts import KnownHosts, StrictClient
from bot.esx.ssh_auth import KeyboardInteractivePassword, PasswordFirstInteractive
from bot.sim.sshd import SimSshServer
from tests.sshd_helpers import PASSWORD, connect_params, host_entry


class _PasswordOnly(paramiko.ServerInterface):
    """An SSH server that takes the `password` method and nothing else."""

    def __init__(self, methods: list[str]) -> None:
        self.methods = methods

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        self.methods.append("password")
        ok = username == "root" and password == PASSWORD
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED


@pytest.fixture
def password_only(tmp_path: Path) -> Iterator[tuple[int, Path, list[str]]]:
    key = paramiko.ECDSAKey.generate()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {key.get_name()} {key.get_base64()}\n")
    methods: list[str] = []
    transports: list[paramiko.Transport] = []
    stop = threading.Event()
    listener.settimeout(0.1)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = paramiko.Transport(conn)
            t.add_server_key(key)
            t.start_server(server=_PasswordOnly(methods))
            transports.append(t)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port, known, methods
    finally:
        stop.set()
        thread.join(5)
        listener.close()
        for t in transports:
            t.close()


def test_password_method_after_keyboard_interactive(
    password_only: tuple[int, Path, list[str]],
) -> None:
    port, known, methods = password_only
    client = ssh_exec.connect(host_entry("pw", port), connect_params(known, PASSWORD), "x")
    try:
        transport = client.get_transport()
        assert transport is not None and transport.is_authenticated()
    finally:
        client.close()
    assert methods == ["password"]


def test_both_refused_is_one_line_without_the_password(
    password_only: tuple[int, Path, list[str]],
) -> None:
    port, known, _ = password_only
    with pytest.raises(AuthFailed) as err:
        ssh_exec.connect(host_entry("pw", port), connect_params(known, "wrong-Pa55"), "x")
    text = str(err.value)
    assert "\n" not in text and "wrong-Pa55" not in text and "pw" in text


def test_keyboard_interactive_needs_no_password_attempt(
    sim_server: SimSshServer, known_hosts: Path
) -> None:
    """The simulated ESXi host takes keyboard-interactive only: the first try succeeds."""
    host = host_entry(sim_server.name, sim_server.port)
    client = StrictClient(host, KnownHosts(str(known_hosts)).keys_for(host))
    try:
        result = client.connect(host.address, port=host.port, username=host.username,
                                look_for_keys=False, allow_agent=False, timeout=5,
                                auth_strategy=PasswordFirstInteractive(host.username, PASSWORD))
    finally:
        client.close()
    assert [type(r.source).__name__ for r in result] == ["KeyboardInteractivePassword"]
    assert not isinstance(result[0].result, Exception)


def test_the_password_goes_to_one_prompt_only() -> None:
    source = KeyboardInteractivePassword("root", "s3cret")
    assert source._answer("", "", [("Password: ", False)]) == ["s3cret"]
    assert source._answer("", "", []) == []
    with pytest.raises(paramiko.AuthenticationException):
        source._answer("", "", [("Password: ", False), ("OTP: ", True)])
    assert "s3cret" not in repr(source)
