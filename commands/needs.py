"""What remediation commands need from the context, with a plain error when it is absent."""

from __future__ import annotations

from bot.errors import UsageError
from bot.remediation.service import Remediation
from bot.store.api import Store
from bot.vsphere.api import VCenter
from commands.context import Context


def remediation(ctx: Context) -> Remediation:
    if ctx.remediation is None:
        raise UsageError("Changes are not configured here (no store or vCenter).")
    return ctx.remediation


def vcenter(ctx: Context) -> VCenter:
    if ctx.vcenter is None:
        raise UsageError("No vCenter is configured, so I cannot plan or make changes.")
    return ctx.vcenter


def store(ctx: Context) -> Store:
    """The store for history and audits: the context's own, else the remediation's."""
    if ctx.store is not None:
        return ctx.store
    if ctx.remediation is not None:
        return ctx.remediation.store
    raise UsageError("This needs the store (AIO_BOT_DB), and none is configured here.")
