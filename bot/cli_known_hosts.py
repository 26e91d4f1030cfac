"""`aio-bot known-hosts scan|add`: collect the hosts' SSH host keys with their SHA256
fingerprints, compare them with the known_hosts file, and write the confirmed ones.

`scan [HOST…|all]` prints each host's key type and fingerprint beside what the file holds
(new / same / CHANGED / REVOKED). `add [HOST…|all] --yes` scans again and writes the new
keys; a changed key only with `--replace HOST` (after checking it out of band). Nothing
here logs in: only the key exchange runs. Imports paramiko only when the action runs."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from bot.esx.host_keys_scan import Added, ScannedKey
    from bot.inventory import HostEntry, Inventory

_CHECK = ("Compare each fingerprint with the one the host shows on its own console (e.g. "
          "`ssh-keygen -lf /etc/ssh/ssh_host_ecdsa_key.pub` in the ESXi Shell) before adding.")


def add_known_hosts_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                           common: argparse.ArgumentParser) -> None:
    kh = sub.add_parser("known-hosts", parents=[common],
                        help="collect and confirm the hosts' SSH host keys (SHA256 fingerprints)")
    actions = kh.add_subparsers(dest="known_hosts_action", required=True, metavar="ACTION")
    scan = actions.add_parser("scan", parents=[common],
                              help="show each host's key and fingerprint beside the file's")
    add = actions.add_parser("add", parents=[common],
                             help="write the new keys to the known_hosts file (with --yes)")
    for p in (scan, add):
        p.add_argument("hosts", nargs="*", metavar="HOST",
                       help="host names from the inventory, or `all` (the default)")
        p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                       help="per host (default [ssh] connect_timeout)")
    add.add_argument("--yes", action="store_true",
                     help="write them; without it, only show what would be written")
    add.add_argument("--replace", action="append", default=[], metavar="HOST",
                     help="also replace HOST's CHANGED key (repeatable); check it first")
    kh.set_defaults(handler=known_hosts)


def known_hosts(args: argparse.Namespace) -> int:
    """The action, on the configured inventory (hosts from vCenter with
    `[inventory] source = "vcenter"|"both"`) and [ssh] settings."""
    import asyncio

    from bot.config import load_config
    from bot.services import configured_inventory

    config = load_config()
    timeout = args.timeout or config.ssh.connect_timeout
    inventory = asyncio.run(configured_inventory(config))  # from vCenter if so configured
    return run(args, inventory, config.ssh.known_hosts, timeout=timeout,
               parallel=config.ssh.max_parallel)


def run(args: argparse.Namespace, inventory: Inventory, path: Path, *, timeout: float,
        parallel: int = 16, out: TextIO = sys.stdout) -> int:
    """`known-hosts scan|add` on `inventory` and the known_hosts file at `path`.
    Exit status: 0 done; 1 a host could not be scanned, or a key is CHANGED or REVOKED (and
    was not replaced); 2 `add` without --yes, or --replace naming a host not scanned."""
    from bot.errors import UsageError
    from bot.esx import host_keys_scan
    from bot.esx.known_hosts import KnownHosts

    hosts = _selected(inventory, args.hosts)
    replace = list(getattr(args, "replace", []))
    names = {h.name.lower() for h in hosts}
    if unknown := [r for r in replace if r.lower() not in names]:
        raise UsageError(f"--replace {unknown[0]}: not among the hosts scanned.")
    rows = host_keys_scan.scan(hosts, KnownHosts(str(path)), timeout=timeout, parallel=parallel)
    if args.known_hosts_action == "scan":
        _print(out, args.format, rows, None, path)
        return 1 if any(r.status in ("CHANGED", "REVOKED", "error") for r in rows) else 0
    if not args.yes:
        _print(out, args.format, rows, None, path, dry_run=True)
        return 2
    added = host_keys_scan.add(rows, path, replace=replace)
    _print(out, args.format, rows, added, path)
    failed = added.refused or any(r.status == "error" for r in rows)
    return 1 if failed else 0


def _selected(inventory: Inventory, words: Sequence[str]) -> list[HostEntry]:
    if not words or [w.lower() for w in words] == ["all"]:
        return list(inventory)
    return [inventory.get(w) for w in dict.fromkeys(words)]


def _print(out: TextIO, fmt: str, rows: Sequence[ScannedKey], added: Added | None,
           path: Path, *, dry_run: bool = False) -> None:
    if fmt == "json":
        doc: dict[str, Any] = {"known_hosts": str(path), "hosts": [_row(r) for r in rows]}
        if added is not None:
            doc["written"] = [r.host for r in added.written]
            doc["refused"] = [r.host for r in added.refused]
            doc["hashed"] = added.hashed
        print(json.dumps(doc, indent=2), file=out)
        return
    _table(out, rows)
    for line in _notes(rows, added, path, dry_run):
        print(line, file=out)


def _row(r: ScannedKey) -> dict[str, Any]:
    return {"host": r.host, "known_as": r.known_as, "key_type": r.key_type,
            "fingerprint": r.fingerprint, "status": r.status, "on_record": list(r.on_record),
            "error": r.error}


def _table(out: TextIO, rows: Sequence[ScannedKey]) -> None:
    cells = [("HOST", "ADDRESS", "KEY TYPE", "FINGERPRINT", "STATUS")]
    for r in rows:
        cells.append((r.host, r.known_as, r.key_type or "-", r.fingerprint or r.error or "-",
                      r.status))
        if r.status == "CHANGED":
            cells += [("", "", "on record:", fp, "") for fp in r.on_record]
    widths = [max(len(c[i]) for c in cells) for i in range(5)]
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip(), file=out)


def _notes(rows: Sequence[ScannedKey], added: Added | None, path: Path,
           dry_run: bool) -> list[str]:
    notes = []
    new = [r.host for r in rows if r.status == "new"]
    changed = [r.host for r in rows if r.status == "CHANGED"]
    if added is not None:
        if added.written:
            notes.append(f"Wrote {len(added.written)} key(s) to {path} "
                         f"({'hashed' if added.hashed else 'plain'} names).")
        elif not added.refused:
            notes.append(f"Nothing to write: {path} already holds every key scanned.")
        changed = [r.host for r in added.refused if r.status == "CHANGED"]
    elif new:
        verb = "would write" if dry_run else "can write"
        notes.append(f"{len(new)} new key(s); `aio-bot known-hosts add {' '.join(new)} --yes` "
                     f"{verb} them to {path}. {_CHECK}")
    if changed:
        notes.append(f"CHANGED: {', '.join(changed)} offer a different key than the one on "
                     "record. This is what an attack looks like, and also what a reinstalled "
                     "host looks like: check it with the host's admin, then add it with "
                     f"`--replace {changed[0]}`.")
    if revoked := [r.host for r in rows if r.status == "REVOKED"]:
        notes.append(f"REVOKED: {', '.join(revoked)} offer a key {path} marks @revoked; it is "
                     "never written.")
    if errors := [r.host for r in rows if r.status == "error"]:
        notes.append(f"Could not scan: {', '.join(errors)}.")
    return notes
