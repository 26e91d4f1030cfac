"""Collecting and confirming the hosts' SSH host keys: `scan` connects to each host (key
exchange only, no login) and compares the key it offers with the known_hosts file; `add`
writes the new keys (hashed or plain as the file is), and a changed key only for the hosts
named in `replace`. A revoked key is never written."""

from __future__ import annotations

import hmac
import logging
import os
import socket
import tempfile
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import paramiko

from bot.esx.known_hosts import KnownHosts, key_name
from bot.inventory import HostEntry

log = logging.getLogger(__name__)

Status = Literal["new", "same", "CHANGED", "REVOKED", "error"]
_RSA_SHA2 = ("rsa-sha2-512", "rsa-sha2-256")


@dataclass(frozen=True, slots=True)
class ScannedKey:
    """What one host offered, against what the file holds for it."""

    host: str  # the inventory's name
    known_as: str  # the name in known_hosts: `address`, or `[address]:port`
    status: Status
    key_type: str | None = None
    fingerprint: str | None = None  # SHA256:..., as `ssh-keygen -lf` prints it
    on_record: tuple[str, ...] = ()  # fingerprints the file holds for the host
    error: str | None = None
    key: paramiko.PKey | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Added:
    written: tuple[ScannedKey, ...]  # new keys, and changed ones named in `replace`
    refused: tuple[ScannedKey, ...]  # changed keys not named in `replace`; revoked keys
    hashed: bool  # whether the names were written hashed


def scan(hosts: Sequence[HostEntry], known: KnownHosts, *, timeout: float = 10.0,
         parallel: int = 16) -> list[ScannedKey]:
    """Every host's offered key and its status, in the order of `hosts` (blocking; up to
    `parallel` hosts at once, each bounded by `timeout` seconds)."""
    if not hosts:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(hosts))),
                            thread_name_prefix="aio-keyscan") as pool:
        return list(pool.map(lambda h: scan_host(h, known, timeout=timeout), hosts))


def scan_host(host: HostEntry, known: KnownHosts, *, timeout: float = 10.0) -> ScannedKey:
    name = key_name(host)
    record = known.keys_for(host)
    fingerprints = tuple(k.fingerprint for k in record.values())
    if host.connection_state != "connected":  # as vCenter says: do not wait on it
        return ScannedKey(host.name, name, "error", on_record=fingerprints,
                          error=f"vCenter says it is {host.connection_state}")
    try:
        key = _offered_key(host, list(record), timeout)
    except (OSError, EOFError, paramiko.SSHException) as err:
        detail = "timed out" if isinstance(err, (socket.timeout, TimeoutError)) else (
            " ".join(str(err).split()) or type(err).__name__)
        return ScannedKey(host.name, name, "error", on_record=fingerprints,
                          error=f"{host.address}:{host.port}: {detail}")
    status: Status
    if known.is_revoked(key):
        status = "REVOKED"
    elif not record:
        status = "new"
    elif record.get(key.get_name()) == key:
        status = "same"
    else:
        status = "CHANGED"
    return ScannedKey(host.name, name, status, key.get_name(), key.fingerprint, fingerprints,
                      key=key)


def _offered_key(host: HostEntry, types_on_record: list[str], timeout: float) -> paramiko.PKey:
    """The host key the server proves it holds in a key exchange (no authentication),
    asking first for a type on record, as the SSH client does when it connects."""
    sock = socket.create_connection((host.address, host.port), timeout=timeout)
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = timeout
        if types_on_record:
            options = transport.get_security_options()
            first = types_on_record[0]
            wanted = [t for t in _RSA_SHA2 if t in options.key_types] if first == "ssh-rsa" \
                else [first]
            options.key_types = wanted + [t for t in options.key_types if t not in wanted]
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
    finally:
        transport.close()
        sock.close()
    return key


def add(scanned: Sequence[ScannedKey], path: Path, *, replace: Collection[str] = ()) -> Added:
    """Write the new keys to `path`, and the changed keys of the hosts named in `replace`
    (inventory names or known_hosts names, case-insensitive) in place of their old lines.
    Other changed keys and revoked keys are refused; the file is replaced atomically."""
    wanted = {r.lower() for r in replace}
    written: list[ScannedKey] = []
    refused: list[ScannedKey] = []
    for row in scanned:
        if row.key is None or row.status in ("same", "error"):
            continue
        named = row.host.lower() in wanted or row.known_as.lower() in wanted
        if row.status == "new" or (row.status == "CHANGED" and named):
            written.append(row)
        else:
            refused.append(row)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    hashed = _hashed(lines)
    if written:
        gone = {r.known_as for r in written if r.status == "CHANGED"}
        kept = [k for line in lines if (k := _without(line, gone)) is not None]
        new = [_line(r, hashed) for r in written]
        _write(path, kept + new)
    for row in written:
        log.info("known_hosts %s: %s %s %s (%s)", path, "replaced" if row.status == "CHANGED"
                 else "added", row.known_as, row.key_type, row.fingerprint)
    return Added(tuple(written), tuple(refused), hashed)


def _entry_names(line: str) -> list[str] | None:
    """The host names of an entry line; None for comments, blank and marker lines."""
    text = line.strip()
    if not text or text.startswith(("#", "@")):
        return None
    return text.split(None, 1)[0].split(",")


def _hashed(lines: Sequence[str]) -> bool:
    """Whether the file's entries are mostly hashed (`ssh-keygen -H`, HashKnownHosts)."""
    names = [n for line in lines if (n := _entry_names(line))]
    hashed = sum(1 for n in names if n[0].startswith("|1|"))
    return hashed > len(names) - hashed


def _without(line: str, names: Collection[str]) -> str | None:
    """`line` without `names` (plain or hashed); None when no name of its entry is left."""
    entry = _entry_names(line)
    if entry is None:
        return line
    left = [n for n in entry if not _is_one_of(n, names)]
    if len(left) == len(entry):
        return line
    if not left:
        return None
    return ",".join(left) + " " + line.strip().split(None, 1)[1]


def _is_one_of(name: str, names: Collection[str]) -> bool:
    if name.startswith("|1|"):
        return any(hmac.compare_digest(paramiko.HostKeys.hash_host(w, name), name) for w in names)
    return name in names


def _line(row: ScannedKey, hashed: bool) -> str:
    assert row.key is not None
    name = paramiko.HostKeys.hash_host(row.known_as) if hashed else row.known_as
    return f"{name} {row.key.get_name()} {row.key.get_base64()}"


def _write(path: Path, lines: Sequence[str]) -> None:
    """Replace `path` atomically, keeping its mode (0600 for a new file)."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("".join(f"{line}\n" for line in lines))
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
