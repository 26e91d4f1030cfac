"""Turning the words a user typed into checked values. Nothing here touches a host."""

from __future__ import annotations

from bot import messages
from bot.errors import UsageError
from bot.inventory import HostEntry
from commands.context import Context


def host(ctx: Context, name: str) -> HostEntry:
    """The inventory entry for `name` (UnknownHostError with suggestions otherwise)."""
    return ctx.inventory.get(name)


def bounded_int(value: str | None, *, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if not value.isascii() or not value.isdigit():
        raise UsageError(f"`{name}` must be a whole number from {low} to {high}.")
    number = int(value)
    if not low <= number <= high:
        raise UsageError(f"`{name}` must be a whole number from {low} to {high}.")
    return number


def hosts_in_scope(ctx: Context, scope: str | None) -> tuple[str, list[HostEntry]]:
    """`all` (or nothing) for the whole inventory, else a cluster name."""
    if scope is None or scope.lower() == "all":
        return "all", list(ctx.inventory)
    members = ctx.inventory.in_cluster(scope)
    if not members:
        clusters = ", ".join(f"`{c}`" for c in ctx.inventory.clusters())
        raise UsageError(
            f"There is no cluster `{messages.shown(scope)}`. Clusters: {clusters}, or `all`.")
    return members[0].cluster, members
