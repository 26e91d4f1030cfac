"""The Quickstart's scripts pass the right things on: run for real by bash, with a stand-in
venv whose `python` and `aio-bot` record how they were called (no pip, no network)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _stand_in_venv(venv: Path) -> Path:
    log = venv / "calls.log"
    (venv / "bin").mkdir(parents=True)
    for tool in ("python", "aio-bot"):
        script = venv / "bin" / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n')
        script.chmod(0o755)
    return log


def test_demo_installs_no_extras_and_passes_the_command_on(tmp_path: Path) -> None:
    log = _stand_in_venv(tmp_path / "venv")
    env = {**os.environ, "AIO_BOT_VENV": str(tmp_path / "venv")}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "demo"), "top", "host01"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert calls[0].startswith("python -m pip install")
    assert calls[0].endswith(f"-e {ROOT}")  # not `-e ROOT[top]`: the words are not extras
    assert calls[1] == "aio-bot demo top host01"
    assert (tmp_path / "venv" / ".aio-bot-installed").is_file()


def test_bootstrap_reinstalls_when_the_c_counter_changes(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    log = _stand_in_venv(venv)
    env = {**os.environ, "AIO_BOT_VENV": str(venv)}
    demo = ["bash", str(ROOT / "scripts" / "demo"), "help"]
    subprocess.run(demo, env=env, check=True, capture_output=True, timeout=60)
    subprocess.run(demo, env=env, check=True, capture_output=True, timeout=60)
    assert sum("pip install" in c for c in log.read_text().splitlines()) == 1
    stamp = venv / ".aio-bot-installed"
    older = (ROOT / "bot" / "esx" / "_lsofcount.c").stat().st_mtime - 10
    os.utime(stamp, (older, older))
    subprocess.run(demo, env=env, check=True, capture_output=True, timeout=60)
    assert sum("pip install" in c for c in log.read_text().splitlines()) == 2
