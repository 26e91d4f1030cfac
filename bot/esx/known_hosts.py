"""Host keys on record (a known_hosts file) and an SSH client that checks them strictly.

Two costs of paramiko's own lookups matter across a fleet, and both are avoided here:

- parsing known_hosts per connection costs milliseconds a host: the file is parsed once,
  and again only when it changes, into a dict by host name;
- `paramiko.HostKeys.lookup` defines a new MutableMapping class on every call (paramiko 3
  to 5), and `SSHClient.connect` calls it twice: each connection left about a hundred objects
  of cyclic garbage. Scanning 1,008 hosts, the event loop then stopped for 30-110 ms full
  collections in the middle of bursts of slash commands (bench/load.py). `StrictClient`
  hands `connect` the host's keys as a plain mapping instead.
"""

from __future__ import annotations

import hmac
import os
import threading
from typing import NoReturn

import paramiko
from paramiko.hostkeys import HostKeyEntry

from bot.errors import HostKeyUnknown
from bot.inventory import HostEntry

Keys = dict[str, paramiko.PKey]  # key type (`ssh-ed25519`, ...) -> key


def key_name(host: HostEntry) -> str:
    """The name known_hosts and paramiko use for `host`: `addr`, or `[addr]:port`."""
    return host.address if host.port == 22 else f"[{host.address}]:{host.port}"


class KnownHosts:
    """The known_hosts file, read again only when it changes."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._records = _Records()

    def keys_for(self, host: HostEntry) -> Keys:
        """The keys on record for `host` (empty: none, and the host will be refused)."""
        with self._lock:
            self._refresh()
            return self._records.keys_for(key_name(host))

    def _refresh(self) -> None:
        try:
            info = os.stat(self._path)
        except FileNotFoundError:
            self._stamp, self._records = None, _Records()
            return  # no key on record: the policy rejects the host with its fingerprint
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp != self._stamp:
            self._records = _Records.read(self._path)
            self._stamp = stamp


class _Records:
    """known_hosts lines, parsed by paramiko's HostKeyEntry: plain host names in a dict,
    hashed ones (`|1|salt|hash`, from `ssh-keygen -H`) in a list matched by HMAC."""

    def __init__(self) -> None:
        self.by_name: dict[str, Keys] = {}
        self.hashed: list[tuple[str, paramiko.PKey]] = []

    @classmethod
    def read(cls, path: str) -> _Records:
        records = cls()
        with open(path, encoding="utf-8", errors="replace") as lines:
            for line_no, line in enumerate(lines, 1):
                records._add(line, line_no)
        return records

    def _add(self, line: str, line_no: int) -> None:
        if not line.strip() or line.lstrip().startswith("#"):
            return
        try:
            entry = HostKeyEntry.from_line(line, line_no)
        except (paramiko.SSHException, ValueError):  # a key paramiko cannot read: no record
            return
        if entry is None or entry.key is None:
            return
        for name in entry.hostnames:
            if name.startswith("|1|"):
                self.hashed.append((name, entry.key))
            else:
                self.by_name.setdefault(name, {}).setdefault(entry.key.get_name(), entry.key)

    def keys_for(self, name: str) -> Keys:
        keys = dict(self.by_name.get(name, {}))
        for hashed, key in self.hashed:
            if hmac.compare_digest(paramiko.HostKeys.hash_host(name, hashed), hashed):
                keys.setdefault(key.get_name(), key)
        return keys


class _HostKeyList(dict[str, paramiko.PKey]):
    """What `SSHClient.connect` expects of a lookup: a mapping whose keys() is a list."""

    def keys(self) -> list[str]:  # type: ignore[override]
        return list(super().keys())


class _OneHostKeys(paramiko.HostKeys):
    """The keys on record for one host name, looked up without defining a class per call."""

    def __init__(self, name: str, keys: Keys) -> None:
        super().__init__()
        self._name = name
        self._keys = _HostKeyList(keys)

    def lookup(self, hostname: str) -> _HostKeyList | None:  # type: ignore[override]
        return self._keys if hostname == self._name and self._keys else None


class _RejectUnknown(paramiko.RejectPolicy):
    """RejectPolicy that says which key it rejected."""

    def __init__(self, host: str) -> None:
        self._host = host

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> NoReturn:
        raise HostKeyUnknown(self._host, key.fingerprint)


class StrictClient(paramiko.SSHClient):
    """An SSHClient for one host that knows only that host's keys on record: an unknown
    key is refused (HostKeyUnknown), a different one raises paramiko's BadHostKeyException.

    It replaces the client's two HostKeys objects, which paramiko keeps in private
    attributes (`_system_host_keys`, `_host_keys`; paramiko 3 to 5): tests/test_ssh_transport.py
    and tests/test_openssh.py check that unknown and changed keys are still refused."""

    def __init__(self, host: HostEntry, keys: Keys) -> None:
        super().__init__()
        self._system_host_keys = _OneHostKeys(key_name(host), {})
        self._host_keys = _OneHostKeys(key_name(host), keys)
        self.set_missing_host_key_policy(_RejectUnknown(host.name))
