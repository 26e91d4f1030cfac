"""One pyVmomi session per vCenter: log in lazily, log in again when it expires.

Everything here blocks; `bot.vsphere.client` runs it in worker threads. `Session.call`
retries a step once after `NotAuthenticated`, so each step passed to it must be safe to
repeat when vCenter refused it for want of a session (a read, or the start of a task).
"""

from __future__ import annotations

import http.client
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pyVim import connect
from pyVmomi import vim, vmodl

from bot.errors import VCenterError
from bot.proxy_env import host_and_port, proxy_for
from bot.vsphere.errors import translated
from bot.vsphere.settings import VCenterSettings
from bot.vsphere.tls import ssl_context

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Conn:
    """A logged-in service instance and its content (fetched once per login)."""

    si: vim.ServiceInstance
    content: vim.ServiceInstanceContent

    def bind(self, kind: type[T], moref: str) -> T:
        """The managed object `kind:moref` on this connection's stub."""
        return kind(moref, self.si._stub)  # type: ignore[call-arg]  # stubs omit (moId, stub)


class Session:
    def __init__(self, settings: VCenterSettings) -> None:
        self.settings = settings
        self.logins = 0
        self._conn: Conn | None = None
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def call(self, operation: str, step: Callable[[Conn], T]) -> T:
        """Run `step` on the session; after NotAuthenticated log in again and run it once more."""
        s = self.settings
        with translated(operation, self.where, s.user, s.request_timeout):
            conn = self.conn()
            try:
                return step(conn)
            except vim.fault.NotAuthenticated:
                log.info("vCenter %s: session expired; logging in again", self.where)
                self._forget(conn)
                return step(self.conn())

    def conn(self) -> Conn:
        with self._lock:
            if self._conn is None:
                self._conn = self._login()
            return self._conn

    def close(self) -> None:
        """Log out (best effort: a session vCenter already dropped is fine) and drop sockets."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.content.sessionManager is not None:
                conn.content.sessionManager.Logout()
        except (vmodl.MethodFault, OSError, http.client.HTTPException) as err:
            log.debug("vCenter %s: logout: %s", self.where, type(err).__name__)
        finally:
            conn.si._stub.DropConnections()

    def _forget(self, stale: Conn) -> None:
        with self._lock:
            if self._conn is stale:
                self._conn = None
        stale.si._stub.DropConnections()

    def _login(self) -> Conn:
        s = self.settings
        proxy = proxy_for(f"https://{s.host}:{s.port}/sdk")  # HTTPS_PROXY, NO_PROXY
        first_hop = host_and_port(proxy) if proxy else (s.host, s.port)
        with translated("log in", self.where, s.user, s.connect_timeout):
            socket.create_connection(first_hop, timeout=s.connect_timeout).close()
        ctx = ssl_context(s)
        with translated("log in", self.where, s.user, s.request_timeout):
            si = _smart_connect(s, ctx, first_hop if proxy else None)
            content = si.RetrieveContent()
        self.logins += 1
        log.info("vCenter %s: logged in as %s", self.where, s.user)
        return Conn(si, content)


def _smart_connect(s: VCenterSettings, ctx: object,
                   proxy: tuple[str, int] | None = None) -> vim.ServiceInstance:
    """SmartConnect, through an HTTP proxy (CONNECT) when `proxy` is given."""
    via = {"httpProxyHost": proxy[0], "httpProxyPort": proxy[1]} if proxy else {}
    try:
        si = connect.SmartConnect(  # type: ignore[no-untyped-call]  # pyVim.connect is untyped
            host=s.host, port=s.port, user=s.user, pwd=s.password, sslContext=ctx,
            httpConnectionTimeout=s.request_timeout, connectionPoolTimeout=300, **via)
    except (VCenterError, vmodl.MethodFault, OSError, http.client.HTTPException):
        raise
    except Exception as err:  # pyVmomi raises bare Exception for unexpected answers
        raise VCenterError("log in", f"unexpected answer ({type(err).__name__})") from None
    if not isinstance(si, vim.ServiceInstance):
        raise VCenterError("log in", "no service instance")
    return si
