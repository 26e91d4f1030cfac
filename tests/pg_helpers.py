"""A real, throwaway PostgreSQL server for the store tests.

`PgServer.start()` finds `initdb`/`pg_ctl` under /usr/lib/postgresql/*/bin, initialises a
cluster in a temporary directory, starts it on 127.0.0.1 with a free port (and its unix socket
in the same directory), and creates a password-authenticated role. initdb and postgres refuse
to run as root, so as root they run as the `postgres` system user (created if absent)."""

from __future__ import annotations

import glob
import os
import pwd
import queue
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import psycopg

ROLE = "aio"
RUN_AS = "postgres"
PASSWORD = "pg-" + secrets.token_hex(12)  # asserted never to leak into logs or errors
AHEAD = 2  # empty databases kept ready for the next tests


def pg_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/sh",
                        RUN_AS], check=True)
    return ["runuser", "-u", RUN_AS, "--"]


class PgServer:
    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="aio-bot-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._prefix = _as_postgres()
        self._counter = 0
        self._ready: queue.Queue[str] = queue.Queue()
        self._wanted = threading.Semaphore(0)  # databases to create ahead
        self._stopping = threading.Event()
        self._filler: threading.Thread | None = None

    @classmethod
    def start(cls, bin_dir: Path) -> PgServer:
        server = cls(bin_dir)
        try:
            server._init()
            server._launch_retrying()
            server._create_role()
        except BaseException:
            server.stop()
            raise
        return server

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._prefix, *args], capture_output=True, text=True,
                              timeout=60, check=False)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stdout}"
                               f"{done.stderr}{tail}")

    def _init(self) -> None:
        self.root.chmod(0o755)
        if self._prefix:
            shutil.chown(self.root, RUN_AS, RUN_AS)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                  "--no-sync")

    def _launch(self) -> None:
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} "
                f"-c unix_socket_directories={self.root} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.root / "server.log"), "-o", opts, "-w", "-t", "30", "start")

    def _launch_retrying(self, attempts: int = 3) -> None:
        for attempt in range(attempts):  # the free port may be taken before we bind it
            try:
                return self._launch()
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
                self.port = _free_port()

    def admin(self) -> psycopg.Connection[Any]:
        """A superuser connection over the unix socket (trust), autocommit."""
        return psycopg.connect(host=str(self.root), port=self.port, user="postgres",
                               dbname="postgres", autocommit=True, connect_timeout=5)

    def _create_role(self) -> None:
        with self.admin() as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
            conn.execute(f"CREATE DATABASE {ROLE} OWNER {ROLE}")

    def url(self, dbname: str = ROLE, password: str = PASSWORD) -> str:
        return f"postgresql://{ROLE}:{password}@127.0.0.1:{self.port}/{dbname}"

    def fresh_database(self) -> str:
        """A new empty database owned by the role; its URL (with the password). A thread
        creates the next ones ahead (CREATE DATABASE copies a template: about half a second
        on a busy machine), so a test rarely waits for its own."""
        if self._filler is None:
            self._filler = threading.Thread(target=self._fill, name="pg-fresh-databases",
                                            daemon=True)
            self._filler.start()
            for _ in range(AHEAD):
                self._wanted.release()
        name = self._ready.get(timeout=120)
        if name.startswith("!"):
            self._ready.put(name)  # and for every later test
            raise RuntimeError(f"creating a fresh database failed: {name[1:]}")
        self._wanted.release()
        return self.url(name)

    def _fill(self) -> None:
        try:
            with self.admin() as conn:
                while True:
                    self._wanted.acquire()
                    if self._stopping.is_set():
                        return
                    self._counter += 1
                    name = f"t{os.getpid()}_{self._counter}"
                    conn.execute(f"CREATE DATABASE {name} OWNER {ROLE}")
                    self._ready.put(name)
        except Exception as err:  # the test waiting for a database fails with it
            self._ready.put(f"!{type(err).__name__}: {err}")

    def stop(self) -> None:
        if self._filler is not None:
            self._stopping.set()
            self._wanted.release()
            self._filler.join(60)
        if (self.data / "postmaster.pid").exists():
            subprocess.run([*self._prefix, str(self.bin / "pg_ctl"), "-D", str(self.data),
                            "-m", "fast", "-w", "-t", "30", "stop"], capture_output=True,
                           timeout=60, check=False)
        shutil.rmtree(self.root, ignore_errors=True)
