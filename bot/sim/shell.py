"""Run a command line in a simulated host the way the SSH server does (for tests and tools).

The contract: `/var/log/` and `/var/core/` in the line point into the host directory,
`host_dir/bin` comes first on PATH, `AIO_SIM_HOST_DIR` names the host directory, the
working directory is the host directory, and a real `/bin/sh -c` runs the line.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot.sim.files import spawn_gate


def rewrite_paths(command: str, host_dir: Path | str) -> str:
    """Point `/var/log/` and `/var/core/` at the host directory's copies."""
    root = str(Path(host_dir))
    return command.replace("/var/log/", f"{root}/var/log/").replace(
        "/var/core/", f"{root}/var/core/")


def host_env(host_dir: Path | str) -> dict[str, str]:
    """The environment a command on the simulated host runs with."""
    root = str(Path(host_dir))
    return {"PATH": f"{root}/bin:/usr/bin:/bin", "AIO_SIM_HOST_DIR": root, "LC_ALL": "C"}


def run_command(
    host_dir: Path | str, command: str, *, timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run `command` on the simulated host; stdout/stderr captured as text."""
    with spawn_gate.spawning():  # no tool is being written while the child forks
        proc = subprocess.Popen(
            ["/bin/sh", "-c", rewrite_paths(command, host_dir)],
            cwd=str(host_dir), env=host_env(host_dir), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
    with proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
