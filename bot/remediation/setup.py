"""Putting the remediation service together from its parts: a store, vCenter, the SSH
transport, the inventory and the approvers (shared by `serve`, `socket` and the demo)."""

from __future__ import annotations

from datetime import timedelta

from bot.assess import Thresholds
from bot.config import RemediationConfig, VCenterConfig, vcenter_password
from bot.esx.transport import Transport
from bot.inventory import Inventory
from bot.remediation.approval import ApprovalPolicy, GroupMembers
from bot.remediation.executors.base import Executors
from bot.remediation.service import Remediation
from bot.store import open_store
from bot.vsphere.api import VCenter


async def open_remediation(
    store_url: str, vcenter: VCenter, inventory: Inventory, transport: Transport, *,
    approvers: tuple[str, ...], thresholds: Thresholds,
    settings: RemediationConfig | None = None, group_members: GroupMembers | None = None,
    poll_interval: float = 5.0,
) -> Remediation:
    """A migrated store and the service on top of it."""
    settings = settings or RemediationConfig()
    store = open_store(store_url)
    await store.migrate()
    executors = Executors(transport, vcenter, inventory, thresholds, dry_run=settings.dry_run,
                          reboot_timeout=settings.reboot_timeout_minutes * 60,
                          poll_interval=poll_interval)
    policy = ApprovalPolicy(frozenset(approvers), settings.allow_self_approval, group_members)
    return Remediation(store, executors, policy, timedelta(minutes=settings.expiry_minutes),
                       lease_ttl=settings.lease_seconds)


def pyvmomi_vcenter(config: VCenterConfig) -> VCenter:
    """The real vCenter from [vcenter] and AIO_VCENTER_PASSWORD (no connection yet)."""
    from bot.vsphere.client import PyVmomiVCenter
    from bot.vsphere.settings import VCenterSettings

    return PyVmomiVCenter(VCenterSettings(
        host=config.host, user=config.user, password=vcenter_password(), port=config.port,
        ca_file=config.ca_file, pinned_sha256=config.pinned_sha256, insecure=config.insecure))
