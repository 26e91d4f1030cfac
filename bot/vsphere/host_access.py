"""A host's SSH service (TSM-SSH, in its service system) and lockdown mode (its host access
manager), read and switched through vCenter. Everything here blocks: callers run it in a
worker thread (`bot.vsphere.ssh_window`). Lockdown mode is only ever read.

Who may log in over SSH in lockdown mode (VMware's "Lockdown Mode Behavior", vSphere
Security, 6.0 and later): in normal and in strict lockdown, SSH (when its service runs)
admits only exception users with administrator rights and the users named in the host's
`DCUI.Access` advanced option."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from pyVmomi import vim, vmodl

from bot import messages
from bot.errors import HostError, VCenterError
from bot.vsphere import collect
from bot.vsphere.session import Conn, Session

log = logging.getLogger(__name__)

SSH_SERVICE = "TSM-SSH"
LOCKDOWN_OFF = "lockdownDisabled"
DCUI_ACCESS = "DCUI.Access"
_HOST_PATHS = ("name", "runtime.connectionState", "configManager.serviceSystem",
               "configManager.hostAccessManager", "configManager.advancedOption")


@dataclass(frozen=True, slots=True)
class SshState:
    """What vCenter says of one host's SSH service and lockdown mode."""

    host: str
    moref: str
    connection_state: str
    service_system: str | None  # moref; None: vCenter offers none (a disconnected host)
    running: bool
    policy: str  # on, off, automatic
    lockdown: str  # lockdownDisabled, lockdownNormal, lockdownStrict (or "unknown")
    exceptions: tuple[str, ...] = ()  # lockdown exception users (read only in lockdown)
    dcui_access: tuple[str, ...] = ()  # the DCUI.Access users (read only in lockdown)

    @property
    def in_lockdown(self) -> bool:
        return self.lockdown != LOCKDOWN_OFF

    def may_log_in(self, user: str) -> bool:
        """Whether lockdown mode lets `user` in over SSH (when the service runs)."""
        if not self.in_lockdown:
            return True
        allowed = {u.lower() for u in self.exceptions + self.dcui_access}
        return user.lower() in allowed


class SshBlocked(HostError):
    """vCenter's view of the host says an SSH read cannot work; the message says what blocks
    it and what an admin can do. Nothing was changed."""

    def __init__(self, host: str, text: str) -> None:
        self.text = text
        super().__init__(host, None, text)

    def describe(self) -> str:
        return self.text


def read_state(session: Session, host: str) -> SshState:
    """The SSH service and lockdown state of the host vCenter calls `host` (two round trips;
    two more in lockdown, for the exception users and DCUI.Access)."""
    op = f"read the SSH service of {host}"
    return session.call(op, lambda c: _read(c, host, op))


def start_ssh(session: Session, state: SshState) -> None:
    session.call(f"start SSH on {state.host}",
                 lambda c: _services(c, state).StartService(id=SSH_SERVICE))


def stop_ssh(session: Session, state: SshState) -> None:
    session.call(f"stop SSH on {state.host}",
                 lambda c: _services(c, state).StopService(id=SSH_SERVICE))


def set_policy(session: Session, state: SshState, policy: str) -> None:
    session.call(f"set the SSH policy of {state.host} to {policy}",
                 lambda c: _services(c, state).UpdateServicePolicy(id=SSH_SERVICE,
                                                                   policy=policy))


def check_reachable(state: SshState) -> None:
    """SshBlocked when vCenter says the host is not connected (no use waiting on SSH)."""
    if state.connection_state != "connected" or state.service_system is None:
        raise SshBlocked(state.host, messages.ssh_host_not_connected(
            state.host, state.connection_state))


def check_lockdown(state: SshState, user: str, *, may_start: bool) -> None:
    """SshBlocked when lockdown mode keeps `user` out, or when the service is stopped on a
    host in lockdown (the bot does not open SSH on a host an admin locked down), or when it
    is stopped and the bot may not start it."""
    if state.in_lockdown and (not state.may_log_in(user) or not state.running):
        raise SshBlocked(state.host, messages.ssh_blocked_by_lockdown(
            state.host, state.lockdown, user, state.exceptions,
            user_allowed=state.may_log_in(user), ssh_running=state.running))
    if not state.running and not may_start:
        raise SshBlocked(state.host, messages.ssh_stopped(state.host))


def _services(conn: Conn, state: SshState) -> vim.host.ServiceSystem:
    if state.service_system is None:
        raise VCenterError(f"switch SSH on {state.host}", "the host has no service system")
    return conn.bind(vim.host.ServiceSystem, state.service_system)


def _read(conn: Conn, name: str, op: str) -> SshState:
    hosts = [o for o in collect.from_view(conn, {vim.HostSystem: _HOST_PATHS})
             if str(o.get("name")).lower() == name.lower()]
    if len(hosts) != 1:
        raise VCenterError(op, f"vCenter knows {len(hosts) or 'no'} host named {name}")
    host = hosts[0]
    services, access = (host.get("configManager.serviceSystem"),
                        host.get("configManager.hostAccessManager"))
    wanted = [(o, p) for o, p in ((services, ["serviceInfo"]), (access, ["lockdownMode"]))
              if o is not None]
    props = {type(o.ref): o for o in collect.of_each(conn, wanted)}
    info = props.get(vim.host.ServiceSystem)
    ssh = _ssh_service(info.get("serviceInfo") if info is not None else None)
    mode = props.get(vim.host.HostAccessManager)
    state = SshState(
        host=str(host.get("name")), moref=host.moref,
        connection_state=str(host.get("runtime.connectionState") or "unknown"),
        service_system=str(services._moId) if services is not None else None,
        running=bool(ssh.running) if ssh is not None else False,
        policy=str(ssh.policy) if ssh is not None else "off",
        lockdown=str(mode.get("lockdownMode") or "unknown") if mode is not None else LOCKDOWN_OFF,
    )
    if not state.in_lockdown or access is None:
        return state
    exceptions = tuple(str(u) for u in access.QueryLockdownExceptions() or ())
    return replace(state, exceptions=exceptions,
                   dcui_access=_dcui_access(host.get("configManager.advancedOption")))


def _ssh_service(info: vim.host.ServiceInfo | None) -> vim.host.Service | None:
    for service in (info.service if info is not None else None) or ():
        if service.key == SSH_SERVICE:
            return service
    return None


def _dcui_access(options: vim.option.OptionManager | None) -> tuple[str, ...]:
    """The users in the host's DCUI.Access option (none when it cannot be read)."""
    if options is None:
        return ()
    try:
        values = options.QueryOptions(name=DCUI_ACCESS)
    except (vim.fault.InvalidName, vmodl.fault.SecurityError, vim.fault.NoPermission) as fault:
        log.debug("%s: %s", DCUI_ACCESS, type(fault).__name__)
        return ()
    text = ",".join(str(v.value) for v in values or () if v.key == DCUI_ACCESS)
    return tuple(u.strip() for u in text.split(",") if u.strip())

