"""govmomi's vCenter simulator for the tests: build tests/vcsim/main.go once, run it.

The binary is built in GOPATH mode from Debian's `golang-go` and
`golang-github-vmware-govmomi-dev` into `.cache/vcsim/` (gitignored), named by a hash of
the Go files in tests/vcsim/ and `go version`, so it is rebuilt only when one changes.
Without the toolchain the tests skip, except with CI=true, where they fail.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from tests.needs import require

ROOT = Path(__file__).resolve().parent.parent
VCSIM_DIR = ROOT / "tests" / "vcsim"
MAIN_GO = VCSIM_DIR / "main.go"
CACHE = ROOT / ".cache" / "vcsim"
GOCODE = Path("/usr/share/gocode")
GOVMOMI = GOCODE / "src" / "github.com" / "vmware" / "govmomi" / "simulator"
HUNG_VM = "DC0_C1_RP0_VM2"  # its RelocateVM_Task never ends (main.go -hang-relocate)
START_TIMEOUT = 20.0
BUILD_TIMEOUT = 600.0


@dataclass(frozen=True)
class Build:
    binary: Path
    seconds: float  # 0.0 when it came from the cache


@dataclass
class VcSim:
    """A running simulator: where it listens, its login and its certificate (PEM file)."""

    host: str
    port: int
    user: str
    password: str
    cert_file: Path
    process: subprocess.Popen[str]

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # main.go exits when stdin closes
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def toolchain_missing() -> str | None:
    """Why the simulator cannot be built here, or None."""
    if shutil.which("go") is None:
        return "Go toolchain not installed (apt-get install golang-go)"
    if not GOVMOMI.is_dir():
        return "govmomi sources not installed (apt-get install golang-github-vmware-govmomi-dev)"
    return None


def require_toolchain() -> None:
    """Skip (locally) or fail (CI=true) when the simulator cannot be built."""
    require(toolchain_missing())


def build() -> Build:
    """The simulator binary, built unless the cache has one for this main.go and Go."""
    go = shutil.which("go")
    assert go is not None
    env = {**os.environ, "GO111MODULE": "off", "GOFLAGS": "", "GOTOOLCHAIN": "local",
           "GOPATH": f"{CACHE / 'gopath'}:{GOCODE}", "GOCACHE": str(CACHE / "gocache")}
    version = subprocess.run([go, "version"], capture_output=True, text=True, check=True,
                             env=env, timeout=30).stdout
    sources = sorted(VCSIM_DIR.glob("*.go"))
    digest = hashlib.sha256(version.encode())
    for source in sources:
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    key = digest.hexdigest()[:16]
    binary = CACHE / f"vcsim-aio-{key}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "build.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build even with parallel test runners
        if binary.exists():
            return Build(binary, 0.0)
        started = time.monotonic()
        tmp = binary.with_name(binary.name + f".{os.getpid()}.tmp")
        result = subprocess.run([go, "build", "-o", str(tmp), *map(str, sources)], cwd=ROOT,
                                env=env, capture_output=True, text=True,
                                timeout=BUILD_TIMEOUT, check=False)
        if result.returncode != 0:
            pytest.fail(f"building the vCenter simulator failed:\n{result.stderr}")
        os.replace(tmp, binary)
        return Build(binary, time.monotonic() - started)


def start(binary: Path, workdir: Path, *extra: str) -> VcSim:
    """Run the simulator; returns once it printed READY."""
    cert = workdir / "vcsim-cert.pem"
    log = open(workdir / "vcsim.log", "w")  # noqa: SIM115  (owned by the process)
    proc = subprocess.Popen([str(binary), "-cert", str(cert), "-hang-relocate", HUNG_VM, *extra],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                            text=True)
    log.close()
    facts: dict[str, str] = {}
    reader = threading.Thread(target=_read_facts, args=(proc, facts), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT)
    url = urlsplit(facts.get("URL", ""))
    if "READY" not in facts or url.scheme != "https" or not url.port:
        proc.kill()
        proc.wait(timeout=5)
        pytest.fail(f"vCenter simulator did not start: {facts} "
                    f"{(workdir / 'vcsim.log').read_text()[-2000:]}")
    return VcSim(url.hostname or "127.0.0.1", url.port, unquote(url.username or ""),
                 unquote(url.password or ""), cert, proc)


def _read_facts(proc: subprocess.Popen[str], facts: dict[str, str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        word, _, rest = line.strip().partition(" ")
        facts[word] = rest
        if word == "READY":
            return


@pytest.fixture(scope="session")
def vcsim_binary() -> Build:
    """The simulator, built once per session (its build time is printed with -rP / -s)."""
    require_toolchain()
    built = build()
    if built.seconds:
        print(f"built the vCenter simulator in {built.seconds:.1f} s: {built.binary}")
    return built


def shape_args(shape: Mapping[str, Any] | None) -> list[str]:
    """The simulator's -shape flag: the model's size and single hosts' state, e.g.
    `{"datacenters": 2, "standalone": 1, "hosts": {"DC0_C0_H1": {"connection":
    "disconnected"}, "DC0_C1_H0": {"lockdown": "lockdownNormal", "exceptions": ["root"],
    "sshRunning": true, "sshPolicy": "on", "gpu": false}}}` (see tests/vcsim/extend.go)."""
    return ["-shape", json.dumps(shape)] if shape else []


@contextmanager
def shaped(binary: Build, workdir: Path, shape: Mapping[str, Any] | None) -> Iterator[VcSim]:
    """A simulator of the given shape (see shape_args) for the block, stopped afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    sim = start(binary.binary, workdir, *shape_args(shape))
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def vcsim(vcsim_binary: Build, tmp_path: Path) -> Iterator[VcSim]:
    """A fresh simulator per test (tests change its state; starting one takes ~0.1 s)."""
    sim = start(vcsim_binary.binary, tmp_path)
    try:
        yield sim
    finally:
        sim.stop()


if __name__ == "__main__":  # scripts/test builds it beside the first tests
    if (missing := toolchain_missing()) is not None:
        raise SystemExit(missing)
    print(f"vCenter simulator: {build().binary}")
