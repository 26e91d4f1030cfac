"""Find the captures `aio-bot analyze` reads in an ESXi support bundle (vm-support), as a
`.tgz` or unpacked into a directory.

The layout (see tests/fixtures/SOURCES.md): one top directory, under it `commands/` with one
file per command that vm-support ran (`localcli_vm-process-list.txt`,
`localcli_system-settings-kernel-list--d.txt`, `vmware_-vl.txt`, `vmkvsitools_lsof.txt`, the
last sometimes split into `vmkvsitools_lsof.txt.FRAG-NNNNN` parts) and the host's logs under
`var/run/log/` (`var/log/` on newer hosts): `vmkernel.log`, `hostd.log`, `vobd.log` and their
gzipped rotations `vmkernel.0.gz`, ... The kernel list vm-support takes is `-d` (only the
settings that differ from their default): a missing row there is not a missing setting.
"""

from __future__ import annotations

import re
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import UsageError
from bot.esx.records import CaptureFile

_COMMANDS = {
    "lsof": re.compile(r"commands/vmkvsitools_lsof\.txt(?:\.FRAG-(?P<frag>\d+))?"),
    "vm_list": re.compile(r"commands/(?:localcli|esxcli)_vm-process-list\.txt"),
    "kernel": re.compile(r"commands/(?:localcli|esxcli)_system-settings-kernel-list(?P<d>--d)?"
                         r"\.txt"),
    "version": re.compile(r"commands/(?:vmware_-vl|(?:localcli|esxcli)_system-version-get)\.txt"),
}
_LOGS = {
    "vmkernel_logs": re.compile(r"var/(?:run/)?log/vmkernel(?:\.(?P<n>\d+)\.gz|\.log)"),
    "hostd_logs": re.compile(r"var/(?:run/)?log/hostd(?:\.(?P<n>\d+)\.gz|\.log)"),
    "vobd_logs": re.compile(r"var/(?:run/)?log/vobd(?:\.(?P<n>\d+)\.gz|\.log)"),
}
KINDS = (*_COMMANDS, *_LOGS)
MAX_MEMBER = 4 << 30


@dataclass
class BundleFiles:
    """The captures found, and the notes on what was looked for."""

    root: Path
    found: dict[str, list[Path]] = field(default_factory=dict)
    kernel_is_delta: bool = False
    aliases: dict[Path, str] = field(default_factory=dict)

    def one(self, kind: str) -> Path | None:
        paths = self.found.get(kind)
        return paths[0] if paths else None

    def shown(self, path: Path) -> str:
        """The path as the bundle names it."""
        if path in self.aliases:
            return self.aliases[path]
        return path.relative_to(self.root).as_posix()

    def notes(self) -> tuple[CaptureFile, ...]:
        out = []
        for kind in KINDS:
            paths = self.found.get(kind)
            out += [CaptureFile(kind, self.shown(p)) for p in paths] if paths else [
                CaptureFile(kind, None)]
        return tuple(out)


@contextmanager
def open_bundle(path: Path) -> Iterator[BundleFiles]:
    """The bundle's captures; a `.tgz` is unpacked (only the files needed) for the duration."""
    with tempfile.TemporaryDirectory(prefix="aio-bundle-") as tmp:
        scratch = Path(tmp)
        if path.is_dir():
            names = [p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()]
            yield find(path, names, scratch)
        elif path.is_file():
            root = scratch / "bundle"
            yield find(root, _unpack(path, root), scratch)
        else:
            raise UsageError(f"There is no support bundle {path}.")


def _unpack(path: Path, into: Path) -> list[str]:
    try:
        with tarfile.open(path, "r:*") as tar:
            names = []
            for member in tar:
                name = _wanted(member)
                if name is None:
                    continue
                source = tar.extractfile(member)
                if source is None:
                    continue
                target = into / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with source, target.open("wb") as out:
                    while chunk := source.read(1 << 20):
                        out.write(chunk)
                names.append(name)
            return names
    except (tarfile.TarError, OSError, EOFError) as err:
        raise UsageError(f"Cannot read the support bundle {path}: {err}.") from None


def _wanted(member: tarfile.TarInfo) -> str | None:
    """The member's safe relative name when it is a capture we read, else None."""
    name = member.name.lstrip("./")
    parts = name.split("/")
    if not member.isfile() or ".." in parts or member.size > MAX_MEMBER:
        return None
    return name if _kind(name) is not None else None


def _kind(name: str) -> tuple[str, re.Match[str]] | None:
    for kind, pattern in (*_COMMANDS.items(), *_LOGS.items()):
        match = pattern.search(name)
        if match and match.end() == len(name) and _at_boundary(name, match.start()):
            return kind, match
    return None


def _at_boundary(name: str, start: int) -> bool:
    return start == 0 or name[start - 1] == "/"


def find(root: Path, names: list[str], scratch: Path) -> BundleFiles:
    """Sort the bundle's files (names relative to `root`) into the captures we read;
    `scratch` is a directory for the lsof output put back together from its parts."""
    files = BundleFiles(root)
    frags: list[tuple[int, Path]] = []
    logs: dict[str, list[tuple[int, Path]]] = {}
    for name in sorted(names):
        found = _kind(name)
        if found is None:
            continue
        kind, match = found
        path = root / name
        if kind == "lsof" and match["frag"] is not None:
            frags.append((int(match["frag"]), path))
        elif kind in _LOGS:
            order = -1 if match["n"] is None else int(match["n"])
            logs.setdefault(kind, []).append((order, path))
        elif kind == "kernel":
            _kernel(files, path, match["d"] is not None)
        else:
            files.found.setdefault(kind, []).append(path)
    if frags and "lsof" not in files.found:
        joined = _joined(scratch, sorted(frags))
        first = frags[0][1].relative_to(root).as_posix()
        files.aliases[joined] = first.rpartition(".FRAG-")[0]
        files.found["lsof"] = [joined]
    for kind, entries in logs.items():  # oldest rotation first, the live log last
        files.found[kind] = [p for _, p in sorted(entries, key=lambda e: -e[0])]
    return files


def _kernel(files: BundleFiles, path: Path, delta: bool) -> None:
    """Prefer a full kernel list to the `-d` (delta) one."""
    if "kernel" not in files.found or files.kernel_is_delta:
        files.found["kernel"] = [path]
        files.kernel_is_delta = delta


def _joined(scratch: Path, frags: list[tuple[int, Path]]) -> Path:
    """The FRAG parts put back together, as vm-support's own reconstruct script does."""
    target = scratch / "joined" / "commands" / "vmkvsitools_lsof.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        for _, part in frags:
            out.write(part.read_bytes())
    return target
