"""Host keys on record (a known_hosts file) and an SSH client that checks them strictly.

Two costs of paramiko's own lookups matter across a fleet, and both are avoided here:

- parsing known_hosts per connection costs milliseconds a host: the file is parsed once,
  and again only when it changes, into a dict by host name;
- `paramiko.HostKeys.lookup` defines a new MutableMapping class on every call (paramiko 3
  to 5), and `SSHClient.connect` calls it twice: each connection left about a hundred objects
  of cyclic garbage. Scanning 1,008 hosts, the event loop then stopped for 30-110 ms full
  collections in the middle of bursts of slash commands (bench/load.py). `StrictClient`
  hands `connect` the host's keys as a plain mapping instead.

The file is read line by line, as OpenSSH reads it: a line that cannot be parsed is skipped
with a warning naming the file and the line, and the other hosts keep working. A key on an
`@revoked` line is refused for every host, whatever names its line gives (HostKeyRevoked,
naming the host). `@cert-authority` lines are skipped with a warning: paramiko, the bot's SSH
library, does not check host certificates, so each host's own key must be on record.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
from typing import Any, NoReturn

import paramiko
from paramiko.hostkeys import HostKeyEntry, InvalidHostKey

from bot.errors import HostKeyChanged, HostKeyUnknown
from bot.inventory import HostEntry

log = logging.getLogger(__name__)

Keys = dict[str, paramiko.PKey]  # key type (`ssh-ed25519`, ...) -> key
REVOKED, CERT_AUTHORITY = "@revoked", "@cert-authority"


class HostKeyRevoked(HostKeyChanged):
    """The host offered a key that the known_hosts file marks `@revoked`."""


class KeysOnRecord(Keys):
    """A host's keys on record, with the revoked keys of the whole file (their wire bytes),
    which StrictClient refuses whatever the host's own record says."""

    def __init__(self, keys: Keys, revoked: frozenset[bytes] = frozenset()) -> None:
        super().__init__(keys)
        self.revoked = revoked


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

    @property
    def path(self) -> str:
        return self._path

    def keys_for(self, host: HostEntry) -> KeysOnRecord:
        """The keys on record for `host` (empty: none, and the host will be refused)."""
        with self._lock:
            self._refresh()
            return self._records.keys_for(key_name(host))

    def is_revoked(self, key: paramiko.PKey) -> bool:
        with self._lock:
            self._refresh()
            return key.asbytes() in self._records.revoked

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
        self.revoked: frozenset[bytes] = frozenset()

    @classmethod
    def read(cls, path: str) -> _Records:
        records = cls()
        revoked: set[bytes] = set()
        with open(path, encoding="utf-8", errors="replace") as lines:
            for line_no, line in enumerate(lines, 1):
                records._add(line, f"{path}:{line_no}", revoked)
        records.revoked = frozenset(revoked)
        return records

    def _add(self, line: str, where: str, revoked: set[bytes]) -> None:
        text = line.strip()
        if not text or text.startswith("#"):
            return
        parts = text.split(None, 1)
        marker = parts[0] if text.startswith("@") else None
        if marker == CERT_AUTHORITY:
            log.warning("known_hosts %s: @cert-authority line skipped: host certificates are "
                        "not checked (paramiko cannot); put the hosts' own keys on record",
                        where)
            return
        if marker is not None and marker != REVOKED:
            log.warning("known_hosts %s: unknown marker %s; line skipped", where, marker[:40])
            return
        entry = parse_line(parts[-1] if marker else text, where)
        if entry is None:
            return
        if marker == REVOKED:
            revoked.add(entry.key.asbytes())
            return
        for name in entry.hostnames:
            if name.startswith("|1|"):
                self.hashed.append((name, entry.key))
            else:
                self.by_name.setdefault(name, {}).setdefault(entry.key.get_name(), entry.key)

    def keys_for(self, name: str) -> KeysOnRecord:
        keys = dict(self.by_name.get(name, {}))
        for hashed, key in self.hashed:
            if hmac.compare_digest(paramiko.HostKeys.hash_host(name, hashed), hashed):
                keys.setdefault(key.get_name(), key)
        return KeysOnRecord({t: k for t, k in keys.items() if k.asbytes() not in self.revoked},
                            self.revoked)


def parse_line(text: str, where: str) -> HostKeyEntry | None:
    """One known_hosts entry (`names keytype base64`), or None with a warning naming
    `where` (file:line) when it cannot be read."""
    try:  # paramiko splits on single blanks: runs of them would shift the fields
        entry = HostKeyEntry.from_line(" ".join(text.split()))
    except (InvalidHostKey, paramiko.SSHException, ValueError) as err:
        log.warning("known_hosts %s: line skipped: cannot read the key (%s)", where,
                    type(getattr(err, "exc", err)).__name__)
        return None
    if entry is None or entry.key is None:
        log.warning("known_hosts %s: line skipped: not `names keytype key`, or a key type "
                    "this SSH library does not know", where)
        return None
    return entry


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
    """RejectPolicy that says which key it rejected, and whether it is revoked."""

    def __init__(self, host: str, revoked: frozenset[bytes]) -> None:
        self._host = host
        self._revoked = revoked

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> NoReturn:
        if key.asbytes() in self._revoked:
            raise HostKeyRevoked(self._host, key.fingerprint)
        raise HostKeyUnknown(self._host, key.fingerprint)


class StrictClient(paramiko.SSHClient):
    """An SSHClient for one host that knows only that host's keys on record: an unknown
    key is refused (HostKeyUnknown), a different one raises paramiko's BadHostKeyException.

    It replaces the client's two HostKeys objects, which paramiko keeps in private
    attributes (`_system_host_keys`, `_host_keys`; paramiko 3 to 5): tests/test_ssh_transport.py
    and tests/test_openssh.py check that unknown and changed keys are still refused."""

    def __init__(self, host: HostEntry, keys: Keys) -> None:
        super().__init__()
        self._name = host.name
        self._revoked = keys.revoked if isinstance(keys, KeysOnRecord) else frozenset()
        self._system_host_keys = _OneHostKeys(key_name(host), {})
        self._host_keys = _OneHostKeys(key_name(host), keys)
        self.set_missing_host_key_policy(_RejectUnknown(host.name, self._revoked))

    def connect(self, hostname: str, *args: Any, **kwargs: Any) -> Any:
        """SSHClient.connect (its result: with an auth_strategy, the authentication's); a
        revoked key where the host has other keys on record (which paramiko reports as a
        changed key) is HostKeyRevoked."""
        try:
            return super().connect(hostname, *args, **kwargs)
        except paramiko.BadHostKeyException as exc:
            if exc.key.asbytes() not in self._revoked:
                raise
            fingerprint = exc.key.fingerprint
        raise HostKeyRevoked(self._name, fingerprint)
