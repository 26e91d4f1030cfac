"""The container image, as built by scripts/build-image: its filesystem is exported and the bot
runs in it with `chroot` as the image's own user (`podman run` is refused on these machines).

scripts/test-image builds the image and runs this module with AIO_BOT_TEST_IMAGE set; it is
its own step of .ci/run, after the suite. Without AIO_BOT_TEST_IMAGE the module is skipped
(the build takes a minute or two of both cores). In the chroot the bot finds what a container
gives it: the device nodes that `podman export` writes in /dev, and a world-writable /tmp;
nothing is mounted (the bot reads nothing in /proc), so nothing can be left mounted."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.needs import require

ROOT = Path(__file__).resolve().parent.parent
IMAGE = os.environ.get("AIO_BOT_TEST_IMAGE", "")

pytestmark = pytest.mark.skipif(
    not IMAGE, reason="the image is built and tested by scripts/test-image (its own CI step)")


def _podman(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=True,
                          timeout=300, **kw)


@pytest.fixture(scope="module")
def inspect() -> dict[str, Any]:
    require(None if shutil.which("podman") else "podman is not installed")
    require(None if os.geteuid() == 0 else "chroot needs root")
    data: list[dict[str, Any]] = json.loads(_podman("image", "inspect", IMAGE).stdout)
    return data[0]


@pytest.fixture(scope="module")
def rootfs(inspect: dict[str, Any]) -> Iterator[Path]:
    where = Path(tempfile.mkdtemp(prefix="aio-bot-rootfs-"))
    where.chmod(0o755)  # the image's `/`, which mkdtemp made root's alone
    cid = _podman("create", IMAGE, "/bin/true").stdout.strip()
    try:
        export = subprocess.Popen(["podman", "export", cid], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-C", str(where), "-xf", "-"], stdin=export.stdout, check=True,
                       timeout=300)
        assert export.wait(timeout=60) == 0
    finally:
        _podman("rm", cid)
    try:
        yield where
    finally:
        shutil.rmtree(where)


def _user(inspect: dict[str, Any]) -> str:
    return str(inspect["Config"]["User"])


def _env(inspect: dict[str, Any], **extra: str) -> list[str]:
    return [*inspect["Config"]["Env"], *(f"{k}={v}" for k, v in extra.items())]


def _in_image(rootfs: Path, inspect: dict[str, Any], *argv: str,
              **extra: str) -> list[str]:
    """argv as the image runs it: its user, its environment only, its working directory."""
    return ["chroot", f"--userspec={_user(inspect)}", str(rootfs), "/usr/bin/env", "-i",
            "-C", inspect["Config"]["WorkingDir"], *_env(inspect, **extra), *argv]


def _run(rootfs: Path, inspect: dict[str, Any], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_in_image(rootfs, inspect, *argv), capture_output=True, text=True,
                          timeout=120)


def test_the_image_runs_as_a_numeric_non_root_user(inspect: dict[str, Any],
                                                   rootfs: Path) -> None:
    uid, _, gid = _user(inspect).partition(":")
    assert uid.isdigit() and int(uid) != 0, "Kubernetes' runAsNonRoot needs a numeric user"
    passwd = (rootfs / "etc" / "passwd").read_text()
    assert f"aio-bot:x:{uid}:{gid}:" in passwd
    # The program is root's: the bot cannot rewrite itself.
    venv = rootfs / "opt" / "aio-bot"
    assert venv.stat().st_uid == 0 and not venv.stat().st_mode & 0o022
    assert (rootfs / "tmp").stat().st_mode & 0o1777 == 0o1777


def test_the_demo_prints_the_ranked_table(inspect: dict[str, Any], rootfs: Path) -> None:
    done = _run(rootfs, inspect, "aio-bot", "demo", "top", "host01")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("host01  ESXi 8.0.3")
    # the demo has a vCenter stand-in: its vGPU profile and power columns may follow CHAR
    table = re.search(r"^ *# +VM +cartel +world +vmgfx +CHAR.*\n[- ]+\n((?: *\d+ .*\n)+)",
                      done.stdout, re.MULTILINE)
    assert table, done.stdout
    ranked = [line.split() for line in table.group(1).splitlines()]
    assert [row[0] for row in ranked] == [str(i) for i in range(1, len(ranked) + 1)]
    assert ranked[0][1] == "ml-train-a100-06"
    vmgfx = [[int(t) for t in row[2:] if t.isdigit()][-2] for row in ranked]
    assert vmgfx == sorted(vmgfx, reverse=True)  # by vmgfx handles
    assert "host01 is CRITICAL" in done.stdout


def test_version(inspect: dict[str, Any], rootfs: Path) -> None:
    version = inspect["Config"]["Labels"]["org.opencontainers.image.version"]
    done = _run(rootfs, inspect, "aio-bot", "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"aio-bot {version}"


def test_migrate_runs_as_the_init_container_runs_it(inspect: dict[str, Any],
                                                    rootfs: Path) -> None:
    """deploy/kubernetes runs `aio-bot migrate` first (here on a SQLite file in /tmp)."""
    done = subprocess.run(_in_image(rootfs, inspect, "aio-bot", "migrate",
                                    AIO_BOT_DB="/tmp/aio-bot-migrate.db"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout


def test_the_c_counter_is_compiled_and_no_compiler_is_left(inspect: dict[str, Any],
                                                           rootfs: Path) -> None:
    done = _run(rootfs, inspect, "python3", "-c",
                "import bot.esx._lsofcount as m; print(m.__file__)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(".so")
    for tool in ("cc", "gcc", "x86_64-linux-gnu-gcc-12", "ld", "make", "pip", "pip3"):
        for where in ("usr/bin", "opt/aio-bot/bin"):
            assert not (rootfs / where / tool).exists(), f"/{where}/{tool} is in the image"


def test_no_secret_is_baked_in(inspect: dict[str, Any]) -> None:
    names = {e.partition("=")[0] for e in inspect["Config"]["Env"]}
    assert not names & {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
                        "AIO_SSH_PASSWORD", "AIO_VCENTER_PASSWORD", "AIO_BOT_DB"}
    assert "AIO_BOT_CONFIG=/etc/aio-bot/aio-bot.toml" in inspect["Config"]["Env"]
    assert inspect["Config"]["Cmd"] == ["aio-bot", "serve"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_healthcheck_passes_against_aio_bot_serve(inspect: dict[str, Any],
                                                      rootfs: Path) -> None:
    """The image's own HEALTHCHECK command (kept by --format docker) against `serve --demo`,
    with /tmp the only writable place, as in deploy/kubernetes (readOnlyRootFilesystem)."""
    check = inspect["Healthcheck"]["Test"]
    assert check[0] == "CMD" and "/healthz" in " ".join(check)
    home = rootfs / inspect["Config"]["WorkingDir"].lstrip("/")
    home.chmod(0o555)
    port = str(_free_port())
    secrets = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "test-secret",
               "SLACK_API_URL": "http://127.0.0.1:9/api/", "PORT": port}
    server = subprocess.Popen(
        _in_image(rootfs, inspect, "aio-bot", "serve", "--demo", "--host", "127.0.0.1",
                  **secrets),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            probe = subprocess.run(_in_image(rootfs, inspect, *check[1:], PORT=port),
                                   capture_output=True, text=True, timeout=30)
            if probe.returncode == 0:
                break
            assert server.poll() is None, server.communicate()[0]
            assert time.monotonic() < deadline, probe.stderr
            time.sleep(0.5)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        home.chmod(0o755)
