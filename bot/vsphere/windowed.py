"""The host transport with vCenter's view of the hosts in front of it.

`VCenterTransport` wraps the SSH transport: a host vCenter calls disconnected or not
responding fails at once with a sentence that says so (no SSH timeout); with SSH windows
(`ssh.enable_on_demand`), every read of a host vCenter knows runs inside a window
(`bot.vsphere.ssh_window`), opened for the caller that asked (`for_actor`), so that every
start and stop of SSH is audited with who asked. With `[inventory] source = "both"`, the
file's own hosts (not vCenter's) are read as before."""

from __future__ import annotations

from bot import messages
from bot.esx.transport import CommandResult, Transport
from bot.inventory import HostEntry
from bot.vsphere.host_access import SshBlocked
from bot.vsphere.ssh_window import SshWindows

SYSTEM_ACTOR = "aio-bot"  # background work: scheduled scans


class VCenterTransport:
    def __init__(self, inner: Transport, windows: SshWindows | None = None, *,
                 actor: str = SYSTEM_ACTOR, file_hosts_outside: bool = False) -> None:
        self.inner = inner
        self.windows = windows
        self.actor = actor
        # source "both": the file's own hosts are not vCenter's, so no window for them
        self.file_hosts_outside = file_hosts_outside

    def for_actor(self, actor: str) -> VCenterTransport:
        """The same transport, opening SSH windows on behalf of `actor` (a Slack user ID,
        `cli`, …); shares the connections and the windows."""
        return VCenterTransport(self.inner, self.windows, actor=actor,
                                file_hosts_outside=self.file_hosts_outside)

    async def run(self, host: HostEntry, command: str, *, timeout: float | None = None,
                  check: bool = True) -> CommandResult:
        if not host.connected:
            raise SshBlocked(host.name, messages.ssh_host_not_connected(
                host.name, host.connection_state))
        if self.windows is None or (self.file_hosts_outside and host.source == "file"):
            return await self.inner.run(host, command, timeout=timeout, check=check)
        async with self.windows.open(host, actor=self.actor, reason=f"read {host.name}"):
            return await self.inner.run(host, command, timeout=timeout, check=check)

    async def close(self) -> None:
        """Close the windows still open (stopping what they started), then the transport."""
        try:
            if self.windows is not None:
                await self.windows.close()
        finally:
            await self.inner.close()
